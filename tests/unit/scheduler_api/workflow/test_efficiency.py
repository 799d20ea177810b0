"""Efficiency of requests: CPU seconds against cores requested and peak memory against memory
requested, measured by the local executor on tasks with a known burn."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from scheduler_api.executors import LocalExecutor
from scheduler_api.placement import EngineConfig, NodeInfo
from scheduler_api.workflow import Session, constraint, session, task, wait_on
from scheduler_api.workflow._efficiency import (
    most_over_requested,
    task_efficiency,
    workflow_efficiency,
)
from scheduler_api.workflow._logs import AttemptLog, LogRecordingExecutor

BURN_S = 1.0
CHILD_BURN_S = 0.4
BUFFER_BYTES = 96 << 20
_CHILD = "import time\ns = time.process_time()\nwhile time.process_time() - s < {}: pass"


def _burn(seconds: float) -> float:
    """Keep one core busy for ``seconds`` of CPU time; return the CPU time it took."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return time.process_time() - start


@constraint(cpu_cores=2)
@task()
def half_busy() -> float:
    return _burn(BURN_S)


@task()
def busy_child() -> None:
    subprocess.run([sys.executable, "-c", _CHILD.format(CHILD_BURN_S)], check=True)


@constraint(memory="512M")
@task()
def holds_memory() -> int:
    """Hold BUFFER_BYTES resident; return the worker's resident set before (a forked worker
    starts with its parent's pages, which count as resident)."""
    status = Path("/proc/self/status").read_text()
    before = int(status.split("VmRSS:")[1].split()[0]) * 1024
    buffer = bytearray(BUFFER_BYTES)
    buffer[::4096] = b"x" * len(buffer[::4096])  # touch every page: resident, not just mapped
    return before


@task()
def idle() -> None:
    time.sleep(0.3)


def test_known_cpu_burn_and_memory_are_measured_within_ten_percent() -> None:
    seen: list[AttemptLog] = []
    node = NodeInfo("n", cpu_cores=2, memory_bytes=4 << 30)
    executor = LogRecordingExecutor(LocalExecutor([node]), seen.append)
    active = Session(executor, EngineConfig())
    try:
        with session(active):
            burned_s = wait_on(half_busy())
            _, rss_before, _ = wait_on([busy_child(), holds_memory(), idle()])
    finally:
        active.close()
    tasks = {t.task_id: t for t in task_efficiency("run", seen)}
    busy = tasks["half_busy-1"]
    assert busy.cpu_cores_requested == 2
    assert busy.cpu_s == pytest.approx(burned_s, rel=0.10)
    # The truth: what the task burned over the two cores it held for its run time.
    assert busy.cpu_efficiency == pytest.approx(burned_s / (2 * busy.wall_s), rel=0.10)
    # A child process's CPU is the task's too (its interpreter's start-up on top of the burn).
    assert CHILD_BURN_S <= tasks["busy_child-1"].cpu_s <= CHILD_BURN_S + 0.5
    hog = tasks["holds_memory-1"]
    assert hog.memory_bytes_requested == 512 << 20
    assert BUFFER_BYTES <= hog.peak_memory_bytes <= rss_before + BUFFER_BYTES + (32 << 20)
    assert hog.memory_efficiency == pytest.approx(hog.peak_memory_bytes / (512 << 20))
    sleeper = tasks["idle-1"]
    assert sleeper.cpu_efficiency is not None
    assert sleeper.cpu_efficiency < 0.2
    assert sleeper.memory_efficiency is None  # it asked for no memory
    total = workflow_efficiency("run", list(tasks.values()))
    assert total.cpu_s == pytest.approx(sum(t.cpu_s for t in tasks.values()))
    held_s = sum(t.cpu_cores_requested * t.wall_s for t in tasks.values())
    assert total.cpu_efficiency == pytest.approx(total.cpu_s / held_s)
    assert total.memory_efficiency == hog.memory_efficiency  # the one task that asked
    assert [t.task_id for t in most_over_requested(tasks.values(), 1)] == ["half_busy-1"]


def _attempt(task_id: str, attempt: int, ok: bool, **fields: object) -> AttemptLog:
    values: dict[str, object] = {"started_s": 0.0, "finished_s": 10.0, **fields}
    return AttemptLog(task_id, attempt, "n", ok, **values)  # type: ignore[arg-type]


def test_a_task_counts_by_its_last_successful_attempt() -> None:
    attempts = [
        _attempt("t", 1, True, cpu_s=5.0),
        _attempt("t", 2, False, cpu_s=1.0),
        _attempt("u", 1, False, cpu_s=2.0),
        _attempt("u", 2, False, cpu_s=3.0, cpu_cores_requested=4),
    ]
    tasks = {t.task_id: t for t in task_efficiency("w", attempts)}
    assert (tasks["t"].attempt, tasks["t"].cpu_efficiency) == (1, 0.5)
    assert (tasks["u"].attempt, tasks["u"].idle_core_s) == (2, 37.0)
    assert [t.task_id for t in most_over_requested(tasks.values(), 5)] == ["u", "t"]
    empty = workflow_efficiency("w", [])
    assert (empty.cpu_efficiency, empty.memory_efficiency) == (None, None)


def test_efficiency_routes(client: TestClient, auth: Callable[..., dict[str, str]]) -> None:
    run_id = client.post("/v1/placements/runs", json={"heuristic": "heft"}, headers=auth())
    run = run_id.json()["id"]
    for task_id, cpu_s, cores in (("a-1", 1.0, 4), ("b-1", 9.0, 1)):
        body = {
            "attempt": 1,
            "node": "edge-1",
            "ok": True,
            "started_s": 0.0,
            "finished_s": 10.0,
            "cpu_s": cpu_s,
            "cpu_cores_requested": cores,
            "peak_memory_bytes": 100,
            "memory_bytes_requested": 400,
        }
        path = f"/v1/workflows/{run}/tasks/{task_id}/logs"
        assert client.post(path, json=body, headers=auth()).status_code == 200
    answer = client.get(f"/v1/workflows/{run}/efficiency", headers=auth("read-token")).json()
    assert answer["tasks"] == 2
    assert answer["cpu_efficiency"] == pytest.approx(10.0 / 50.0)
    assert answer["memory_efficiency"] == pytest.approx(0.25)
    assert [t["task_id"] for t in answer["per_task"]] == ["a-1", "b-1"]
    worst = client.get("/v1/efficiency/over-requested?limit=1", headers=auth("read-token"))
    assert worst.json()["tasks"][0]["task_id"] == "a-1"  # 39 idle core-seconds
    assert worst.json()["tasks"][0]["idle_core_s"] == pytest.approx(39.0)
    missing = client.get(f"/v1/workflows/{'0' * 32}/efficiency", headers=auth("read-token"))
    assert missing.status_code == 404
    # The same on /metrics, for the scheduler dashboard.
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    shown = {
        s.labels["resource"]: s.value
        for s in families["continuum_api_workflow_efficiency"].samples
        if s.labels["workflow"] == run
    }
    assert shown == pytest.approx({"cpu": 0.2, "memory": 0.25})
    idle = {
        s.labels["task"]: s.value for s in families["continuum_api_task_idle_core_seconds"].samples
    }
    assert idle == pytest.approx({"a-1": 39.0, "b-1": 1.0})
