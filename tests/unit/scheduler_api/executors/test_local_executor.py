"""The local executor: a pool per node, failures as data, a dead worker's pool rebuilt."""

from __future__ import annotations

import os
import time

from scheduler_api.executors import Completion, LocalExecutor, local_node
from scheduler_api.placement import NodeInfo
from scheduler_api.workflow import task


@task()
def triple(x: int) -> int:
    return 3 * x


@task()
def pid() -> int:
    return os.getpid()


@task()
def fails() -> None:
    raise KeyError("missing")


@task()
def dies() -> None:
    os._exit(3)


def _collect(executor: LocalExecutor, count: int, timeout_s: float = 30.0) -> list[Completion]:
    deadline = time.monotonic() + timeout_s
    done: list[Completion] = []
    while len(done) < count and time.monotonic() < deadline:
        done.extend(executor.wait(timeout_s=1.0))
    assert len(done) == count, done
    return done


def test_local_node_describes_this_machine() -> None:
    node = local_node("me")
    assert node.node_id == "me"
    assert node.cpu_cores == os.cpu_count()
    assert node.memory_bytes > 0
    assert node.memory_available_bytes is not None
    assert 0.0 <= node.cpu_utilization <= 1.0


def test_runs_on_the_named_node_in_separate_processes() -> None:
    executor = LocalExecutor([NodeInfo("a", cpu_cores=1), NodeInfo("b", cpu_cores=1)])
    try:
        executor.submit("t1", "a", triple, (2,), {})
        executor.submit("t2", "b", triple, (), {"x": 5})
        executor.submit("p", "a", pid, (), {})
        done = {c.task_id: c for c in _collect(executor, 3)}
    finally:
        executor.close()
    assert (done["t1"].value, done["t1"].node_id, done["t1"].ok) == (6, "a", True)
    assert done["t2"].value == 15
    assert done["p"].value != os.getpid()
    assert done["t1"].finished_s >= done["t1"].started_s


def test_exceptions_come_back_as_failed_completions() -> None:
    executor = LocalExecutor([NodeInfo("a")])
    try:
        executor.submit("f", "a", fails, (), {})
        [done] = _collect(executor, 1)
    finally:
        executor.close()
    assert not done.ok
    assert "KeyError: 'missing'" in done.error


def test_a_dead_worker_fails_its_task_and_the_pool_is_rebuilt() -> None:
    executor = LocalExecutor([NodeInfo("a")])
    try:
        executor.submit("d", "a", dies, (), {})
        [dead] = _collect(executor, 1)
        assert not dead.ok
        assert "BrokenProcessPool" in dead.error
        executor.submit("t", "a", triple, (1,), {})
        [alive] = _collect(executor, 1)
    finally:
        executor.close()
    assert alive.ok
    assert alive.value == 3
