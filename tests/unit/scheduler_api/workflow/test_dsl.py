"""The DSL records a graph from futures; problems are reported before anything runs."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from scheduler_api.placement import EngineConfig, Heuristic, NodeInfo
from scheduler_api.workflow import (
    Dataset,
    Session,
    WorkflowError,
    constraint,
    depends,
    parse_size,
    session,
    task,
    wait_on,
)
from tests.unit.scheduler_api.workflow.fakes import InlineExecutor


@task(work_s=1.0)
def double(x: int) -> int:
    return 2 * x


@task(returns=2)
def divmod_task(a: int, b: int) -> tuple[int, int]:
    return divmod(a, b)


@task()
def add(*values: int) -> int:
    return sum(values)


@constraint(gpu=1, tier="edge", memory="1G")
@task()
def needs_gpu() -> int:
    return 1


@task()
def write_marker(log: list[str]) -> None:
    log.append("written")


@depends(write_marker)
@task()
def read_marker() -> str:
    return "read"


FLAKY_CALLS: list[int] = []


@task()
def flaky() -> str:
    FLAKY_CALLS.append(1)
    if len(FLAKY_CALLS) < 2:
        raise RuntimeError("first try fails")
    return "ok"


@task()
def broken() -> None:
    raise ValueError("always")


def _session(*nodes: NodeInfo, **config: Any) -> tuple[Session, InlineExecutor]:
    executor = InlineExecutor(list(nodes) or [NodeInfo("here", cpu_cores=2)])
    return Session(executor, EngineConfig(mode="ready", **config)), executor


def test_parse_size() -> None:
    assert parse_size("2G") == 2 << 30
    assert parse_size("512M") == 512 << 20
    assert parse_size("1.5GiB") == 3 << 29
    assert parse_size(4096) == 4096
    with pytest.raises(ValueError, match="use bytes or a number with K, M, G"):
        parse_size("lots")


def test_futures_make_edges_and_results_flow() -> None:
    active, executor = _session()
    with session(active):
        quotient, remainder = divmod_task(17, 5)
        result = wait_on(add(double(quotient), remainder, 10))
    assert result == 2 * 3 + 2 + 10
    ran = [task_id for task_id, _ in executor.ran]
    assert ran.index("add-1") > max(ran.index("double-1"), ran.index("divmod_task-1"))


def test_wait_on_resolves_structures() -> None:
    active, _ = _session()
    with session(active):
        values = [double(i) for i in range(4)]
        assert wait_on({"all": values, "one": values[0]}) == {"all": [0, 2, 4, 6], "one": 0}


def test_explicit_depends_orders_calls_without_futures() -> None:
    active, executor = _session(NodeInfo("a", cpu_cores=4))
    log: list[str] = []
    with session(active):
        write_marker(log)
        wait_on(read_marker())
    assert [t for t, _ in executor.ran] == ["write_marker-1", "read_marker-1"]
    assert active._calls["read_marker-1"].parents == {"write_marker-1": None}


def test_unsatisfiable_constraints_fail_before_anything_runs() -> None:
    active, executor = _session(NodeInfo("cloud-1", cpu_cores=4, memory_bytes=8 << 30))
    with session(active), pytest.raises(WorkflowError) as caught:
        wait_on([double(1), needs_gpu()])
    message = str(caught.value)
    assert "needs_gpu-1" in message
    assert "gpu=1 (most on a node is 0)" in message
    assert "tier=edge (nodes have cloud)" in message
    assert executor.ran == []


def test_constrained_task_goes_to_the_node_that_fits() -> None:
    active, executor = _session(
        NodeInfo("cloud-1", cpu_cores=8, speed=4.0),
        NodeInfo("jetson", gpus=1, tier="edge", memory_bytes=4 << 30),
    )
    with session(active):
        assert wait_on(needs_gpu()) == 1
    assert executor.ran == [("needs_gpu-1", "jetson")]


def test_failed_task_is_retried_then_gives_up_with_the_error() -> None:
    FLAKY_CALLS.clear()
    active, executor = _session(NodeInfo("a"), NodeInfo("b"), max_attempts=2)
    with session(active):
        assert wait_on(flaky()) == "ok"
        assert active.records["flaky-1"].attempts == 2
        with pytest.raises(WorkflowError, match="always"):
            wait_on(broken())
    assert [t for t, _ in executor.ran].count("broken-1") == 2
    assert active.records["broken-1"].state == "abandoned"


@task(work_s=10.0)
def size_of(data: Dataset) -> int:
    return data.size_bytes


@task(work_s=5.0)
def long_job() -> str:
    return "long"


@task(work_s=0.1)
def short_job() -> str:
    return "short"


def test_dataset_parameters_pull_tasks_to_their_data() -> None:
    slow_link: dict[str, Any] = {"bandwidth_bytes_per_s": 1e6, "latency_s": 0.01}
    active, executor = _session(
        NodeInfo("holder", **slow_link), NodeInfo("fast", speed=4.0, **slow_link)
    )
    data = Dataset("d1", size_bytes=100_000_000, nodes=("holder",))
    with session(active):
        assert wait_on(size_of(data)) == 100_000_000
    assert active._calls["size_of-1"].datasets == (data,)
    assert executor.ran == [("size_of-1", "holder")]


@pytest.mark.parametrize(
    ("heuristic", "order"),
    [
        (Heuristic.SPT, ["short_job-1", "long_job-1"]),
        (Heuristic.LPT, ["long_job-1", "short_job-1"]),
    ],
)
def test_heuristic_orders_ready_tasks(heuristic: Heuristic, order: list[str]) -> None:
    active, executor = _session(NodeInfo("solo"), heuristic=heuristic)
    with session(active):
        wait_on([long_job(), short_job()])
    assert [t for t, _ in executor.ran] == order


def test_futures_do_not_travel_to_workers() -> None:
    active, _ = _session()
    with session(active):
        future = double(1)
        with pytest.raises(TypeError, match="cannot be sent to a worker"):
            pickle.dumps(future)
        wait_on(future)


def test_decorator_order_is_checked() -> None:
    with pytest.raises(TypeError, match="above @task"):
        constraint(cpu_cores=1)(lambda: None)  # type: ignore[arg-type]


def test_nodes_gone_from_the_inventory_lose_their_tasks() -> None:
    fleet = [NodeInfo("a", speed=4.0), NodeInfo("b")]
    answers: list[list[NodeInfo]] = [[NodeInfo("b", cpu_utilization=0.5)], []]

    def source() -> list[NodeInfo]:
        if not answers:
            raise ConnectionError("monitoring is down")  # must not stop the run
        return answers.pop(0)

    executor = InlineExecutor(fleet)
    active = Session(executor, EngineConfig(mode="plan"), node_source=source, refresh_s=0.0)
    with session(active):
        values = [double(i) for i in range(4)]
        assert wait_on(values) == [0, 2, 4, 6]
        assert wait_on(double(5)) == 10  # later refreshes: empty, then failing
    assert not active.engine.node_alive("a")
    assert {node for _, node in executor.ran} == {"b"}
    # Without the refresh, the fast node gets the work.
    plain, plain_executor = _session(*fleet, heuristic=Heuristic.LPT)
    with session(plain):
        wait_on([double(i) for i in range(4)])
    assert "a" in {node for _, node in plain_executor.ran}


@constraint(deadline=0.001)
@task(work_s=3600.0)
def hour_long() -> int:
    return 1


@constraint(not_before=0.0, deadline=3600.0, max_utilization=0.5)
@task(work_s=1.0)
def in_window() -> int:
    return 2


def test_a_task_that_cannot_meet_its_deadline_is_abandoned_with_the_reason() -> None:
    active, executor = _session()
    with session(active), pytest.raises(WorkflowError, match="deadline: earliest estimated"):
        wait_on(hour_long())
    assert executor.ran == []
    record = active.records["hour_long-1"]
    assert record.state == "abandoned"
    assert "after the deadline" in record.error


def test_time_window_and_utilisation_ceiling_reach_the_engine() -> None:
    active, _ = _session()
    with session(active):
        assert wait_on(in_window()) == 2
    record = active.records["in_window-1"]
    assert record.deadline_s == 3600.0
    assert record.late_s is None
    assert in_window.requirements.max_utilization == 0.5


def test_time_constraints_are_checked() -> None:
    with pytest.raises(ValueError, match="deadline=-1"):
        constraint(deadline=-1)
    with pytest.raises(ValueError, match="max_utilization=2"):
        constraint(max_utilization=2)
