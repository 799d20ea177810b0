"""`continuum run` takes node snapshots from the API, and says so when it cannot."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import httpx

from continuum._cmd_run import fetch_nodes


def test_nodes_come_from_the_api(served_api: str) -> None:
    views, why = fetch_nodes(served_api, "all-token")
    assert why is None
    by_id = {n.id: n for n in views}
    assert set(by_id) == {"edge-1", "edge-2", "cloud-1"}
    assert by_id["cloud-1"].capacity.cpu_cores == 16
    assert by_id["cloud-1"].capacity.gpus == 2
    assert by_id["edge-1"].usage.cpu_utilization == 0.5
    assert by_id["edge-1"].tier == "edge"
    assert all(n.healthy for n in views)


def test_run_builds_its_nodes_with_the_placement_policy(served_api: str) -> None:
    from scheduler_api.placement import PlacementPolicy

    views, _ = fetch_nodes(served_api, "all-token")
    policy = PlacementPolicy()
    nodes = {v.id: policy.node_info(v) for v in views}
    # Half of edge-1's cores are busy: the policy offers the free ones as lanes.
    edge = next(v for v in views if v.id == "edge-1")
    free = edge.capacity.cpu_cores * (1 - edge.usage.cpu_utilization)
    assert nodes["edge-1"].cpu_cores == max(1, math.floor(free))
    assert nodes["cloud-1"].gpus == 2


def test_unreachable_or_refused_api_gives_a_reason(served_api: str) -> None:
    nodes, why = fetch_nodes("http://127.0.0.1:9", "all-token")
    assert nodes == []
    assert why is not None
    assert "did not answer" in why
    nodes, why = fetch_nodes(served_api, "wrong-token")
    assert nodes == []
    assert why is not None
    assert "HTTPStatusError" in why


def test_continuum_run_places_on_the_api_nodes(
    served_api: str, repo_root: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "PYTHONPATH": str(repo_root)}
    command = [sys.executable, "-m", "continuum", "run", "examples/squares.py"]
    command += ["--api", served_api, "--token", "all-token", "--chart", str(tmp_path / "g.svg")]
    result = subprocess.run(
        command, cwd=repo_root, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "285"
    assert "this machine alone" not in result.stderr
    # The fake fleet: cloud-1 has 16 cores, the edge nodes 4; the table names where each ran.
    assert "cloud-1" in result.stderr
    assert (tmp_path / "g.svg").exists()
    # The run is in the API's placement history, with every task's transitions.
    marker = "placement history: "
    line = next(x for x in result.stderr.splitlines() if x.startswith(marker))
    run_url = line[len(marker) :].strip()
    detail = httpx.get(run_url, headers={"Authorization": "Bearer all-token"}).json()
    assert detail["task_count"] == 11
    assert {t["state"] for t in detail["tasks"]} == {"finished"}
    states = [t["state"] for t in detail["transitions"] if t["task_id"] == "total-1"]
    assert states == ["placed", "started", "finished"]
    placed = next(t for t in detail["transitions"] if t["state"] == "placed")
    assert placed["est_finish_s"] >= placed["est_start_s"] > 0
