"""A whole running stack for the dashboard tests: every daemon, the rules, and some traffic.

Node, container and probe agents, a pipeline worker and the API run as subprocesses
(``python -m continuum ...``) against the session's Tansu and a Prometheus of this folder that
loads ``deploy/prometheus/rules`` and scrapes the pipeline's and the API's self-metrics, as
``continuum up`` does. The stack is then given what a real one sees in a day's work, so that
every panel has something to show:

- a Kubernetes-shaped container (v1 and v2 cgroups, containerd metadata, CPU, memory and
  process limits, its own network namespace with a veth pair) running a small CPU and memory
  workload and a process that sends over its interface;
- probes of a link to a peer (TCP and a throughput test against the probe agent's own
  responder), of an HTTP service, of a TLS service with a short-lived certificate, and of a
  closed port that fails;
- a ranking, a scheduler-extender filter call and an Alertmanager webhook notification;
- a record that cannot be decoded (dead-lettered) and a forwarded exposition whose sample is
  NaN (dropped) and whose ``node`` label collides with the identity (renamed).
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from continuum.services import ManagedProcess, PrometheusServer, TansuBroker, free_port
from tests.integration.conftest import LiveStack
from tests.integration.containers.conftest import (
    CgroupMaker,
    _real_layout,
    container_id,
    pod_uid,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
RULES_GLOB = REPO_ROOT / "deploy" / "prometheus" / "rules" / "*.yml"
POD_NAME = "web-0"
NAMESPACE = "shop"
NODE_ID = "dash-node"
# A topic of its own: other tests' stacks share the session broker.
TOPIC = "otlp_metrics_dashboards"


@dataclass
class DashboardStack:
    """The running stack: its Prometheus, the daemons, and the variable values to use."""

    prometheus: PrometheusServer
    live: LiveStack
    variables: dict[str, str]

    def log_tails(self) -> str:
        return self.live.log_tails()


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def _tls_server(workdir: Path) -> tuple[ThreadingHTTPServer, int]:
    """An HTTPS server on loopback with a self-signed certificate valid for 20 days."""
    key, cert = workdir / "tls.key", workdir / "tls.crt"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "20",
            "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


# Sends a datagram a tenth of a second to the host end of its veth pair, until killed.
_SENDER = """
import socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    sock.sendto(b"x" * 1000, (sys.argv[1], 9))
    time.sleep(0.1)
"""


@dataclass
class _Network:
    """A network namespace joined to the host by a veth pair, as a container runtime makes."""

    name: str
    host_ip: str

    @classmethod
    def create(cls) -> _Network:
        name = f"dash{secrets.token_hex(3)}"
        host_if, inner_if = f"{name}h", f"{name}c"
        octet = 1 + secrets.randbelow(250)
        host_ip, inner_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
        for command in (
            ["ip", "netns", "add", name],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", inner_if],
            ["ip", "link", "set", inner_if, "netns", name],
            ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "-n", name, "addr", "add", f"{inner_ip}/30", "dev", inner_if],
            ["ip", "-n", name, "link", "set", inner_if, "up"],
        ):
            subprocess.run(command, check=True, capture_output=True)
        return cls(name, host_ip)

    def run(self) -> subprocess.Popen[bytes]:
        argv = ["ip", "netns", "exec", self.name, sys.executable, "-c", _SENDER, self.host_ip]
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def delete(self) -> None:
        # Deleting the namespace deletes its veth end, and with it the host end.
        subprocess.run(["ip", "netns", "delete", self.name], check=False, capture_output=True)


def _container(
    cgroups: CgroupMaker, containerd_state: Path, network: _Network
) -> subprocess.Popen[bytes]:
    """A containerd container of pod shop/web-0 with limits, running a CPU and memory burner
    and a process sending over the container's own network interface."""
    cid, uid = container_id(), pod_uid()
    bundle = containerd_state / "io.containerd.runtime.v2.task" / "k8s.io" / cid
    bundle.mkdir(parents=True)
    notes = {
        "io.kubernetes.cri.container-name": "app",
        "io.kubernetes.cri.image-name": "ghcr.io/acme/app:2",
        "io.kubernetes.cri.sandbox-name": POD_NAME,
        "io.kubernetes.cri.sandbox-namespace": NAMESPACE,
    }
    (bundle / "config.json").write_text(json.dumps({"annotations": notes}))
    pod = f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    rel = f"kubepods.slice/kubepods-burstable.slice/{pod}/cri-containerd-{cid}.scope"
    groups = cgroups.make(rel, v2=True, v1=True)
    # Limits as a pod spec would set them: half a CPU, 256 MiB, 64 processes.
    limits = {
        "memory.max": str(256 << 20),
        "memory.limit_in_bytes": str(256 << 20),
        "pids.max": "64",
        "cpu.max": "50000 100000",
        "cpu.cfs_quota_us": "50000",
    }
    for group in groups:
        for name, value in limits.items():
            if (group / name).exists():
                (group / name).write_text(value)
    sender = network.run()
    for group in groups:
        (group / "cgroup.procs").write_text(str(sender.pid))
    workload = cgroups.run(groups, cpu_s=2.0, memory_mb=32)
    workload.wait_ready()
    return sender


def _probe_targets(live: LiveStack, tls_port: int, responder_port: int) -> dict[str, object]:
    api_port = live.ports["api"]
    return {
        "interval_s": 1,
        "timeout_s": 0.8,
        "targets": [
            {
                "name": "api-link",
                "kind": "tcp",
                "address": f"127.0.0.1:{api_port}",
                "peer": live.node_id,
                "site": "itest",
            },
            {
                "name": "self-bandwidth",
                "kind": "throughput",
                "address": f"127.0.0.1:{responder_port}",
                "peer": live.node_id,
                "site": "itest",
                "interval_s": 5,
            },
            {
                "name": "api-health",
                "kind": "http",
                "address": f"http://127.0.0.1:{api_port}/healthz",
            },
            {
                "name": "tls-service",
                "kind": "tcp",
                "address": f"127.0.0.1:{tls_port}",
                "tls": True,
                "insecure_skip_verify": True,
            },
            # Nothing listens there: a probe that fails with `refused`.
            {"name": "closed-port", "kind": "tcp", "address": f"127.0.0.1:{free_port()}"},
        ],
        "throughput": {
            "listen": f"127.0.0.1:{responder_port}",
            "interval_s": 5,
            "size_bytes": 65536,
        },
    }


def _produce_bad_records(bootstrap: str, node_id: str, topic: str) -> None:
    """One undecodable OTLP record, and one forwarded exposition with a NaN and a clash."""
    from pipeline._kafka import KafkaProducer  # kafka-python, imported without its warning

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, enable_idempotence=False)
    try:
        producer.send(
            topic,
            key=node_id.encode(),
            value=b"\xff\x00 this is not protobuf",
            headers=[("content-type", b"application/x-protobuf")],
        )
        exposition = (
            "# TYPE dash_demo_reading gauge\n"
            'dash_demo_reading{node="elsewhere",sensor="a"} NaN\n'
            'dash_demo_reading{node="elsewhere",sensor="b"} 1.5\n'
        )
        producer.send(
            topic,
            key=node_id.encode(),
            value=exposition.encode(),
            headers=[
                ("content-type", b"text/plain; version=0.0.4"),
                ("continuum.node.id", node_id.encode()),
                ("continuum.tier", b"edge"),
                ("continuum.site", b"itest"),
                ("scrape.timestamp_ms", str(int(time.time() * 1000)).encode()),
                ("scrape.target", b"http://127.0.0.1:1/metrics"),
            ],
        )
        producer.flush(timeout=10)
    finally:
        producer.close(timeout=5)


def api_traffic(live: LiveStack) -> None:
    """What schedulers and Alertmanager send the API in normal operation."""
    headers = live.headers()
    with httpx.Client(base_url=live.api_url, headers=headers, timeout=10) as client:
        client.post("/v1/rankings", json={"cpu_cores": 1, "memory_bytes": 64 << 20})
        client.post(
            "/v1/extender/filter",
            json={"Pod": {"metadata": {"name": "p"}}, "NodeNames": [live.node_id]},
        )
        client.post(
            "/v1/alerts",
            json={
                "version": "4",
                "status": "firing",
                "receiver": "continuum-api",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {
                            "alertname": "ContinuumNodeIOPressure",
                            "node": live.node_id,
                            "severity": "warning",
                            "scope": "node",
                        },
                        "startsAt": "2026-01-01T00:00:00Z",
                        "fingerprint": "dashtest",
                    }
                ],
            },
        )
        # A run as `continuum run` records it: one task running for half a minute, one queued.
        run_id = client.post("/v1/placements/runs", json={"heuristic": "heft"}).json()["id"]
        started_s = time.time() - 30
        for task_id, state in (("dash-1", "placed"), ("dash-1", "started"), ("dash-2", "placed")):
            client.post(
                f"/v1/placements/{run_id}/transitions",
                json={"task_id": task_id, "state": state, "node": live.node_id, "at_s": started_s},
            ).raise_for_status()
        # An earlier task's attempt as the runner reports it: two cores asked, one kept busy.
        client.post(
            f"/v1/workflows/{run_id}/tasks/dash-0/logs",
            json={
                "attempt": 1,
                "node": live.node_id,
                "ok": True,
                "started_s": started_s - 10,
                "finished_s": started_s,
                "cpu_s": 10.0,
                "cpu_cores_requested": 2,
                "peak_memory_bytes": 64 << 20,
                "memory_bytes_requested": 256 << 20,
            },
        ).raise_for_status()


def task_metrics(live: LiveStack) -> None:
    """Task attempts as `continuum run` pushes them, through the stack's broker and pipeline."""
    from continuum._task_metrics import TaskMetrics
    from continuum.otel import KafkaMetricExporter
    from scheduler_api.workflow import Transition

    metrics = TaskMetrics(
        "dash-run",
        {live.node_id: ("edge", "itest")},
        exporter_factory=lambda node: KafkaMetricExporter(
            config_file=live.config_path, key=node, spool_dir=live.workdir / "spool-tasks"
        ),
    )
    for index in range(3):
        metrics(
            Transition(
                f"mine-{index}", "finished", live.node_id, time.time(), name="mine",
                run_s=1.5, cpu_s=1.2, read_bytes=4 << 20, written_bytes=1 << 20,
            )
        )  # fmt: skip
    metrics.shutdown()


@pytest.fixture(scope="session")
def dashboard_stack(
    tmp_path_factory: pytest.TempPathFactory, tansu: TansuBroker
) -> Iterator[DashboardStack]:
    """Every daemon running and fed; skipped without root (the container needs cgroups)."""
    if os.geteuid() != 0:
        pytest.skip("the container workload needs root to create cgroups")
    workdir = tmp_path_factory.mktemp("dashboards")
    prometheus = PrometheusServer(
        "127.0.0.1",
        free_port(),
        workdir / "prometheus",
        rule_files=[str(RULES_GLOB)],
        evaluation_interval_s=1.0,
        scrape_interval_s=1.0,
    )
    (workdir / "stack").mkdir()
    live = LiveStack(workdir / "stack", tansu, prometheus)
    prometheus.scrape_targets = {
        "pipeline": [f"127.0.0.1:{live.ports['pipeline']}"],
        "api": [f"127.0.0.1:{live.ports['api']}"],
    }
    tls_server, tls_port = _tls_server(workdir)
    containerd_state = workdir / "containerd"
    config = yaml.safe_load(live.config_path.read_text())
    live.node_id = config["identity"]["node_id"] = NODE_ID
    config["kafka"].update({"topic": TOPIC, "dlq_topic": f"{TOPIC}.dlq"})
    config["probes"].update(_probe_targets(live, tls_port, free_port()))
    config["containers"]["containerd_state"] = str(containerd_state)
    live.config_path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    for name, args in {
        "containers": ["agent", "containers"],
        "probes": ["agent", "probes"],
    }.items():
        argv = [sys.executable, "-m", "continuum", *args, "--config", str(live.config_path)]
        live.processes[name] = ManagedProcess(name, argv, live.workdir / f"{name}.log", env=env)
    cgroups = CgroupMaker(_real_layout())
    network = _Network.create()
    sender: subprocess.Popen[bytes] | None = None
    try:
        prometheus.start()
        sender = _container(cgroups, containerd_state, network)
        live.start(names=("pipeline", "api", "agent", "containers", "probes"))
        api_traffic(live)
        task_metrics(live)
        _produce_bad_records(tansu.bootstrap, live.node_id, TOPIC)
        yield DashboardStack(prometheus, live, {"node": live.node_id, "pod": POD_NAME})
    finally:
        live.stop()
        if sender is not None:
            sender.kill()
            sender.wait(timeout=10)
        cgroups.cleanup()
        network.delete()
        prometheus.stop()
        tls_server.shutdown()
        tls_server.server_close()
