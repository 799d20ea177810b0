from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bench.sim import (
    Assignment,
    ClusterView,
    EngineScheduler,
    SimulationError,
    all_schedulers,
    build_continuum,
    generate_workflow,
    simulate,
)
from bench.sim._continuum import LOAD_STEP_S
from bench.sim._wfformat import parse_wfformat
from scheduler_api.placement import Heuristic, TaskState


class _Fixed:
    """Everything on one node."""

    def __init__(self, node: int) -> None:
        self.name = f"fixed-{node}"
        self.node = node

    def start(self, view: ClusterView) -> None:
        return None

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        return [Assignment(t, self.node) for t in ready]

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        return None


class _Never(_Fixed):
    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        return []


def _chain(runtime_s: float, size_bytes: int) -> Any:
    doc = {
        "name": "chain",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {
                "tasks": [
                    {
                        "name": "a",
                        "id": "a",
                        "parents": [],
                        "children": ["b"],
                        "inputFiles": ["in"],
                        "outputFiles": ["mid"],
                    },
                    {
                        "name": "b",
                        "id": "b",
                        "parents": ["a"],
                        "children": [],
                        "inputFiles": ["mid"],
                        "outputFiles": [],
                    },
                ],
                "files": [
                    {"id": "in", "sizeInBytes": size_bytes},
                    {"id": "mid", "sizeInBytes": size_bytes},
                ],
            },
            "execution": {
                "tasks": [
                    {"id": "a", "runtimeInSeconds": runtime_s},
                    {"id": "b", "runtimeInSeconds": runtime_s},
                ]
            },
        },
    }
    return parse_wfformat(doc, {})


def test_chain_on_one_node_runs_at_its_speed_and_pulls_only_the_input() -> None:
    world = build_continuum(0)
    idle = min(range(len(world.nodes)), key=lambda i: world.background(i, 0.0))
    node = world.nodes[idle]
    wf = _chain(runtime_s=1.0, size_bytes=10**6)
    result = simulate(wf, world, _Fixed(idle))
    pull_s = world.transfer_s(-1, idle, 10**6)
    a, b = result.tasks["a"], result.tasks["b"]
    assert a.start_s == pytest.approx(pull_s)
    # Two one-core tasks on a node with a free core run at full speed.
    assert a.end_s - a.start_s == pytest.approx(1.0 / node.speed, rel=1e-6)
    assert b.start_s == pytest.approx(a.end_s)  # its input is already there
    assert result.bytes_moved == 10**6
    assert result.makespan_s == pytest.approx(b.end_s)


def test_processor_sharing_slows_an_overloaded_node() -> None:
    world = build_continuum(0)
    # The busiest edge node: two cores, the background takes most of them.
    idx = max(
        (i for i, n in enumerate(world.nodes) if n.tier == "edge"),
        key=lambda i: world.background(i, 0.0) * 10 - world.nodes[i].cores,
    )
    wf = _chain(runtime_s=600.0, size_bytes=0)
    result = simulate(wf, world, _Fixed(idx))
    ideal = 1200.0 / world.nodes[idx].speed
    assert result.makespan_s >= ideal - 1e-6
    if result.overloaded_node_s > 0:
        assert result.makespan_s > ideal


def test_a_scheduler_that_never_places_is_reported() -> None:
    with pytest.raises(SimulationError, match="unplaced"):
        simulate(_chain(1.0, 0), build_continuum(0), _Never(0))


def test_every_scheduler_completes_a_recipe_workflow_deterministically(
    schema: dict[str, Any],
) -> None:
    wf = generate_workflow("montage", num_tasks=120, seed=1, schema=schema)
    world = build_continuum(7)
    names = []
    for scheduler in all_schedulers(seed=7):
        first = simulate(wf, world, scheduler)
        again = simulate(wf, build_continuum(7), scheduler)
        names.append(scheduler.name)
        assert first.makespan_s == again.makespan_s, scheduler.name
        for task_id, rec in first.tasks.items():
            for parent in wf.tasks[task_id].parents:
                assert rec.start_s >= first.tasks[parent].end_s - 1e-9
        assert first.makespan_s >= wf.critical_path_s() / max(n.speed for n in world.nodes)
    assert {"random", "round-robin", "kube-least-allocated", "trimaran-tlp", "trimaran-lvrb",
            "heft-static", "heft-online", "ours-spt", "ours-lpt", "ours-lnsnl", "ours-lns",
            "ours-heft"} == set(names)  # fmt: skip


def test_engine_adapter_leaves_the_engine_consistent(schema: dict[str, Any]) -> None:
    wf = generate_workflow("cycles", num_tasks=150, seed=2, schema=schema)
    scheduler = EngineScheduler(Heuristic.LPT)
    result = simulate(wf, build_continuum(3), scheduler)
    scheduler.engine.validate_state()
    statuses = {s.task_id: s for s in scheduler.engine.tasks()}
    assert set(statuses) == set(wf.tasks)
    for task_id, status in statuses.items():
        assert status.state == TaskState.DONE
        # The engine's record of where each task ran is where the simulator ran it.
        assert status.node_id == build_continuum(3).nodes[result.tasks[task_id].node].id


def _view_with_copy(world: Any, wf: Any, result: Any) -> ClusterView:
    """A view whose catalogue holds the copy of ``in`` the run left where "a" ran."""
    from bench.sim._monitor import Monitor

    view = ClusterView(world, wf, Monitor(world, lambda node, at_s: 0.0))
    view.add_copy("in", result.tasks["a"].node)
    return view


def test_engine_adapter_reads_links_from_the_probes_and_inputs_from_the_store_site() -> None:
    world = build_continuum(0)
    wf = _chain(runtime_s=1.0, size_bytes=10**9)
    scheduler = EngineScheduler(Heuristic.HEFT)
    result = simulate(wf, world, scheduler)
    assert scheduler.engine.config.book_transfers
    for info in scheduler.engine.nodes():
        node = world.nodes[[n.id for n in world.nodes].index(info.node_id)]
        uplink = world.site_links[node.site]
        # Probes see paths, not links: no estimate is faster than the link itself.
        assert 0 < info.bandwidth_bytes_per_s <= node.access_bandwidth_bytes_s
        assert info.uplink_bandwidth_bytes_per_s is not None
        assert 0 < info.uplink_bandwidth_bytes_per_s <= uplink.bandwidth_bytes_s
    # The input stays in the store beside the copy the run left on "a"'s node.
    [data] = scheduler._spec("a", _view_with_copy(world, wf, result)).inputs
    assert data.site == world.origin_site
    assert data.node_ids == (world.nodes[result.tasks["a"].node].id,)


def test_the_adapter_submits_the_whole_graph_at_the_start(schema: dict[str, Any]) -> None:
    from bench.sim._monitor import Monitor

    wf = generate_workflow("montage", num_tasks=60, seed=1, schema=schema)
    world = build_continuum(1)
    scheduler = EngineScheduler(Heuristic.HEFT)
    scheduler.start(ClusterView(world, wf, Monitor(world, lambda node, at_s: 0.0)))
    # Every task is known to the engine before any ran: HEFT ranks the whole graph.
    assert {s.task_id for s in scheduler.engine.tasks()} == set(wf.tasks)


def _fork(count: int, runtime_s: float) -> Any:
    doc = {
        "name": "fork",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {
                "tasks": [
                    {"name": "t", "id": f"t{i}", "parents": [], "children": []}
                    for i in range(count)
                ],
                "files": [],
            },
            "execution": {
                "tasks": [{"id": f"t{i}", "runtimeInSeconds": runtime_s} for i in range(count)]
            },
        },
    }
    return parse_wfformat(doc, {})


def _fork_end_s(rate: Callable[[float], float], work_s: float) -> float:
    """Independent integration of a task's progress over the load's steps."""
    left, t = work_s, 0.0
    while True:
        step_end = (int(t / LOAD_STEP_S) + 1) * LOAD_STEP_S
        if left <= rate(t) * (step_end - t):
            return t + left / rate(t)
        left -= rate(t) * (step_end - t)
        t = step_end


def test_a_full_node_shares_its_cores_with_the_background() -> None:
    world = build_continuum(0, "mild")
    idx = max(range(len(world.nodes)), key=lambda i: world.background(i, 0.0))
    node = world.nodes[idx]
    result = simulate(_fork(node.cores, 300.0), world, _Fixed(idx))
    # Every task progresses at speed * c / (b(t) * c + c).
    expected = _fork_end_s(lambda t: node.speed / (1.0 + world.background(idx, t)), 300.0)
    assert result.makespan_s == pytest.approx(expected, rel=1e-6)
    assert {round(r.end_s, 6) for r in result.tasks.values()} == {round(expected, 6)}


def test_held_cores_are_not_shared_with_the_tasks() -> None:
    world = build_continuum(0, "shared")
    # The node whose held load takes most of it at the start.
    idx = max(range(len(world.nodes)), key=lambda i: world.held(i, 0.0))
    node = world.nodes[idx]
    assert world.held(idx, 0.0) > 0.5
    result = simulate(_fork(node.cores, 60.0), world, _Fixed(idx))

    def rate(t: float) -> float:
        held = world.held(idx, t)
        shared = world.background(idx, t) - held
        # The tasks and the time-shared load split what the held load leaves.
        return node.speed * min(1.0, (1.0 - held) * node.cores / (shared * node.cores + node.cores))

    expected = _fork_end_s(rate, 60.0)
    assert result.makespan_s == pytest.approx(expected, rel=1e-6)
    # Far slower than processor sharing with the same total load would be.
    shared_alike = _fork_end_s(lambda t: node.speed / (1.0 + world.background(idx, t)), 60.0)
    assert result.makespan_s > 1.5 * shared_alike


def test_processor_share_of_held_and_time_shared_load() -> None:
    from bench.sim._sim import processor_share as _share

    assert _share(48.0, 46.0, 2) == 1.0
    assert _share(48.0, 46.0, 10) == pytest.approx(48.0 / 56.0)
    # The same 46 cores held (steal) leave two usable cores for everything.
    assert _share(2.0, 0.0, 4) == pytest.approx(0.5)
    # 4 cores, 3 held, half a core of time-shared load: one task gets 1 / 1.5 of a core.
    assert _share(1.0, 0.5, 1) == pytest.approx(1.0 / 1.5)
