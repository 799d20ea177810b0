"""The local stack supervisor behind `continuum up`.

It starts every component in dependency order on loopback, waits until each is healthy, restarts
one that dies (with exponential backoff, and says so), and stops them all, leaving no process
behind, on SIGINT or SIGTERM (which is what `continuum down` sends). Each component gets SIGTERM
from the kernel if the supervisor itself dies (a parent-death signal), and is recorded by pid and
start time in ``run/stack.json`` as it starts, so `continuum down` or the next `continuum up`
can end whatever outlived a killed supervisor (:mod:`continuum._stack_record`)::

    stack = LocalStack.plan(StateDir.default(), load_stack_settings(None), user_config={})
    stack.run(on_ready=print_table)
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from continuum._processes import ProcessIdentity
from continuum._stack_record import RecordedComponent, StackRecord
from continuum._stack_settings import StackSettings
from continuum._state import StateDir
from continuum._victoria import VictoriaMetricsServer, VmAlert
from continuum.services import (
    AlertmanagerServer,
    ManagedProcess,
    PrometheusServer,
    ServiceError,
    TansuBroker,
    http_ok,
    port_is_free,
    tcp_open,
    wait_until,
)

__all__ = ["Component", "LocalStack", "PortTakenError", "check_health"]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
RULES_GLOB = REPO_ROOT / "deploy" / "prometheus" / "rules" / "*.yml"

_BACKOFF_INITIAL_S = 1.0
_BACKOFF_MAX_S = 30.0
# A component that stayed up this long is healthy again: its backoff starts over.
_BACKOFF_RESET_AFTER_S = 60.0


class PortTakenError(ServiceError):
    """A port the stack needs is already in use."""


@dataclass
class Component:
    """One supervised component: how to start it and how to tell it is healthy."""

    name: str
    url: str
    health: str  # "tcp" or an http(s) URL answering 2xx when healthy
    port: int
    start: Callable[[], None]
    stop: Callable[[], None]
    running: Callable[[], bool]
    pid: Callable[[], int | None]
    identity: Callable[[], ProcessIdentity | None]
    restarts: int = 0
    next_restart_at: float | None = None
    backoff_s: float = _BACKOFF_INITIAL_S
    started_at: float = field(default_factory=time.monotonic)

    def recorded(self) -> RecordedComponent:
        return RecordedComponent(self.name, self.url, self.health, self.port, self.identity())


def check_health(health: str, host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Evaluate a component's health check (``tcp`` or an HTTP URL)."""
    if health == "tcp":
        return tcp_open(host, port, timeout_s)
    return http_ok(health, timeout_s)


def _daemon_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "continuum", *args]


class LocalStack:
    """Plans, starts, supervises and stops the local stack."""

    def __init__(self, state: StateDir, settings: StackSettings, user_config: dict[str, Any]):
        self.state = state
        self.settings = settings
        self.user_config = user_config
        self.components: list[Component] = []
        self._stop = threading.Event()

    # -- planning -------------------------------------------------------------------------

    def _url(self, port: int, path: str = "") -> str:
        return f"http://{self.settings.host}:{port}{path}"

    def daemon_config(self) -> dict[str, Any]:
        """The continuum.yaml the daemons run with: the user's file plus the local addresses."""
        host, ports = self.settings.host, self.settings.ports
        config: dict[str, Any] = {
            k: dict(v) for k, v in self.user_config.items() if isinstance(v, dict)
        }
        config.pop("stack", None)

        def section(name: str, **values: Any) -> None:
            config.setdefault(name, {}).update(values)

        spool = self.state.root / "spool"
        # The local broker is the in-memory Tansu, whatever profile the user's file names: its
        # durability rules do not apply, and it breaks idempotent producers on restart.
        section(
            "kafka",
            bootstrap_servers=f"{host}:{ports.kafka}",
            profile="local",
            enable_idempotence=False,
        )
        section(
            "agent",
            listen=f"{host}:{ports.agent}",
            interval_s=self.settings.agent_interval_s,
            spool_dir=str(spool / "node"),
        )
        section(
            "containers",
            listen=f"{host}:{ports.containers}",
            interval_s=self.settings.agent_interval_s,
            spool_dir=str(spool / "containers"),
        )
        section("probes", listen=f"{host}:{ports.probes}", spool_dir=str(spool / "probes"))
        section(
            "pipeline",
            listen=f"{host}:{ports.pipeline}",
            remote_write_url=self._url(ports.prometheus, "/api/v1/write"),
        )
        section(
            "api",
            listen=f"{host}:{ports.api}",
            prometheus_url=self._url(ports.prometheus),
            token_file=str(self.state.token_path),
            database=str(self.state.database_path),
        )
        self._add_probe_targets(config)
        return config

    def _add_probe_targets(self, config: dict[str, Any]) -> None:
        """Point the probe agent at the stack's own services unless the user chose targets."""
        if config.get("probes", {}).get("targets"):
            return
        try:
            probes = importlib.import_module("agents.probes")
        except ImportError:
            return
        local_stack_targets = getattr(probes, "local_stack_targets", None)
        if local_stack_targets is None:
            return
        host, ports = self.settings.host, self.settings.ports
        services = {
            "kafka": f"tcp://{host}:{ports.kafka}",
            "prometheus": self._url(ports.prometheus, self._store_health_path()),
            "alertmanager": self._url(ports.alertmanager, "/-/ready"),
            "api": self._url(ports.api, "/healthz"),
            "agent": self._url(ports.agent, "/metrics"),
        }
        config["probes"]["targets"] = local_stack_targets(services)

    def plan(self) -> list[Component]:
        """Build the components in start order (dependencies first)."""
        state, settings = self.state, self.settings
        host, ports = settings.host, settings.ports
        kafka = TansuBroker(host, ports.kafka, state.root / "kafka")
        alertmanager = AlertmanagerServer(
            host,
            ports.alertmanager,
            state.root / "alertmanager",
            webhook_url=self._url(ports.api, "/v1/alerts"),
            bearer_token_file=state.token_path,
        )
        components = [
            self._service(kafka, f"kafka://{host}:{ports.kafka}", "tcp"),
            *self._store(),
            self._service(
                alertmanager,
                self._url(ports.alertmanager),
                self._url(ports.alertmanager, "/-/ready"),
            ),
            self._daemon("pipeline", ports.pipeline, "/metrics", "pipeline"),
            self._daemon("api", ports.api, "/healthz", "api"),
            self._daemon("agent", ports.agent, "/metrics", "agent", "node"),
        ]
        if settings.components.containers and _importable("agents.containers"):
            components.append(
                self._daemon("containers", ports.containers, "/metrics", "agent", "containers")
            )
        if settings.components.probes and _importable("agents.probes"):
            components.append(self._daemon("probes", ports.probes, "/metrics", "agent", "probes"))
        self.components = components
        return components

    def _scrape_targets(self) -> dict[str, list[str]]:
        # Agents push their self-telemetry through Kafka with everything else; scraping them
        # too would store each of those series twice (once with job/instance labels).
        host, ports = self.settings.host, self.settings.ports
        return {"pipeline": [f"{host}:{ports.pipeline}"], "api": [f"{host}:{ports.api}"]}

    def _store_health_path(self) -> str:
        return "/health" if self.settings.storage == "victoriametrics" else "/-/ready"

    def _store(self) -> list[Component]:
        """The metric store on the prometheus port, and its rule engine (docs/storage.md)."""
        state, host, ports = self.state, self.settings.host, self.settings.ports
        url = self._url(ports.prometheus)
        if self.settings.storage == "victoriametrics":
            store = VictoriaMetricsServer(
                host,
                ports.prometheus,
                state.root / "victoria-metrics",
                scrape_targets=self._scrape_targets(),
            )
            rules = VmAlert(
                host,
                ports.vmalert,
                state.root / "vmalert",
                store=store,
                rule_files=[str(RULES_GLOB)],
                alertmanager_urls=[self._url(ports.alertmanager)],
                evaluation_interval_s=15.0,
            )
            vmalert = self._url(ports.vmalert)
            return [
                self._service(store, url, f"{url}/health"),
                self._service(rules, vmalert, f"{vmalert}/health"),
            ]
        prometheus = PrometheusServer(
            host,
            ports.prometheus,
            state.root / "prometheus",
            scrape_targets=self._scrape_targets(),
            rule_files=[str(RULES_GLOB)],
            alertmanager_urls=[self._url(ports.alertmanager)],
            evaluation_interval_s=15.0,
            scrape_interval_s=15.0,
        )
        return [self._service(prometheus, url, f"{url}/-/ready")]

    def _service(
        self,
        service: TansuBroker
        | PrometheusServer
        | AlertmanagerServer
        | VictoriaMetricsServer
        | VmAlert,
        url: str,
        health: str,
    ) -> Component:
        service.die_with_parent = True

        def start() -> None:
            service.start(wait=False)

        return Component(
            name=service.name,
            url=url,
            health=health,
            port=service.port,
            start=start,
            stop=service.stop,
            running=lambda: service.process is not None and service.process.running(),
            pid=lambda: service.process.pid if service.process is not None else None,
            identity=lambda: service.process.identity if service.process is not None else None,
        )

    def _daemon(self, name: str, port: int, health_path: str, *command: str) -> Component:
        # `continuum agent node --config F`: the config flag goes after the subcommand.
        argv = _daemon_argv(*command, "--config", str(self.state.config_path))
        process = ManagedProcess(name, argv, self.state.logs / f"{name}.log", die_with_parent=True)
        # A daemon's table URL is its health URL: /healthz for the API, /metrics for the rest.
        health_url = self._url(port, health_path)
        return Component(
            name=name,
            url=health_url,
            health=health_url,
            port=port,
            start=process.start,
            stop=process.stop,
            running=process.running,
            pid=lambda: process.pid,
            identity=lambda: process.identity,
        )

    # -- running --------------------------------------------------------------------------

    def check_ports(self) -> None:
        """Raise :class:`PortTakenError` naming the first port already in use."""
        for component in self.components:
            if not port_is_free(self.settings.host, component.port):
                raise PortTakenError(
                    f"port {component.port} ({component.name}) is already in use on "
                    f"{self.settings.host}: stop what holds it or set "
                    f"CONTINUUM_STACK__PORTS__{component.name.upper()}"
                )

    def write_state(self) -> None:
        """Record the supervisor and every component started so far (pid and start time)."""
        StackRecord(
            host=self.settings.host,
            supervisor=ProcessIdentity.of(os.getpid()),
            components=tuple(c.recorded() for c in self.components),
        ).save(self.state)

    def start_all(self, progress: Callable[[str], None] = lambda _: None) -> None:
        """Start each component in order and wait until it is healthy."""
        self.state.ensure()
        self.state.ensure_token()
        self.state.config_path.write_text(yaml.safe_dump(self.daemon_config(), sort_keys=False))
        self.state.config_path.chmod(0o600)
        if not self.components:
            self.plan()
        self.check_ports()
        for component in self.components:
            progress(component.name)
            component.start()
            component.started_at = time.monotonic()
            # Recorded before the wait: a supervisor killed now must not lose track of it.
            self.write_state()
            self._wait_healthy(component)

    def _wait_healthy(self, component: Component) -> None:
        def healthy() -> bool:
            if not component.running():
                raise ServiceError(
                    f"{component.name} exited during start; its log is under {self.state.root}"
                )
            return check_health(component.health, self.settings.host, component.port)

        wait_until(healthy, self.settings.health_timeout_s, component.name, interval_s=0.2)

    def supervise(self, notify: Callable[[str], None]) -> None:
        """Restart components that die, until :meth:`request_stop` is called."""
        while not self._stop.wait(1.0):
            now = time.monotonic()
            for component in self.components:
                if component.running():
                    if now - component.started_at > _BACKOFF_RESET_AFTER_S:
                        component.backoff_s = _BACKOFF_INITIAL_S
                    continue
                if component.next_restart_at is None:
                    component.next_restart_at = now + component.backoff_s
                    notify(
                        f"{component.name} exited; restarting in {component.backoff_s:.0f} s "
                        f"(restart {component.restarts + 1})"
                    )
                    component.backoff_s = min(component.backoff_s * 2, _BACKOFF_MAX_S)
                elif now >= component.next_restart_at:
                    component.next_restart_at = None
                    component.restarts += 1
                    component.stop()  # reap the dead process and close its log
                    component.start()
                    component.started_at = time.monotonic()
                    self.write_state()

    def request_stop(self) -> None:
        self._stop.set()

    def stop_all(self) -> None:
        """Stop every component, last started first."""
        for component in reversed(self.components):
            with contextlib.suppress(Exception):
                component.stop()
        StackRecord.remove(self.state)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False
