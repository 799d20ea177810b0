"""Workload distribution from placement history records: running, queued, placements over time
and each workflow's share of a node's busy time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from pipeline.catalogue import is_catalogued
from scheduler_api._store import Database
from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._workload import WorkflowShare, node_workload
from tests.unit.scheduler_api.conftest import FakeClock

T0 = 1_000_000.0


def _history() -> tuple[PlacementHistory, str, str]:
    history = PlacementHistory(Database(":memory:"))
    a = history.open_run("heft", T0)
    b = history.open_run("lpt", T0)
    steps = [
        # Run a: t1 runs 0-100 s on n1; t2 runs 50 s on n1 from 100 s, fails, is re-placed on n2
        # and runs there from 200 s on; t3 waits on n1.
        (a, "t1", "placed", "n1", 0),
        (a, "t1", "started", "n1", 0),
        (a, "t1", "finished", "n1", 100),
        (a, "t2", "placed", "n1", 0),
        (a, "t2", "started", "n1", 100),
        (a, "t2", "failed", "n1", 150),
        (a, "t2", "replaced", "n2", 160),
        (a, "t2", "started", "n2", 200),
        (a, "t3", "placed", "n1", 250),
        # Run b: u1 runs 0-300 s on n1.
        (b, "u1", "placed", "n1", 0),
        (b, "u1", "started", "n1", 0),
        (b, "u1", "finished", "n1", 300),
    ]
    for plan, task_id, state, node, at in sorted(steps, key=lambda s: s[4]):
        assert history.record_transition(plan, task_id, state, node, T0 + at)  # type: ignore[arg-type]
    return history, a, b


def test_running_queued_placements_and_shares() -> None:
    history, a, b = _history()
    records = [r for r in (history.get(a), history.get(b)) if r is not None]
    view = node_workload(records, since_s=T0, until_s=T0 + 400, bucket_s=100)
    n1, n2 = view["n1"], view["n2"]
    assert (n1.running, n1.queued) == (0, 1)  # t3 waits
    assert (n2.running, n2.queued) == (1, 0)  # t2 runs since 200 s
    assert n1.placements == [3, 0, 1, 0]  # t1, t2, u1 at 0 s; t3 at 250 s
    assert n2.placements == [0, 1, 0, 0]  # t2 re-placed at 160 s
    assert n1.busy_s == 100 + 50 + 300
    assert n1.shares == [
        WorkflowShare(b, 300.0, 300 / 450, 1),
        WorkflowShare(a, 150.0, 150 / 450, 2),
    ]
    assert n2.busy_s == 200  # still running at the window's end
    assert n2.shares == [WorkflowShare(a, 200.0, 1.0, 1)]


def test_window_clips_busy_time_and_as_of_counts() -> None:
    history, a, b = _history()
    records = [r for r in (history.get(a), history.get(b)) if r is not None]
    view = node_workload(records, since_s=T0 + 50, until_s=T0 + 120, bucket_s=60)
    n1 = view["n1"]
    # As of 120 s: t2 and u1 run on n1; nothing placed in the window.
    assert (n1.running, n1.queued) == (2, 0)
    assert n1.placements == [0, 0]
    assert n1.busy_s == pytest.approx(50 + 20 + 70)
    assert "n2" not in view  # nothing had happened there yet


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        node_workload([], since_s=10, until_s=10, bucket_s=1)
    with pytest.raises(ValueError, match="bucket_s"):
        node_workload([], since_s=0, until_s=10, bucket_s=0)


def test_the_workload_route_reads_the_history(
    client: TestClient, auth: Callable[..., dict[str, str]], api_clock: FakeClock
) -> None:
    run = client.post("/v1/placements/runs", json={"heuristic": "heft"}, headers=auth())
    run_id = run.json()["id"]
    now = api_clock.now_s
    for task_id, state, node, ago_s in (
        ("t1", "placed", "edge-1", 600),
        ("t1", "started", "edge-1", 600),
        ("t1", "finished", "edge-1", 300),
        ("t2", "placed", "edge-1", 100),
    ):
        body = {"task_id": task_id, "state": state, "node": node, "at_s": now - ago_s}
        posted = client.post(f"/v1/placements/{run_id}/transitions", json=body, headers=auth())
        assert posted.status_code == 204, posted.text
    answer = client.get("/v1/workload?window_s=900&bucket_s=300", headers=auth("read-token"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["plans"] == 1
    (edge,) = body["nodes"]
    assert edge["node"] == "edge-1"
    assert (edge["running"], edge["queued"]) == (0, 1)
    assert edge["placements"] == [0, 1, 1]
    assert edge["busy_s"] == 300
    assert edge["shares"] == [{"workflow_id": run_id, "busy_s": 300.0, "share": 1.0, "tasks": 1}]
    assert client.get("/v1/workload").status_code == 401
    # The same figures on /metrics, for the scheduler dashboard.
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    tasks = {
        (s.labels["node"], s.labels["state"]): s.value
        for s in families["continuum_api_workload_tasks"].samples
    }
    assert tasks == {("edge-1", "running"): 0, ("edge-1", "queued"): 1}
    (placed,) = families["continuum_api_workload_placements"].samples
    assert placed.value == 1  # t2, 100 s ago
    (share,) = families["continuum_api_workload_share"].samples
    assert (share.labels["workflow"], share.value) == (run_id, 1.0)
    assert all(
        is_catalogued(name) for name in families if name.startswith("continuum_api_workload")
    )
