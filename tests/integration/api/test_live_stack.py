"""Through the whole live path: agent -> Kafka -> pipeline -> Prometheus -> API -> CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.integration.conftest import LiveStack

_DEADLINE_S = 30.0


def _node(stack: LiveStack) -> dict[str, Any]:
    deadline = time.monotonic() + _DEADLINE_S
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{stack.api_url}/v1/nodes/{stack.node_id}", headers=stack.headers(), timeout=5
        )
        if response.status_code == 200 and response.json()["arch"]:
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.5)
    raise AssertionError(f"node never listed with target_info:\n{stack.log_tails()}")


def test_node_detail_is_live_fresh_and_carries_target_info(live_stack: LiveStack) -> None:
    node = _node(live_stack)
    assert node["health"] == "healthy"
    assert node["age_s"] < 30
    assert node["capacity"]["cpu_cores"] >= 1
    assert node["usage"]["memory_available_bytes"] > 0


def test_ranking_uses_the_dataset_catalogue(live_stack: LiveStack) -> None:
    _node(live_stack)
    headers = live_stack.headers()
    put = httpx.put(
        f"{live_stack.api_url}/v1/datasets/itest-data",
        json={"size_bytes": 2**30, "nodes": [live_stack.node_id]},
        headers=headers,
    )
    assert put.status_code == 200
    body = httpx.post(
        f"{live_stack.api_url}/v1/rankings",
        # The suite loads this host's cores; locality is the subject here, not free capacity.
        json={
            "cpu_cores": 1,
            "memory_bytes": 2**20,
            "datasets": [{"id": "itest-data"}],
            "allow_oversubscribe": True,
        },
        headers=headers,
    ).json()
    entries = [r for r in body["ranked"] if r["node"] == live_stack.node_id]
    assert len(entries) == 1, body["rejected"]
    (entry,) = entries
    assert entry["transfer_bytes"] == 0
    assert entry["components"]["locality"] == 1.0


def test_cli_nodes_and_rank_against_the_live_api(live_stack: LiveStack) -> None:
    _node(live_stack)
    common = ["--api", live_stack.api_url, "--token", live_stack.token]
    cli = [sys.executable, "-m", "continuum"]
    nodes = subprocess.run(
        [*cli, "nodes", *common, "--json"], capture_output=True, text=True, timeout=60
    )
    assert nodes.returncode == 0, nodes.stderr
    assert live_stack.node_id in {n["id"] for n in json.loads(nodes.stdout)["nodes"]}
    ranked = subprocess.run(
        [*cli, "rank", "--cpu", "1", "--memory", "64M", *common],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    assert ranked.returncode == 0, ranked.stderr
    assert live_stack.node_id in ranked.stdout
    assert "feasible" in ranked.stdout


def test_extender_scores_the_live_node(live_stack: LiveStack) -> None:
    _node(live_stack)
    # The suite keeps this host's cores busy: a pod that accepts busy cores is scored whatever
    # the load (a node without a free tenth of a core would score 0).
    pod = {
        "metadata": {"annotations": {"continuum.io/allow-oversubscribe": "true"}},
        "spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]},
    }
    priorities = httpx.post(
        f"{live_stack.api_url}/v1/extender/prioritize",
        json={"Pod": pod, "NodeNames": [live_stack.node_id]},
        headers=live_stack.headers(),
    ).json()
    assert priorities[0]["Host"] == live_stack.node_id
    assert 1 <= priorities[0]["Score"] <= 10
