"""Learned task costs through the API: a run's measured attempts in, per-name costs out (real
HTTP, uvicorn on a free port)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

HeadersOf = Callable[..., dict[str, str]]


def test_measured_attempts_become_learned_costs(served_api: str, auth: HeadersOf) -> None:
    with httpx.Client(base_url=served_api, headers=auth(), timeout=10) as http:
        assert http.get("/v1/placements/costs").json() == {"costs": []}
        run_id = http.post("/v1/placements/runs", json={"heuristic": "heft"}).json()["id"]
        for task_id, node, run_s in (("square-1", "edge-1", 2.0), ("square-2", "edge-2", 4.0)):
            for state, extra in (("placed", {}), ("started", {}), ("finished", {"run_s": run_s})):
                body = {"task_id": task_id, "state": state, "node": node, "name": "square"}
                answer = http.post(f"/v1/placements/{run_id}/transitions", json=body | extra)
                assert answer.status_code == 204, answer.text
        measured = {
            "task_id": "crunch-1",
            "state": "finished",
            "node": "cloud-1",
            "name": "crunch",
            "run_s": 1.0,
            "cpu_s": 0.5,
            "read_bytes": 1000,
            "written_bytes": 10,
        }
        http.post(f"/v1/placements/{run_id}/transitions", json=measured | {"state": "placed"})
        assert http.post(f"/v1/placements/{run_id}/transitions", json=measured).status_code == 204
        costs = {c["name"]: c for c in http.get("/v1/placements/costs").json()["costs"]}
        stored = http.get(f"/v1/placements/{run_id}").json()["transitions"]
        (kept,) = [t for t in stored if t["task_id"] == "crunch-1" and t["state"] == "finished"]
        assert (kept["name"], kept["run_s"], kept["cpu_s"]) == ("crunch", 1.0, 0.5)
        assert (kept["read_bytes"], kept["written_bytes"]) == (1000, 10)
        assert costs["square"] == {
            "name": "square",
            "work_s": 3.0,  # median of 2 s and 4 s on nodes of reference speed
            "source": "learned",
            "samples": 2,
            "cpu_s": None,
            "read_bytes": None,
            "written_bytes": None,
        }
        assert (costs["crunch"]["cpu_s"], costs["crunch"]["read_bytes"]) == (0.5, 1000.0)
        bad = http.post(f"/v1/placements/{run_id}/transitions", json=measured | {"run_s": -1.0})
        assert bad.status_code == 422
        assert httpx.get(f"{served_api}/v1/placements/costs").status_code == 401


WORKFLOW = """
from scheduler_api.workflow import task, wait_on


@task()
def nap(x: int) -> int:
    return x


if __name__ == "__main__":
    print(sum(wait_on([nap(i) for i in range(3)])))
"""


def test_a_second_continuum_run_places_with_what_the_first_measured(
    served_api: str, auth: HeadersOf, tmp_path: Path, repo_root: Path
) -> None:
    script = tmp_path / "naps.py"
    script.write_text(WORKFLOW)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(repo_root)}
    env["COLUMNS"] = "200"  # the schedule table on one line per task
    command = [sys.executable, "-m", "continuum", "run", str(script), "--api", served_api]
    command += ["--token", "all-token", "--chart", str(tmp_path / "chart.svg")]
    notes = []
    for _ in range(2):
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env=env, cwd=repo_root
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines()[-1] == "3"
        # The run's own record (the API's clock is frozen, so "newest" would be a coin toss).
        (plan_url,) = re.findall(r"placement history: (\S+)", result.stderr)
        plan = httpx.get(plan_url, headers=auth()).json()
        notes.append({t["detail"] for t in plan["transitions"] if t["state"] == "placed"})
    assert notes[0] == {"work_s 1 (default)"}
    assert "learned (3)" in result.stderr  # the schedule table's cost column says so too
    (learned,) = notes[1]
    assert learned.endswith("(learned from 3 runs)")
    assert float(learned.split()[1]) < 1.0  # nap takes far less than the default second


def test_api_plans_place_undeclared_tasks_with_learned_costs(
    served_api: str, auth: HeadersOf
) -> None:
    with httpx.Client(base_url=served_api, headers=auth(), timeout=10) as http:
        run_id = http.post("/v1/placements/runs", json={"heuristic": "heft"}).json()["id"]
        measured = {"run_s": 6.0, "cpu_s": 5.5, "read_bytes": 4096, "written_bytes": 1 << 20}
        for state, extra in (("placed", {}), ("finished", measured)):
            body = {"task_id": "crunch-1", "state": state, "node": "edge-1", "name": "crunch"}
            http.post(f"/v1/placements/{run_id}/transitions", json=body | extra)
        tasks = [
            {"id": "c", "name": "crunch"},
            {"id": "d", "name": "crunch", "work_s": 0.5},
            {"id": "n", "name": "never-ran"},
        ]
        answer = http.post("/v1/placements", json={"tasks": tasks})
        assert answer.status_code == 200, answer.text
        placed = {t["id"]: t for t in answer.json()["tasks"]}
        costs = {k: (v["work_s"], v["work_source"], v["work_samples"]) for k, v in placed.items()}
        assert costs == {
            "c": (6.0, "learned", 1),
            "d": (0.5, "declared", 0),
            "n": (1.0, "default", 0),
        }
        stored = http.get(f"/v1/placements/{answer.json()['id']}").json()
        details = {t["task_id"]: t["detail"] for t in stored["transitions"]}
        # CPU time and bytes are learned beside the duration, and explained with it (edge-1
        # runs at the reference speed, so the CPU seconds stay as measured).
        learned = {k: placed["c"][k] for k in ("cpu_s", "read_bytes", "written_bytes")}
        assert learned == {"cpu_s": 5.5, "read_bytes": 4096.0, "written_bytes": 1048576.0}
        assert placed["d"]["cpu_s"] is None
        assert details["c"] == (
            "work_s 6 cpu_s 5.5 read_bytes 4.1e+03 written_bytes 1.05e+06 (learned from 1 run)"
        )
        assert details["n"] == "work_s 1 (default)"
