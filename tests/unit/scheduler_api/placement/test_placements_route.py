"""POST /v1/placements plans on the API's snapshot; plans and transitions are listable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

Auth = Callable[..., dict[str, str]]


def _graph() -> dict[str, Any]:
    return {
        "heuristic": "lpt",
        "tasks": [
            {"id": "prep", "work_s": 2.0},
            {"id": "a", "work_s": 4.0, "depends_on": {"prep": 1000}},
            {"id": "b", "work_s": 1.0, "depends_on": {"prep": 1000}},
            {"id": "gpu", "work_s": 1.0, "gpus": 1, "depends_on": {"a": 10, "b": 10}},
        ],
    }


def test_plan_respects_constraints_precedence_and_is_stored(client: TestClient, auth: Auth) -> None:
    answer = client.post("/v1/placements", json=_graph(), headers=auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    placed = {t["id"]: t for t in body["tasks"]}
    assert set(placed) == {"prep", "a", "b", "gpu"}
    assert placed["gpu"]["node"] == "cloud-1"  # the only node with GPUs
    for child in ("a", "b"):
        assert placed[child]["est_start_s"] >= placed["prep"]["est_finish_s"]
    assert placed["gpu"]["est_start_s"] >= max(
        placed["a"]["est_finish_s"], placed["b"]["est_finish_s"]
    )
    assert body["makespan_s"] == max(t["est_finish_s"] for t in body["tasks"])
    assert body["unplaced"] == []
    assert body["nodes_considered"] == 3

    listed = client.get("/v1/placements", headers=auth()).json()["plans"]
    assert [p["id"] for p in listed] == [body["id"]]
    assert listed[0]["task_count"] == 4

    for state in ("started", "finished"):
        sent = client.post(
            f"/v1/placements/{body['id']}/transitions",
            json={"task_id": "prep", "state": state, "node": placed["prep"]["node"], "at_s": 5.0},
            headers=auth(),
        )
        assert sent.status_code == 204, sent.text
    detail = client.get(f"/v1/placements/{body['id']}", headers=auth()).json()
    states = {t["id"]: t["state"] for t in detail["tasks"]}
    assert states == {"prep": "finished", "a": "placed", "b": "placed", "gpu": "placed"}
    assert [t["state"] for t in detail["transitions"] if t["task_id"] == "prep"] == [
        "placed",
        "started",
        "finished",
    ]
    prep = next(t for t in detail["tasks"] if t["id"] == "prep")
    assert prep["est_finish_s"] == placed["prep"]["est_finish_s"]


def test_unsatisfiable_tasks_are_reported_with_reasons(client: TestClient, auth: Auth) -> None:
    graph = {
        "tasks": [
            {"id": "ok"},
            {"id": "arm", "arch": "arm64", "tier": "hpc"},
            {"id": "after-arm", "depends_on": {"arm": 0}},
        ]
    }
    body = client.post("/v1/placements", json=graph, headers=auth()).json()
    assert [t["id"] for t in body["tasks"]] == ["ok"]
    reasons = {u["id"]: u["reason"] for u in body["unplaced"]}
    assert "tier=hpc" in reasons["arm"]
    assert "arch=arm64 (nodes have amd64)" in reasons["arm"]
    assert reasons["after-arm"] == "a parent could not be placed"


def test_bad_graphs_and_unknown_plans(client: TestClient, auth: Auth) -> None:
    cycle = {"tasks": [{"id": "a", "depends_on": {"b": 0}}, {"id": "b", "depends_on": {"a": 0}}]}
    answer = client.post("/v1/placements", json=cycle, headers=auth())
    assert answer.status_code == 422
    assert "cycle" in answer.json()["message"]
    unknown = client.post(
        "/v1/placements", json={"tasks": [{"id": "a", "depends_on": {"x": 0}}]}, headers=auth()
    )
    assert unknown.status_code == 422
    missing = client.get("/v1/placements/" + "0" * 32, headers=auth())
    assert missing.status_code == 404
    plan_id = client.post("/v1/placements", json=_graph(), headers=auth()).json()["id"]
    stray = client.post(
        f"/v1/placements/{plan_id}/transitions",
        json={"task_id": "nope", "state": "started", "node": "edge-1"},
        headers=auth(),
    )
    assert stray.status_code == 404


def test_schedule_scope_is_required(client: TestClient, auth: Auth) -> None:
    assert client.post("/v1/placements", json=_graph()).status_code == 401
    assert (
        client.post("/v1/placements", json=_graph(), headers=auth("read-token")).status_code == 403
    )


def test_datasets_come_from_the_catalogue(client: TestClient, auth: Auth) -> None:
    put = client.put(
        "/v1/datasets/big",
        json={"size_bytes": 50_000_000_000, "nodes": ["edge-2"]},
        headers=auth(),
    )
    assert put.status_code == 200, put.text
    graph = {"tasks": [{"id": "reader", "work_s": 1.0, "datasets": [{"id": "big"}]}]}
    body = client.post("/v1/placements", json=graph, headers=auth()).json()
    assert body["tasks"][0]["node"] == "edge-2"


def test_runs_placed_by_a_client_are_recorded(client: TestClient, auth: Auth) -> None:
    opened = client.post("/v1/placements/runs", json={"heuristic": "lpt"}, headers=auth())
    assert opened.status_code == 201, opened.text
    run_id = opened.json()["id"]
    url = f"/v1/placements/{run_id}/transitions"
    early = client.post(url, json={"task_id": "t", "state": "started", "node": "n"}, headers=auth())
    assert early.status_code == 404  # a task joins a run by being placed
    for state, at_s in (("placed", 1.0), ("started", 2.0), ("finished", 5.0)):
        body = {"task_id": "t", "state": state, "node": "edge-1", "at_s": api_time(at_s)}
        assert client.post(url, json=body, headers=auth()).status_code == 204
    detail = client.get(f"/v1/placements/{run_id}", headers=auth()).json()
    assert detail["task_count"] == 1
    assert detail["heuristic"] == "lpt"
    assert detail["makespan_s"] == 5.0
    assert [t["state"] for t in detail["transitions"]] == ["placed", "started", "finished"]


def api_time(offset_s: float) -> float:
    """Unix time ``offset_s`` after the fake clock's now (when the run was opened)."""
    from tests.unit.scheduler_api.conftest import NOW_S

    return NOW_S + offset_s


def test_time_and_utilisation_constraints_shape_the_plan(client: TestClient, auth: Auth) -> None:
    graph = {
        "tasks": [
            # edge-1 reads 50 % over five minutes: above the ceiling, so edge-2 takes it.
            {"id": "calm", "tier": "edge", "max_utilization": 0.3},
            {"id": "late", "work_s": 100.0, "deadline_s": 10.0},
            {"id": "after-late", "depends_on": {"late": 0}},
            {"id": "gated", "not_before_s": 30.0},
        ]
    }
    answer = client.post("/v1/placements", json=graph, headers=auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    placed = {t["id"]: t for t in body["tasks"]}
    assert placed["calm"]["node"] == "edge-2"
    assert placed["gated"]["est_start_s"] >= 30.0
    reasons = {u["id"]: u["reason"] for u in body["unplaced"]}
    assert reasons["late"].startswith("deadline: earliest estimated finish")
    assert "after the deadline" in reasons["late"]
    assert reasons["after-late"] == "parent late was abandoned"


def test_a_plan_reports_the_joules_its_tasks_add(
    make_client: Callable[..., TestClient], fake_prometheus: Any, auth: Auth
) -> None:
    from tests.unit.scheduler_api.conftest import FakeNode

    # edge-1's rated power (an operator label): 100 W from idle to all 4 cores busy.
    fake_prometheus.nodes[0] = FakeNode(
        "edge-1", cores=4, cpu=0.5, labels={"power_watts": "100", "rack": "a"}
    )
    client = make_client()
    graph = {
        "tasks": [
            {"id": "rated", "work_s": 10.0, "labels": {"rack": "a"}},
            {"id": "unknown", "work_s": 10.0, "tier": "cloud"},
        ]
    }
    body = client.post("/v1/placements", json=graph, headers=auth()).json()
    placed = {t["id"]: t for t in body["tasks"]}
    assert placed["rated"]["node"] == "edge-1"
    run_s = placed["rated"]["est_finish_s"] - placed["rated"]["est_start_s"]
    # One core of four for its planned run: a quarter of the node's busy watts.
    assert body["estimated_joules"] == pytest.approx(100.0 / 4 * run_s)
    assert body["joules_unknown_tasks"] == 1


def test_a_plan_can_minimise_estimated_joules(
    make_client: Callable[..., TestClient], fake_prometheus: Any, auth: Auth
) -> None:
    from tests.unit.scheduler_api.conftest import FakeNode

    # hungry: idle, 400 W from idle to busy; frugal: 40 W, but busy enough to run slower.
    fake_prometheus.nodes = [
        FakeNode("hungry", cores=4, cpu=0.0, labels={"power_watts": "400"}),
        FakeNode("frugal", cores=4, cpu=0.6, labels={"power_watts": "40"}),
    ]
    client = make_client()
    graph: dict[str, Any] = {"tasks": [{"id": "t", "work_s": 10.0}]}
    timed = client.post("/v1/placements", json=graph, headers=auth()).json()
    saving = client.post(
        "/v1/placements", json={**graph, "minimize_energy": True}, headers=auth()
    ).json()
    assert timed["tasks"][0]["node"] == "hungry"
    assert saving["tasks"][0]["node"] == "frugal"
    assert saving["makespan_s"] > timed["makespan_s"]
    assert timed["estimated_joules"] == pytest.approx(400.0 / 4 * timed["makespan_s"])
    assert saving["estimated_joules"] < timed["estimated_joules"]
    assert saving["joules_unknown_tasks"] == timed["joules_unknown_tasks"] == 0
    weighted = client.post(
        "/v1/placements", json={**graph, "joule_weight_s": 1.0}, headers=auth()
    ).json()
    assert weighted["tasks"][0]["node"] == "frugal"
