"""A 3-node lab (one edge node behind NAT) with the control plane in the root namespace.

The broker and the API listen on the lab's root address, so the nodes' agents, probe agents
and workers reach them over the lab's links; Prometheus, Alertmanager and the pipeline stay on
loopback. Alert timings are the shipped rules' with shorter windows (a minute of silence and two
minutes of ``for`` would outlast the test), substituted and checked so they cannot drift.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from continuum.lab import Lab, Topology, topology_from_dict
from continuum.services import (
    AlertmanagerServer,
    PrometheusServer,
    TansuBroker,
    free_port,
    http_ok,
    wait_until,
)
from tests.conftest import REPO_ROOT, LiveStack

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules"
#: (file, shipped text, test text): the node-down alert within seconds instead of minutes.
_FAST_RULES = (
    ("continuum-recording.yml", "< bool 60", "< bool 6"),
    (
        "continuum-alerts-nodes.yml",
        "expr: continuum:node_up == 0\n        for: 2m",
        "expr: continuum:node_up == 0\n        for: 2s",
    ),
)


def _free_subnet() -> str:
    """A private /16 no route on this machine uses (a developer's own lab may hold another)."""
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    for second in range(230, 250):
        subnet = ipaddress.IPv4Network(f"10.{second}.0.0/16")
        if f"10.{second}." not in routes:
            return str(subnet)
    raise RuntimeError("no free 10.x.0.0/16 for the lab test")


def lab_spec(
    name: str, subnet: str, kafka_port: int, api_port: int, token: Path
) -> dict[str, object]:
    """Three nodes of two cores in all, each big enough for the shipped policy to use.

    The policy cordons a node where one more task would get under ``min_share`` (half) of a
    core beside its background plus one five-minute deviation: a node under half a core never
    takes work, and one of 0.65 takes it while its own agents' load and deviation stay under
    0.46 of its quota (the agents' start-up spike keeps the deviation near 0.4 for a minute).
    """
    return {
        "name": name,
        "subnet": subnet,
        "control_plane": {"kafka_port": kafka_port, "api_port": api_port, "token_file": str(token)},
        "sites": [
            {"name": "edge-a", "tier": "edge", "nat": True},
            {"name": "cloud-a", "tier": "cloud"},
            {"name": "hpc-a", "tier": "hpc"},
        ],
        "nodes": [
            {"id": "edge-1", "site": "edge-a", "cpu": 0.65, "memory": "288M"},
            {"id": "cloud-1", "site": "cloud-a", "cpu": 0.65, "memory": "320M"},
            {"id": "hpc-1", "site": "hpc-a", "cpu": 0.7, "memory": "384M"},
        ],
    }


def _fast_rules(workdir: Path) -> list[str]:
    out = []
    for path in sorted(RULES.glob("*.yml")):
        text = path.read_text()
        for name, shipped, fast in _FAST_RULES:
            if path.name == name:
                assert shipped in text, f"{name} no longer holds {shipped!r}: update the lab test"
                text = text.replace(shipped, fast)
        target = workdir / path.name
        target.write_text(text)
        out.append(str(target))
    return out


@dataclass
class LabStack:
    """The lab, its control plane, and how to reach them."""

    lab: Lab
    topology: Topology
    tansu: TansuBroker
    prometheus: PrometheusServer
    stack: LiveStack

    @property
    def api_url(self) -> str:
        return self.stack.api_url

    def get(self, path: str) -> httpx.Response:
        response = httpx.get(self.api_url + path, headers=self.stack.headers(), timeout=5.0)
        response.raise_for_status()
        return response

    def nodes(self) -> dict[str, dict[str, object]]:
        return {n["id"]: n for n in self.get("/v1/nodes").json()["nodes"]}


@pytest.fixture(scope="module")
def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabStack]:
    """The lab up with every node's daemons, the control plane serving it."""
    if os.geteuid() != 0:
        pytest.fail("the lab test needs root (CI runs as root): run it with sudo")
    workdir = tmp_path_factory.mktemp("lab")
    name = "t" + secrets.token_hex(2)
    token_file = workdir / "node-token"
    kafka_port, api_port = free_port(), free_port()
    spec = lab_spec(name, _free_subnet(), kafka_port, api_port, token_file)
    topology = topology_from_dict(spec)
    lab = Lab(topology, workdir / "state")
    lab.up(start_daemons=False)  # the root address must exist before the broker binds it
    started: list[object] = []
    try:
        tansu = TansuBroker(topology.root_address, kafka_port, workdir / "tansu")
        tansu.start()
        started.append(tansu)
        alert_port = free_port()
        stack_dir = workdir / "stack"
        stack_dir.mkdir()
        prometheus = PrometheusServer(
            "127.0.0.1",
            free_port(),
            workdir / "prometheus",
            rule_files=_fast_rules(workdir),
            alertmanager_urls=[f"http://127.0.0.1:{alert_port}"],
            evaluation_interval_s=1.0,
        )
        prometheus.start()
        started.append(prometheus)
        stack = LiveStack(stack_dir, tansu, prometheus)
        # The API on the lab's root address: the probe agents read its inventory from inside.
        config = yaml.safe_load(stack.config_path.read_text())
        config["api"].update(listen=f"{topology.root_address}:{api_port}", stale_after_s=15)
        stack.config_path.write_text(yaml.safe_dump(config))
        stack.api_url = topology.api_url
        token_file.write_text(stack.token)
        token_file.chmod(0o600)
        alertmanager = AlertmanagerServer(
            "127.0.0.1",
            alert_port,
            workdir / "alertmanager",
            webhook_url=f"{topology.api_url}/v1/alerts",
            bearer_token_file=stack_dir / "token",
        )
        alertmanager.start()
        started.append(alertmanager)
        stack.start(("pipeline", "api"))
        started.append(stack)
        assert http_ok(f"{stack.api_url}/healthz")
        lab.start_store()
        for node in topology.nodes:
            lab.start_daemons(node.node_id)
        yield LabStack(lab, topology, tansu, prometheus, stack)
    finally:
        lab.down()
        for service in reversed(started):
            service.stop()  # type: ignore[attr-defined]


__all__ = ["LabStack", "lab_spec", "wait_until"]
