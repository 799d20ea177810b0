"""Shared test fixtures: the repository root, and real services for integration tests.

Tansu (Kafka protocol), Prometheus and Alertmanager start on free loopback ports in temporary
directories and stop after use. Session fixtures are shared; the ``fresh_*`` ones are per test,
for tests that stop or restart them. ``live_stack`` runs the continuum daemons against them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from continuum.services import (
    AlertmanagerServer,
    ManagedProcess,
    PrometheusServer,
    TansuBroker,
    free_port,
    http_ok,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


def _start_tansu(workdir: Path) -> TansuBroker:
    broker = TansuBroker("127.0.0.1", free_port(), workdir)
    broker.start()
    return broker


def _start_prometheus(workdir: Path) -> PrometheusServer:
    server = PrometheusServer("127.0.0.1", free_port(), workdir, evaluation_interval_s=1.0)
    server.start()
    return server


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """A Tansu broker shared by the session (``.bootstrap`` is ``host:port``)."""
    broker = _start_tansu(tmp_path_factory.mktemp("tansu"))
    yield broker
    broker.stop()


@pytest.fixture
def fresh_tansu(tmp_path: Path) -> Iterator[TansuBroker]:
    """A Tansu broker of this test alone, free to stop and restart."""
    broker = _start_tansu(tmp_path / "tansu")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A Prometheus shared by the session, with the remote-write receiver on."""
    server = _start_prometheus(tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


@pytest.fixture
def fresh_prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    """A Prometheus of this test alone, free to stop and restart (its TSDB survives)."""
    server = _start_prometheus(tmp_path / "prometheus")
    yield server
    server.stop()


@pytest.fixture
def alertmanager_factory(tmp_path: Path) -> Iterator[Callable[..., AlertmanagerServer]]:
    """Start Alertmanagers that route every alert to a given webhook URL."""
    started: list[AlertmanagerServer] = []

    def start(webhook_url: str, bearer_token_file: Path | None = None) -> AlertmanagerServer:
        server = AlertmanagerServer(
            "127.0.0.1",
            free_port(),
            tmp_path / f"alertmanager-{len(started)}",
            webhook_url=webhook_url,
            bearer_token_file=bearer_token_file,
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The folder of this interpreter's scripts (``continuum`` lives there)."""
    import sys

    return Path(sys.executable).parent


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment for subprocesses with a private state directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


class LiveStack:
    """The continuum daemons running as subprocesses against the session's Tansu and Prometheus.

    Attributes:
        api_url: the scheduler API base URL.
        token: a bearer token with every scope.
        config_path: the continuum.yaml the daemons run with.
        node_id: the node id the agents report.
    """

    def __init__(self, workdir: Path, tansu: TansuBroker, prometheus: PrometheusServer):
        import secrets
        import sys

        import yaml

        self.workdir = workdir
        self.node_id = "itest-node"
        self.token = secrets.token_urlsafe(24)
        token_file = workdir / "token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        self.ports = {
            name: free_port() for name in ("api", "agent", "pipeline", "containers", "probes")
        }
        self.api_url = f"http://127.0.0.1:{self.ports['api']}"
        config = {
            "identity": {"node_id": self.node_id, "tier": "edge", "site": "itest"},
            "kafka": {"bootstrap_servers": tansu.bootstrap},
            "agent": {
                "listen": f"127.0.0.1:{self.ports['agent']}",
                "interval_s": 1,
                "spool_dir": str(workdir / "spool-node"),
            },
            "containers": {
                "listen": f"127.0.0.1:{self.ports['containers']}",
                "interval_s": 1,
                "spool_dir": str(workdir / "spool-containers"),
            },
            "probes": {
                "listen": f"127.0.0.1:{self.ports['probes']}",
                "interval_s": 2,
                "spool_dir": str(workdir / "spool-probes"),
            },
            "pipeline": {
                "listen": f"127.0.0.1:{self.ports['pipeline']}",
                "remote_write_url": prometheus.remote_write_url,
                "group_id": f"itest-{secrets.token_hex(4)}",
            },
            "api": {
                "listen": f"127.0.0.1:{self.ports['api']}",
                "prometheus_url": prometheus.url,
                "token_file": str(token_file),
                "database": str(workdir / "continuum.db"),
                "snapshot_interval_s": 1,
            },
        }
        self.config_path = workdir / "continuum.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.processes: dict[str, ManagedProcess] = {}
        commands = {
            "pipeline": ["pipeline"],
            "api": ["api"],
            "agent": ["agent", "node"],
        }
        for name, args in commands.items():
            argv = [sys.executable, "-m", "continuum", *args, "--config", str(self.config_path)]
            env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
            self.processes[name] = ManagedProcess(name, argv, workdir / f"{name}.log", env=env)

    def start(self, names: tuple[str, ...] = ("pipeline", "api", "agent")) -> None:
        for name in names:
            self.processes[name].start()

        def api_up() -> bool:
            dead = [n for n in names if not self.processes[n].running()]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited at start:\n{self.log_tails()}")
            return http_ok(f"{self.api_url}/healthz")

        wait_until(api_up, 60, "API")

    def log_tails(self) -> str:
        return "\n".join(f"--- {n}\n{p.log_tail(10)}" for n, p in self.processes.items())

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


@pytest.fixture(scope="session")
def live_stack(
    tmp_path_factory: pytest.TempPathFactory, tansu: TansuBroker, prometheus: PrometheusServer
) -> Iterator[LiveStack]:
    """Node agent, pipeline worker and API running against the session's broker and Prometheus."""
    stack = LiveStack(tmp_path_factory.mktemp("live-stack"), tansu, prometheus)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
