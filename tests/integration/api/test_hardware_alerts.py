"""Failing hardware, end to end: a node agent reading the fixture tree (an uncorrected DIMM
error, machine checks), a real Prometheus evaluating the hardware rules and scraping the agent,
Alertmanager, and the API marking the node unhealthy with the failing components named."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from continuum.services import ManagedProcess, PrometheusServer, TansuBroker, free_port, wait_until
from tests.integration.api.conftest import ApiDaemon

_NODE = "itest-hw"
_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "node"
_RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "rules"


@pytest.fixture
def failing_node(tansu: TansuBroker, tmp_path: Path) -> Iterator[str]:
    """A node agent on the fixture tree; yields its /metrics address."""
    port = free_port()
    config = {
        "identity": {"node_id": _NODE, "tier": "hpc", "site": "itest"},
        "kafka": {"bootstrap_servers": tansu.bootstrap, "request_timeout_ms": 2000},
        "agent": {
            "listen": f"127.0.0.1:{port}",
            "interval_s": 1,
            "spool_dir": str(tmp_path / "spool"),
            "proc_root": str(_FIXTURES / "proc"),
            "sys_root": str(_FIXTURES / "sys"),
            "collectors": {"gpu": False, "smart": False},
        },
    }
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "continuum", "agent", "node", "--config", str(path)]
    agent = ManagedProcess("agent", argv, tmp_path / "agent.log")
    agent.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        agent.stop()


def test_uncorrected_errors_make_the_node_unhealthy_with_the_part_named(
    failing_node: str,
    tmp_path: Path,
    alertmanager_factory: Callable[..., Any],
    api_daemon: Callable[..., ApiDaemon],
) -> None:
    prometheus = PrometheusServer(
        "127.0.0.1",
        free_port(),
        tmp_path / "prometheus",
        scrape_targets={"continuum-node": [failing_node]},
        scrape_interval_s=1.0,
        rule_files=[str(_RULES / "continuum-alerts-hardware.yml")],
    )
    api = api_daemon("http://127.0.0.1:9")  # rankings are not asked for: no Prometheus needed
    alertmanager = alertmanager_factory(f"{api.url}/v1/alerts", bearer_token_file=api.token_file)
    prometheus.alertmanager_urls = [alertmanager.url]
    prometheus.start()
    try:
        # Pull mode: the agent's /metrics carries the node, tier and site labels itself.
        prometheus.wait_for(f'hw_errors_total{{node="{_NODE}",error_type="uncorrected"}}')

        def reasons() -> list[str]:
            unhealthy: dict[str, list[str]] = api.get("/v1/alerts").json()["unhealthy"]
            return sorted(unhealthy.get(_NODE, []))

        wait_until(lambda: len(reasons()) == 2, 60, "hardware alerts reaching the API")
        assert reasons() == [
            "ContinuumNodeUncorrectedHardwareErrors (cpu mce)",
            "ContinuumNodeUncorrectedHardwareErrors (memory mc0_dimm0)",
        ]
        history = api.get(f"/v1/alerts?node={_NODE}").json()["history"]
        assert {e["labels"]["category"] for e in history} == {"hardware"}
        # The SMART collector was switched off, and says so rather than reporting no disk.
        (disabled,) = prometheus.query(
            f'continuum_hw_source_available{{node="{_NODE}",continuum_hw_source="smart"}}'
        )
        assert disabled["metric"]["continuum_hw_source_state"] == "disabled"
    finally:
        prometheus.stop()
