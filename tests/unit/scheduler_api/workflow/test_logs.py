"""Task logs kept per attempt: the last three, with failure reasons, bounded and redacted."""

from __future__ import annotations

import time

import pytest

from scheduler_api._settings import TaskLogSettings
from scheduler_api._store import Database
from scheduler_api.executors import LocalExecutor
from scheduler_api.placement import EngineConfig, NodeInfo
from scheduler_api.workflow import Session, WorkflowError, session, task, wait_on
from scheduler_api.workflow._logs import AttemptLog, LogRecordingExecutor, TaskLogStore


def test_the_last_attempts_are_kept_with_their_failure_reasons() -> None:
    store = TaskLogStore(Database(":memory:"), TaskLogSettings())
    for attempt in range(1, 6):
        store.add("run", AttemptLog("t-1", attempt, "n", False, f"boom {attempt}", stdout="x"))
    store.add("run", AttemptLog("other-1", 1, "n", True, stdout="fine"))
    kept = store.get("run", "t-1")
    assert [(a.attempt, a.error) for a in kept] == [(3, "boom 3"), (4, "boom 4"), (5, "boom 5")]
    assert [a.task_id for a in store.get("run")] == ["other-1", "t-1", "t-1", "t-1"]
    assert store.get("another-run") == []


def test_the_store_bounds_and_redacts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_SECRET", "s3cr3t-value")
    settings = TaskLogSettings(max_bytes_per_stream=16, attempts_kept=1, redact_env=["API_SECRET"])
    store = TaskLogStore(Database(":memory:"), settings)
    stored = store.add(
        "run",
        AttemptLog("t-1", 1, "n", False, "token s3cr3t-value", stdout="a" * 30, stderr="short"),
    )
    assert stored.stdout.endswith("\n" + "a" * 16)
    assert stored.stdout_dropped_bytes == 14
    assert stored.stderr == "short"
    assert stored.error == "token [REDACTED]"  # the failure reason is bounded (and fits) too
    assert store.get("run", "t-1") == [stored]


def test_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        TaskLogSettings.model_validate({"max_bytes": 5})


@task()
def noisy_failure() -> None:
    print("trying")
    raise RuntimeError("always")


def test_recording_executor_numbers_attempts_through_a_session() -> None:
    seen: list[AttemptLog] = []
    executor = LogRecordingExecutor(LocalExecutor([NodeInfo("n")]), seen.append)
    active = Session(executor, EngineConfig(max_attempts=3))
    started = time.time()
    try:
        with session(active), pytest.raises(WorkflowError, match="always"):
            wait_on(noisy_failure())
    finally:
        active.close()
    assert [(a.task_id, a.attempt, a.ok) for a in seen] == [
        ("noisy_failure-1", 1, False),
        ("noisy_failure-1", 2, False),
        ("noisy_failure-1", 3, False),
    ]
    assert all(a.stdout == "trying\n" and "RuntimeError: always" in a.error for a in seen)
    assert all(started <= a.started_s <= a.finished_s for a in seen)
