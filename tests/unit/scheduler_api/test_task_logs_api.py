"""Task logs over HTTP: uploaded with the schedule scope, read with the read scope, by the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from click.testing import CliRunner
from fastapi.testclient import TestClient

from continuum._cmd_logs import logs

HeadersOf = Callable[..., dict[str, str]]


def _attempt(attempt: int, ok: bool, **fields: object) -> dict[str, object]:
    return {
        "attempt": attempt,
        "node": "edge-1",
        "ok": ok,
        "error": "" if ok else f"Traceback ...\nValueError: attempt {attempt}",
        "started_s": 100.0,
        "finished_s": 101.5,
        "stdout": f"out {attempt}\n",
        "stderr": f"err {attempt}\n",
        **fields,
    }


def _run(client: TestClient, auth: HeadersOf) -> str:
    response = client.post("/v1/placements/runs", json={"heuristic": "heft"}, headers=auth())
    return str(response.json()["id"])


def test_upload_then_read_the_last_three_attempts(client: TestClient, auth: HeadersOf) -> None:
    run = _run(client, auth)
    path = f"/v1/workflows/{run}/tasks/square-1/logs"
    for attempt in range(1, 5):
        assert client.post(path, json=_attempt(attempt, False), headers=auth()).status_code == 200
    body = client.get(path, headers=auth("read-token")).json()
    assert body["workflow_id"] == run
    assert [a["attempt"] for a in body["attempts"]] == [2, 3, 4]
    assert body["attempts"][-1]["error"].endswith("ValueError: attempt 4")
    assert body["attempts"][-1]["stdout"] == "out 4\n"
    every = client.get(f"/v1/workflows/{run}/logs", headers=auth("read-token")).json()
    assert [a["task_id"] for a in every["attempts"]] == ["square-1"] * 3


def test_scopes_and_unknown_runs(client: TestClient, auth: HeadersOf) -> None:
    run = _run(client, auth)
    path = f"/v1/workflows/{run}/tasks/t-1/logs"
    assert client.get(path).status_code == 401
    refused = client.post(path, json=_attempt(1, True), headers=auth("read-token"))
    assert refused.status_code == 403
    assert client.get(path, headers=auth("alerts-token")).status_code == 403
    missing = client.get(f"/v1/workflows/{'0' * 32}/tasks/t-1/logs", headers=auth())
    assert missing.status_code == 404
    assert "GET /v1/placements" in missing.json()["message"]
    assert client.get(path, headers=auth()).json()["attempts"] == []


def test_continuum_logs_prints_each_attempt(served_api: str) -> None:
    headers = {"Authorization": "Bearer all-token"}
    run = httpx.post(f"{served_api}/v1/placements/runs", json={"heuristic": "lpt"}, headers=headers)
    run_id = run.json()["id"]
    for task_id, attempt, ok in (("square-1", 1, True), ("total-1", 1, False)):
        httpx.post(
            f"{served_api}/v1/workflows/{run_id}/tasks/{task_id}/logs",
            json=_attempt(attempt, ok),
            headers=headers,
        ).raise_for_status()
    args = ["--api", served_api, "--token", "read-token"]
    everything = CliRunner().invoke(logs, [run_id, *args])
    assert everything.exit_code == 0, everything.output
    assert everything.output == (
        "=== square-1 attempt 1 on edge-1: ok after 1.500 s\n"
        "--- stdout ---\nout 1\n--- stderr ---\nerr 1\n"
        "=== total-1 attempt 1 on edge-1: failed after 1.500 s\n"
        "--- stdout ---\nout 1\n--- stderr ---\nerr 1\n"
        "--- failure ---\nTraceback ...\nValueError: attempt 1\n"
    )
    one = CliRunner().invoke(logs, [run_id, "total-1", *args, "--json"])
    assert [a["task_id"] for a in json.loads(one.output)["attempts"]] == ["total-1"]
    none = CliRunner().invoke(logs, [run_id, "nope-1", *args])
    assert none.exit_code == 1
    assert "no output kept for task nope-1" in none.output
    unknown = CliRunner().invoke(logs, ["f" * 32, *args])
    assert "HTTP 404: no workflow run" in unknown.output
