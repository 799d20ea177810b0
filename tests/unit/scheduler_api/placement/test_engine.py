"""Engine behaviour: placement by finish time, failures, re-placement, parking, modes."""

from __future__ import annotations

import pytest

from scheduler_api.placement import (
    Abandon,
    DataInput,
    EngineConfig,
    GraphSubmitted,
    InvalidGraphError,
    NodeFailed,
    NodeInfo,
    NodeSnapshot,
    Place,
    PlacementEngine,
    Replace,
    Requirements,
    TaskFailed,
    TaskFinished,
    TaskSpec,
    TaskStarted,
    TaskState,
)


def _engine(*nodes: NodeInfo, **config: object) -> PlacementEngine:
    engine = PlacementEngine(EngineConfig(**config))  # type: ignore[arg-type]
    for node in nodes:
        assert engine.handle(NodeSnapshot(node, at_s=0.0)) == []
    return engine


def _submit(engine: PlacementEngine, *tasks: TaskSpec, at_s: float = 0.0) -> list[object]:
    decisions = engine.handle(GraphSubmitted(tasks, at_s=at_s))
    engine.validate_state()
    return list(decisions)


def test_faster_and_idle_nodes_win() -> None:
    engine = _engine(
        NodeInfo("slow", speed=0.5),
        NodeInfo("fast", speed=2.0),
        NodeInfo("fast-busy", speed=2.0, cpu_utilization=0.9),
    )
    [place] = _submit(engine, TaskSpec("t", work_s=4.0))
    assert isinstance(place, Place)
    assert (place.node_id, place.est_start_s, place.est_finish_s) == ("fast", 0.0, 2.0)


def test_parallel_tasks_spread_over_lanes_then_nodes() -> None:
    engine = _engine(NodeInfo("a", cpu_cores=2), NodeInfo("b", cpu_cores=1))
    decisions = _submit(engine, *(TaskSpec(f"t{i}", work_s=1.0) for i in range(4)))
    nodes = [d.node_id for d in decisions if isinstance(d, Place)]
    assert sorted(nodes[:3]) == ["a", "a", "b"]
    assert engine.makespan_estimate_s() == pytest.approx(2.0)


def test_data_locality_beats_a_faster_node_when_transfer_is_expensive() -> None:
    slow_link = {"bandwidth_bytes_per_s": 1e6, "latency_s": 0.01}
    engine = _engine(
        NodeInfo("holder", speed=1.0, **slow_link),  # type: ignore[arg-type]
        NodeInfo("fast", speed=4.0, **slow_link),  # type: ignore[arg-type]
    )
    big = DataInput("d1", size_bytes=100_000_000, node_ids=("holder",))
    [place] = _submit(engine, TaskSpec("t", work_s=10.0, inputs=(big,)))
    assert isinstance(place, Place)
    assert place.node_id == "holder"  # 10 s here against 2.5 s + 100 s of transfer there
    [small] = _submit(
        engine, TaskSpec("u", work_s=10.0, inputs=(DataInput("d2", 1000, ("holder",)),))
    )
    assert isinstance(small, Place)
    assert small.node_id == "fast"


def test_child_follows_parent_output_and_waits_for_it() -> None:
    engine = _engine(
        NodeInfo("a", bandwidth_bytes_per_s=1e3, latency_s=0.0),
        NodeInfo("b", bandwidth_bytes_per_s=1e3, latency_s=0.0),
    )
    decisions = _submit(
        engine,
        TaskSpec("p", work_s=1.0),
        TaskSpec("c", work_s=1.0, depends_on={"p": 5000}),
    )
    p, c = decisions
    assert isinstance(p, Place)
    assert isinstance(c, Place)
    assert c.node_id == p.node_id
    assert c.est_start_s == pytest.approx(p.est_finish_s)


def test_constraints_filter_and_unsatisfiable_tasks_park_until_a_node_fits() -> None:
    engine = _engine(NodeInfo("cpu", cpu_cores=4, memory_bytes=8 << 30, tier="cloud"))
    gpu_task = TaskSpec("g", requirements=Requirements(gpus=1, tier="edge"))
    assert _submit(engine, gpu_task, TaskSpec("after", depends_on={"g": 0})) == []
    assert engine.parked() == ["g"]
    assert engine.task("after").state is TaskState.WAITING
    decisions = engine.handle(NodeSnapshot(NodeInfo("jetson", gpus=1, tier="edge"), at_s=5.0))
    engine.validate_state()
    assert [(d.task_id, d.node_id) for d in decisions if isinstance(d, Place)] == [
        ("g", "jetson"),
        ("after", "jetson"),
    ]
    assert decisions[0].est_start_s == 5.0  # type: ignore[union-attr]
    assert engine.parked() == []


def test_failed_task_is_replaced_elsewhere_then_abandoned_with_descendants() -> None:
    engine = _engine(NodeInfo("a"), NodeInfo("b"), max_attempts=2)
    [first, _] = _submit(engine, TaskSpec("t"), TaskSpec("child", depends_on={"t": 0}))
    assert isinstance(first, Place)
    engine.handle(TaskStarted("t", first.node_id, at_s=0.0))
    retry = engine.handle(TaskFailed("t", first.node_id, at_s=0.5, reason="boom"))
    engine.validate_state()
    moved = [d for d in retry if isinstance(d, Replace)]
    assert moved[0].task_id == "t"
    assert moved[0].from_node_id == first.node_id
    assert moved[0].node_id != first.node_id
    assert moved[0].attempt == 2
    assert "boom" in moved[0].reason
    assert moved[0].est_start_s >= 0.5
    assert {d.task_id for d in moved} == {"t", "child"}  # the child is re-planned after it
    engine.handle(TaskStarted("t", moved[0].node_id, at_s=0.6))
    gave_up = engine.handle(TaskFailed("t", moved[0].node_id, at_s=1.0))
    engine.validate_state()
    assert [(type(d), d.task_id) for d in gave_up] == [(Abandon, "t"), (Abandon, "child")]
    assert engine.task("child").state is TaskState.ABANDONED


def test_node_failure_replaces_running_and_planned_tasks() -> None:
    engine = _engine(NodeInfo("a", speed=2.0), NodeInfo("b"))
    decisions = _submit(engine, TaskSpec("x", work_s=2.0), TaskSpec("y", work_s=2.0))
    on_a = [d.task_id for d in decisions if isinstance(d, Place) and d.node_id == "a"]
    assert on_a
    engine.handle(TaskStarted(on_a[0], "a", at_s=0.0))
    moved = engine.handle(NodeFailed("a", at_s=0.5, reason="missed heartbeat"))
    engine.validate_state()
    assert {d.task_id for d in moved if isinstance(d, Replace)} == set(on_a)
    assert all(isinstance(d, Replace) and d.node_id == "b" for d in moved)
    assert engine.task(on_a[0]).attempt == 2
    assert not engine.node_alive("a")
    # A late report from the dead node is ignored; the node may rejoin later.
    engine.handle(TaskStarted(on_a[0], "a", at_s=0.6))
    assert engine.ignored_events == 1
    engine.handle(NodeSnapshot(NodeInfo("a", speed=2.0), at_s=1.0))
    assert engine.node_alive("a")
    engine.validate_state()


def test_unhealthy_node_loses_planned_work_but_not_running_work() -> None:
    engine = _engine(NodeInfo("a", cpu_cores=1), NodeInfo("b", speed=0.1), insertion=False)
    decisions = _submit(engine, TaskSpec("r", work_s=1.0), TaskSpec("q", work_s=1.0))
    assert [d.node_id for d in decisions if isinstance(d, Place)] == ["a", "a"]
    engine.handle(TaskStarted("r", "a", at_s=0.0))
    moved = engine.handle(NodeSnapshot(NodeInfo("a", healthy=False), at_s=0.1))
    engine.validate_state()
    assert [(d.task_id, d.node_id) for d in moved if isinstance(d, Replace)] == [("q", "b")]
    assert engine.task("r").state is TaskState.RUNNING


def test_replan_on_snapshot_moves_queued_work_off_a_node_that_slowed() -> None:
    nodes = (NodeInfo("a", cpu_cores=1), NodeInfo("b", cpu_cores=1, speed=0.4))
    for replan in (False, True):
        engine = _engine(*nodes, mode="ready", insertion=False, replan_on_snapshot=replan)
        decisions = _submit(engine, TaskSpec("r", work_s=1.0), TaskSpec("q", work_s=1.0))
        assert [d.node_id for d in decisions if isinstance(d, Place)] == ["a", "a"]
        engine.handle(TaskStarted("r", "a", at_s=0.0))
        # Fresh figures that change nothing leave the plan where it was.
        same = engine.handle(NodeSnapshot(nodes[0], at_s=0.2))
        engine.validate_state()
        assert all(d.node_id == "a" for d in same if isinstance(d, Place | Replace))
        # The node slows to a fifth: q would now finish at 1 + 5 there, 2.5 on b.
        slowed = engine.handle(
            NodeSnapshot(NodeInfo("a", cpu_cores=1, cpu_utilization=0.8), at_s=0.5)
        )
        engine.validate_state()
        moved = [(d.task_id, d.from_node_id, d.node_id) for d in slowed if isinstance(d, Replace)]
        assert moved == ([("q", "a", "b")] if replan else [])
        assert engine.task("q").node_id == ("b" if replan else "a")
        # Running work is never moved by a refresh.
        assert engine.task("r").state is TaskState.RUNNING
        assert engine.task("r").node_id == "a"


def test_ready_mode_places_children_only_when_parents_finish() -> None:
    engine = _engine(NodeInfo("a"), NodeInfo("b"), mode="ready")
    decisions = _submit(engine, TaskSpec("p", work_s=1.0), TaskSpec("c", depends_on={"p": 0}))
    assert [d.task_id for d in decisions] == ["p"]
    place = decisions[0]
    assert isinstance(place, Place)
    engine.handle(TaskStarted("p", place.node_id, at_s=0.0))
    later = engine.handle(TaskFinished("p", place.node_id, at_s=3.0))
    engine.validate_state()
    assert [(d.task_id, d.est_start_s) for d in later if isinstance(d, Place)] == [("c", 3.0)]


def test_tasks_can_depend_on_earlier_submissions() -> None:
    engine = _engine(NodeInfo("a"))
    _submit(engine, TaskSpec("first", work_s=1.0))
    engine.handle(TaskFinished("first", "a", at_s=1.0))
    [place] = _submit(engine, TaskSpec("second", depends_on={"first": 10}), at_s=2.0)
    assert isinstance(place, Place)
    assert place.est_start_s == 2.0


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([TaskSpec("a"), TaskSpec("a")], "twice"),
        ([TaskSpec("a", depends_on={"ghost": 0})], "unknown task 'ghost'"),
        ([TaskSpec("a", depends_on={"b": 0}), TaskSpec("b", depends_on={"a": 0})], "cycle"),
    ],
)
def test_malformed_graphs_are_rejected_without_changing_state(
    tasks: list[TaskSpec], message: str
) -> None:
    engine = _engine(NodeInfo("a"))
    with pytest.raises(InvalidGraphError, match=message):
        engine.handle(GraphSubmitted(tuple(tasks), at_s=0.0))
    assert list(engine.tasks()) == []
    engine.validate_state()


def test_cost_overrides_and_multi_core_tasks() -> None:
    engine = _engine(NodeInfo("big", cpu_cores=4), NodeInfo("small", cpu_cores=2))
    wide = Requirements(cpu_cores=3)
    decisions = _submit(
        engine,
        TaskSpec("w1", work_s=1.0, requirements=wide),
        TaskSpec("w2", work_s=1.0, requirements=wide),
        TaskSpec("quick", work_s=100.0, cost_s={"small": 0.5}),
    )
    placed = {d.task_id: d for d in decisions if isinstance(d, Place)}
    assert placed["w1"].node_id == placed["w2"].node_id == "big"
    assert placed["w2"].est_start_s == pytest.approx(1.0)  # 3 + 3 cores do not fit in 4
    assert placed["quick"].node_id == "small"
    assert placed["quick"].est_finish_s == pytest.approx(0.5)


def test_duplicate_and_unknown_events_are_counted_not_fatal() -> None:
    engine = _engine(NodeInfo("a"))
    _submit(engine, TaskSpec("t"))
    engine.handle(TaskFinished("t", "a", at_s=1.0))
    assert engine.handle(TaskFinished("t", "a", at_s=1.0)) == []
    assert engine.handle(TaskFailed("nope", "a", at_s=1.0)) == []
    assert engine.handle(NodeFailed("ghost", at_s=1.0)) == []
    assert engine.ignored_events == 3
    engine.validate_state()


def test_speed_benchmark_runs_small_and_reports_its_baseline() -> None:
    from bench.placement_speed import layered_graph, measure

    graph = layered_graph(50, seed=1, width=10)
    assert all(int(p[1:]) < int(t.task_id[1:]) for t in graph for p in t.depends_on)
    figures = measure(node_count=20, task_count=200, repeats=1, seed=1)
    assert figures["independent_placements_per_s"] > 0
    assert figures["random_graph_plan_s"] > 0
    # Earliest-finish placement beats random placement on the same graph.
    assert figures["heft_makespan_s"] < figures["random_makespan_s"]


def test_not_before_holds_a_task_back() -> None:
    engine = PlacementEngine(EngineConfig(mode="plan"))
    engine.handle(NodeSnapshot(NodeInfo("n"), at_s=0.0))
    [place] = engine.handle(
        GraphSubmitted((TaskSpec("t", work_s=2.0, not_before_s=10.0),), at_s=0.0)
    )
    assert isinstance(place, Place)
    assert (place.est_start_s, place.est_finish_s) == (10.0, 12.0)


def test_a_task_no_node_can_finish_by_its_deadline_is_abandoned_with_the_reason() -> None:
    engine = PlacementEngine(EngineConfig(mode="plan"))
    engine.handle(NodeSnapshot(NodeInfo("slow", speed=0.5), at_s=0.0))
    engine.handle(NodeSnapshot(NodeInfo("fast", speed=2.0), at_s=0.0))
    decisions = engine.handle(
        GraphSubmitted(
            (
                TaskSpec("ok", work_s=10.0, deadline_s=6.0),
                TaskSpec("late", work_s=100.0, deadline_s=6.0),
                TaskSpec("child", depends_on={"late": 0}),
            ),
            at_s=0.0,
        )
    )
    placed = {d.task_id: d for d in decisions if isinstance(d, Place)}
    abandoned = {d.task_id: d.reason for d in decisions if isinstance(d, Abandon)}
    assert placed["ok"].node_id == "fast"  # 5 s there, 20 s on the slow node
    assert abandoned["late"] == (
        "deadline: earliest estimated finish 50.0 s (on fast) is 44.0 s after the deadline"
    )
    assert abandoned["child"] == "parent late was abandoned"
    engine.validate_state()


def test_a_deadline_before_not_before_is_refused() -> None:
    with pytest.raises(ValueError, match="deadline_s is before not_before_s"):
        TaskSpec("t", not_before_s=5.0, deadline_s=1.0)
