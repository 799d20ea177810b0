"""One task-event record from every executor: local and Ray workers make it as the pull worker
sends it, and the session's history and the task logs read it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scheduler_api.executors import Completion, LocalExecutor, LogCapture, TaskOutput, TaskUsage
from scheduler_api.executors._record import RecordKey, completion_of, ended_record
from scheduler_api.placement import NodeInfo
from scheduler_api.workflow import Session, TaskEvent, Transition, session, task, wait_on
from scheduler_api.workflow._logs import AttemptLog, LogRecordingExecutor, attempt_log


def _burn(cpu_s: float) -> None:
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        pass


@task()
def burn_and_write(path: str, size: int) -> int:
    _burn(0.2)
    Path(path).write_bytes(b"z" * size)
    print("wrote", size)
    return size


@task()
def fails() -> None:
    raise ValueError("on purpose")


def _collect(executor: LocalExecutor, count: int) -> list[Completion]:
    done: list[Completion] = []
    deadline = time.monotonic() + 30.0
    while len(done) < count and time.monotonic() < deadline:
        done.extend(executor.wait(timeout_s=1.0))
    assert len(done) == count, done
    return done


def test_the_local_executor_makes_the_pull_workers_record(tmp_path: Path) -> None:
    executor = LocalExecutor([NodeInfo("edge-1", cpu_cores=1)], workflow_id="wf-7")
    try:
        executor.submit("w-1", "edge-1", burn_and_write, (str(tmp_path / "o"), 300_000), {})
        [done] = _collect(executor, 1)
        executor.submit("f-1", "edge-1", fails, (), {})
        executor.submit("f-1", "edge-1", fails, (), {})  # a retry: attempt 2
        failed = _collect(executor, 2)
    finally:
        executor.close()
    record = done.record
    assert isinstance(record, TaskEvent)
    assert (record.kind, record.workflow, record.task, record.attempt, record.node) == (
        "finished",
        "wf-7",
        "w-1",
        1,
        "edge-1",
    )
    assert record.value == 300_000
    assert record.cpu_s >= 0.18
    assert record.written_bytes >= 300_000
    assert record.peak_memory_bytes > 1 << 20
    assert record.wall_s == pytest.approx(record.at_s - record.started_s)
    assert record.stdout == "wrote 300000\n"
    # The session's view is the record's.
    assert (done.ok, done.value, done.started_s, done.finished_s) == (
        True,
        300_000,
        record.started_s,
        record.at_s,
    )
    assert done.usage == TaskUsage(
        record.cpu_s, record.read_bytes, record.written_bytes, record.peak_memory_bytes
    )
    assert done.output.stdout == "wrote 300000\n"
    assert sorted(c.record.attempt for c in failed if c.record) == [1, 2]
    assert all(c.record and c.record.kind == "failed" for c in failed)
    assert all("on purpose" in c.error for c in failed)
    kinds = [(e.task, e.attempt, e.kind) for e in executor.events]
    assert kinds[:2] == [("w-1", 1, "started"), ("w-1", 1, "finished")]
    # The two attempts of f-1 may end in either order.
    assert sorted(kinds[2:]) == [
        ("f-1", 1, "failed"),
        ("f-1", 1, "started"),
        ("f-1", 2, "failed"),
        ("f-1", 2, "started"),
    ]


def test_the_ray_workers_function_makes_the_same_record(tmp_path: Path) -> None:
    ray_executor = pytest.importorskip("scheduler_api.executors._ray")
    key = RecordKey("wf-r", "w-1", 3, "hpc-1")
    record = ray_executor._run(
        burn_and_write.function, (str(tmp_path / "o"), 100_000), {}, LogCapture(), key
    )
    assert isinstance(record, TaskEvent)
    assert (record.kind, record.workflow, record.task, record.attempt, record.node) == (
        "finished",
        "wf-r",
        "w-1",
        3,
        "hpc-1",
    )
    assert record.cpu_s >= 0.18
    assert record.written_bytes >= 100_000
    assert record.stdout == "wrote 100000\n"
    assert TaskEvent.decode(record.encode()) == record  # what Kafka would carry, unchanged


def test_a_record_without_measurements_reads_as_zeros_and_a_missing_one_as_empty() -> None:
    unreported = Completion("t", "n", False, None, "node went silent", 1.0, 2.0)
    assert unreported.usage == TaskUsage()
    assert unreported.output == TaskOutput()
    output = TaskOutput("out", "err", 3, 4)
    usage = TaskUsage(1.5, 10, 20, 30)
    record = ended_record(
        True, 5, "", 1.0, 3.5, output, usage, **RecordKey("w", "t", 2, "n")._asdict()
    )
    completion = completion_of(record)
    assert (completion.output, completion.usage) == (output, usage)
    assert record.wall_s == 2.5


@task(work_s=0.1)
def small() -> int:
    _burn(0.1)
    return 1


def test_the_history_and_the_task_logs_keep_what_the_record_measured() -> None:
    transitions: list[Transition] = []
    logs: list[AttemptLog] = []
    executor = LocalExecutor([NodeInfo("n1", cpu_cores=1)])
    active = Session(LogRecordingExecutor(executor, logs.append), recorder=transitions.append)
    try:
        with session(active):
            assert wait_on(small()) == 1
    finally:
        active.close()
    [finished] = [t for t in transitions if t.state == "finished"]
    [record] = [e for e in executor.events if e.kind == "finished"]
    assert finished.run_s == record.wall_s
    assert finished.cpu_s == record.cpu_s
    assert finished.cpu_s is not None
    assert finished.cpu_s >= 0.09
    assert (finished.read_bytes, finished.written_bytes) == (
        record.read_bytes,
        record.written_bytes,
    )
    [log] = logs
    assert (log.cpu_s, log.peak_memory_bytes) == (record.cpu_s, record.peak_memory_bytes)
    assert attempt_log(completion_of(record), 1).cpu_s == record.cpu_s
