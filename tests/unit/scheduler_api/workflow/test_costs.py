"""Learned task costs: samples from the placement history, normalised by node speed, and a
second run of a workflow placed with what the first one measured."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler_api._store import Database
from scheduler_api.executors import Completion
from scheduler_api.placement import EngineConfig, Heuristic, NodeInfo
from scheduler_api.workflow import (
    DEFAULT_WORK_S,
    CostEstimate,
    PlacementHistory,
    RunSample,
    Session,
    TaskCosts,
    estimate_work,
    session,
    task,
    wait_on,
)

# What each task takes on a reference node, as the fake executor below reports it.
REFERENCE_S = {"slow_step": 0.9, "quick_step": 0.1}


class TimedExecutor:
    """Reports each task as having run for its reference time divided by the node's speed.

    Pure logic for the session: no process, no sleep, but the same Completion a worker sends.
    """

    name = "timed"

    def __init__(self, nodes: list[NodeInfo]) -> None:
        self._nodes = nodes
        self._speed = {n.node_id: n.speed for n in nodes}
        self.order: list[str] = []
        self._done: list[Completion] = []

    def nodes(self) -> list[NodeInfo]:
        return self._nodes

    def submit(
        self, task_id: str, node_id: str, function: Any, args: tuple[Any, ...], kwargs: Any
    ) -> None:
        self.order.append(function.name)
        started = time.time()
        value = function.run_inline(*args, **kwargs)
        ran_s = REFERENCE_S[function.name] / self._speed[node_id]
        self._done.append(Completion(task_id, node_id, True, value, "", started, started + ran_s))

    def wait(self, timeout_s: float) -> list[Completion]:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        pass


@task()
def slow_step(x: int) -> int:
    return x


@task()
def quick_step(x: int) -> int:
    return x


def _workflow() -> list[int]:
    # Submitted slow first: with equal (default) costs SPT keeps that order.
    result: list[int] = wait_on([slow_step(1), quick_step(2)])
    return result


def _run(costs: TaskCosts | None, history: PlacementHistory, node: NodeInfo) -> tuple[Session, str]:
    plan_id = history.open_run("spt", at_s=time.time())

    def record(transition: Any) -> None:
        history.record(plan_id, transition)

    active = Session(
        TimedExecutor([node]),
        EngineConfig(heuristic=Heuristic.SPT, mode="ready"),
        recorder=record,
        costs=costs,
    )
    with session(active):
        assert _workflow() == [1, 2]
    return active, plan_id


def test_a_second_run_places_with_the_costs_the_first_one_measured() -> None:
    history = PlacementHistory(Database(":memory:"))
    node = NodeInfo("solo", speed=2.0)
    first, _ = _run(None, history, node)
    assert first.executor.order == ["slow_step", "quick_step"]  # type: ignore[attr-defined]
    assert {r.work_source for r in first.records.values()} == {"default"}

    costs = TaskCosts.learn(history.finished_runs(), speeds={node.node_id: node.speed})
    second, plan_id = _run(costs, history, node)
    # Shortest first now knows which is short: the learned costs changed the order.
    assert second.executor.order == ["quick_step", "slow_step"]  # type: ignore[attr-defined]
    slow = second.records["slow_step-1"]
    assert slow.work_source == "learned"
    assert slow.work_samples == 1
    # Measured 0.45 s on a node twice the reference speed: 0.9 reference seconds.
    assert slow.work_s == pytest.approx(REFERENCE_S["slow_step"])
    record = history.get(plan_id)
    assert record is not None
    placed = [t for t in record.transitions if t.state == "placed"]
    assert {t.detail for t in placed} == {
        "work_s 0.9 (learned from 1 run)",
        "work_s 0.1 (learned from 1 run)",
    }


def test_finished_runs_read_names_durations_and_measurements() -> None:
    history = PlacementHistory(Database(":memory:"))
    plan_id = history.open_run("heft", at_s=100.0)
    history.record_transition(plan_id, "square-1", "placed", "a", 100.0)
    history.record_transition(plan_id, "square-1", "started", "a", 101.0)
    history.record_transition(plan_id, "square-1", "failed", "a", 102.0, "boom")
    history.record_transition(plan_id, "square-1", "started", "b", 103.0)
    history.record_transition(plan_id, "square-1", "finished", "b", 107.5)
    history.record_transition(plan_id, "other", "placed", "a", 100.0, name="crunch")
    history.record_transition(
        plan_id,
        "other",
        "finished",
        "a",
        110.0,
        name="crunch",
        run_s=2.0,
        cpu_s=1.5,
        read_bytes=4096,
        written_bytes=512,
    )
    samples = sorted(history.finished_runs(), key=lambda s: s.name)
    assert samples == [
        RunSample("crunch", "a", 2.0, 110.0, 1.5, 4096, 512),
        # No name recorded: the call id without its number; timed from the latest start.
        RunSample("square", "b", 4.5, 107.5),
    ]


def test_histories_of_an_older_release_gain_the_new_columns(tmp_path: Any) -> None:
    path = tmp_path / "api.db"
    old = Database(path)
    old.ensure_schema(
        "CREATE TABLE placement_plans (id TEXT PRIMARY KEY, created_at_s REAL NOT NULL, "
        "heuristic TEXT NOT NULL, makespan_s REAL NOT NULL, task_count INTEGER NOT NULL, "
        "unplaced TEXT NOT NULL)",
        "CREATE TABLE placement_transitions (plan_id TEXT NOT NULL, seq INTEGER NOT NULL, "
        "task_id TEXT NOT NULL, state TEXT NOT NULL, node_id TEXT NOT NULL, at_s REAL NOT NULL, "
        "est_start_s REAL, est_finish_s REAL, detail TEXT NOT NULL, PRIMARY KEY (plan_id, seq))",
    )
    with old.transaction() as conn:
        conn.execute("INSERT INTO placement_plans VALUES ('p', 0, 'heft', 0, 1, '{}')")
        conn.execute(
            "INSERT INTO placement_transitions VALUES ('p', 0, 'f-1', 'started', 'a', 1, "
            "NULL, NULL, '')"
        )
        conn.execute(
            "INSERT INTO placement_transitions VALUES ('p', 1, 'f-1', 'finished', 'a', 4, "
            "NULL, NULL, '')"
        )
    old.close()
    history = PlacementHistory(Database(path))
    assert history.finished_runs() == [RunSample("f", "a", 3.0, 4.0)]
    assert history.record_transition("p", "f-1", "finished", "a", 9.0, run_s=1.0)


def test_learning_normalises_by_speed_and_takes_the_median() -> None:
    samples = [
        RunSample("f", "fast", 1.0, 1.0, cpu_s=0.5),
        RunSample("f", "slow", 4.0, 2.0, cpu_s=2.0, read_bytes=100),
        RunSample("f", "gone", 2.5, 3.0, read_bytes=300),  # unknown node: reference speed
        RunSample("g", "fast", 0.25, 4.0),
    ]
    costs = TaskCosts.learn(samples, speeds={"fast": 2.0, "slow": 0.5})
    f = costs.estimate("f")
    assert f == CostEstimate("f", 2.0, "learned", 3, cpu_s=1.0, read_bytes=200.0)
    assert costs.estimate("g") == CostEstimate("g", 0.5, "learned", 1)
    assert costs.estimate("never-ran") is None
    assert [e.name for e in costs.estimates()] == ["f", "g"]


def test_only_the_latest_samples_count() -> None:
    samples = [RunSample("f", "a", 10.0, float(i)) for i in range(5)]
    samples += [RunSample("f", "a", 1.0, float(10 + i)) for i in range(3)]
    costs = TaskCosts.learn(samples, speeds={}, max_samples=3)
    assert costs.estimate("f") == CostEstimate("f", 1.0, "learned", 3)


def test_declared_beats_learned_beats_default() -> None:
    costs = TaskCosts([CostEstimate("f", 3.0, "learned", 4)])
    assert estimate_work("f", 0.5, costs) == CostEstimate("f", 0.5, "declared")
    assert estimate_work("f", None, costs).describe() == "learned from 4 runs"
    fallback = estimate_work("g", None, costs)
    assert (fallback.work_s, fallback.describe()) == (DEFAULT_WORK_S, "default")
    assert estimate_work("f", None, None).source == "default"


def test_speeds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speeds must be > 0"):
        TaskCosts.learn([], speeds={"a": 0.0})


# ---------------------------------------------------------------- properties

_speeds = st.floats(min_value=0.05, max_value=20.0, allow_nan=False)
_work = st.floats(min_value=0.001, max_value=1e4, allow_nan=False)


@given(st.lists(st.tuples(_work, _speeds), min_size=1, max_size=30))
def test_the_same_work_on_any_node_learns_the_same_reference_cost(
    runs: list[tuple[float, float]],
) -> None:
    # Every run did one reference second of work, on nodes of different speeds.
    work_s = runs[0][0]
    samples = [
        RunSample("f", f"n{i}", work_s / speed, float(i)) for i, (_, speed) in enumerate(runs)
    ]
    speeds = {f"n{i}": speed for i, (_, speed) in enumerate(runs)}
    estimate = TaskCosts.learn(samples, speeds).estimate("f")
    assert estimate is not None
    assert math.isclose(estimate.work_s, work_s, rel_tol=1e-9)
    assert estimate.samples == len(runs)


@given(st.lists(_work, min_size=1, max_size=40), _speeds)
def test_an_estimate_lies_within_its_samples(durations: list[float], speed: float) -> None:
    samples = [RunSample("f", "n", d, float(i)) for i, d in enumerate(durations)]
    estimate = TaskCosts.learn(samples, {"n": speed}).estimate("f")
    assert estimate is not None
    low, high = min(durations) * speed, max(durations) * speed
    assert low * (1 - 1e-12) <= estimate.work_s <= high * (1 + 1e-12)


def test_placement_explains_the_learned_cpu_time_and_bytes_beside_the_duration() -> None:
    history = PlacementHistory(Database(":memory:"))
    learned = CostEstimate("slow_step", 0.9, "learned", 3, cpu_s=0.8, read_bytes=2048.0)
    _, plan_id = _run(TaskCosts([learned]), history, NodeInfo("solo"))
    record = history.get(plan_id)
    assert record is not None
    details = {t.task_id: t.detail for t in record.transitions if t.state == "placed"}
    # Only what was recorded is shown: no written bytes for slow_step, nothing for quick_step.
    assert details == {
        "slow_step-1": "work_s 0.9 cpu_s 0.8 read_bytes 2.05e+03 (learned from 3 runs)",
        "quick_step-1": "work_s 1 (default)",
    }
