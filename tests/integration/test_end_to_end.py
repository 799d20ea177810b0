"""The walking skeleton end to end: agent -> Kafka -> pipeline -> Prometheus -> API ranking."""

from __future__ import annotations

import time
from typing import Any

import httpx

from continuum.services import PrometheusServer
from tests.integration.conftest import LiveStack

_DEADLINE_S = 30.0


def _ranking(stack: LiveStack) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.api_url}/v1/rankings",
        # The suite keeps this host's cores busy: free capacity is not what is tested here.
        json={"cpu_cores": 1, "memory_bytes": 64 * 1024 * 1024, "allow_oversubscribe": True},
        headers=stack.headers(),
        timeout=5,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def test_ranking_lists_this_machine_with_live_numbers(
    live_stack: LiveStack, prometheus: PrometheusServer
) -> None:
    started = time.monotonic()
    ranked: list[dict[str, Any]] = []
    answer: dict[str, Any] = {}
    while time.monotonic() - started < _DEADLINE_S:
        answer = _ranking(live_stack)
        ranked = [n for n in answer["ranked"] if n["node"] == live_stack.node_id]
        if ranked:
            break
        time.sleep(0.5)
    assert ranked, (
        f"node never ranked within {_DEADLINE_S} s (rejected: {answer.get('rejected')}):\n"
        f"{live_stack.log_tails()}"
    )
    entry = ranked[0]
    # The numbers behind the order are the live ones Prometheus holds for this node.
    cores = prometheus.query(f'continuum:node_cpu_cores{{node="{live_stack.node_id}"}}')
    assert entry["capacity"]["cpu_cores"] == float(cores[0]["value"][1])
    assert 0.0 <= entry["usage"]["cpu_utilization"] <= 1.0
    assert entry["capacity"]["memory_bytes"] > 0


def test_nodes_lists_this_machine_with_tier_and_site(live_stack: LiveStack) -> None:
    deadline = time.monotonic() + _DEADLINE_S
    nodes: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        response = httpx.get(f"{live_stack.api_url}/v1/nodes", headers=live_stack.headers())
        response.raise_for_status()
        nodes = [n for n in response.json()["nodes"] if n["id"] == live_stack.node_id]
        if nodes:
            break
        time.sleep(0.5)
    assert nodes, live_stack.log_tails()
    assert nodes[0]["tier"] == "edge"
    assert nodes[0]["site"] == "itest"


def test_api_requires_a_token(live_stack: LiveStack) -> None:
    assert httpx.get(f"{live_stack.api_url}/v1/nodes").status_code == 401
    assert httpx.get(f"{live_stack.api_url}/healthz").status_code == 200
