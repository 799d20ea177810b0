"""The hard constraints are defined once: the ranking, the engine and the workflow check agree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler_api.placement import NodeInfo, PlacementEngine
from scheduler_api.ranking import (
    Capacity,
    NodeFit,
    NodeSnapshot,
    Reservation,
    TaskRequirements,
    Usage,
    explain_unmet,
    meets,
    rank,
    unmet,
)
from scheduler_api.workflow._graph import explain_unsatisfiable

NOW_S = 1_000_000.0
GIB = 1 << 30

_CHOICES = st.sampled_from(["a", "b"])
requirements = st.builds(
    TaskRequirements,
    cpu_cores=st.sampled_from([0.5, 1.0, 2.0, 3.5, 8.0]),
    memory_bytes=st.sampled_from([0, GIB, 4 * GIB]),
    gpus=st.sampled_from([0, 1, 2]),
    arch=st.none() | _CHOICES,
    tier=st.none() | _CHOICES,
    site=st.none() | _CHOICES,
    labels=st.dictionaries(st.sampled_from(["disk", "zone"]), _CHOICES, max_size=2),
    # Free cores are the ranking's own, load-dependent check: leave them out here.
    allow_oversubscribe=st.just(True),
)
snapshots = st.builds(
    lambda cores, memory_gib, gpus, arch, tier, site, labels: NodeSnapshot(
        "n",
        Capacity(cores, 16 * GIB, gpus),
        usage=Usage(cpu_utilization=0.0, memory_available_bytes=memory_gib * GIB),
        last_seen_s=NOW_S,
        arch=arch,
        tier=tier,
        site=site,
        labels=labels,
    ),
    cores=st.sampled_from([1, 2, 4, 8]),
    memory_gib=st.sampled_from([0.5, 2, 8]),
    gpus=st.sampled_from([0, 1, 2]),
    arch=_CHOICES,
    tier=_CHOICES,
    site=_CHOICES,
    labels=st.dictionaries(st.sampled_from(["disk", "zone"]), _CHOICES, max_size=2),
)


def _fit(node: NodeSnapshot) -> NodeFit:
    return NodeFit(
        node.id,
        cpu_cores=node.capacity.cpu_cores,
        memory_free_bytes=node.usage.memory_available_bytes,
        gpus_free=node.capacity.gpus,
        arch=node.arch,
        tier=node.tier,
        site=node.site,
        labels=node.labels,
    )


@settings(max_examples=300, deadline=None)
@given(req=requirements, node=snapshots)
def test_the_rankings_vectorised_filter_is_the_hard_constraints(
    req: TaskRequirements, node: NodeSnapshot
) -> None:
    ranking = rank(req, [node], now_s=NOW_S)
    feasible = bool(ranking.ranked)
    assert feasible == meets(_fit(node), req)
    if not feasible:
        assert ranking.rejected[0].reasons == unmet(_fit(node), req)


@settings(max_examples=200, deadline=None)
@given(req=requirements, node=snapshots)
def test_the_engine_parks_exactly_what_the_constraints_reject(
    req: TaskRequirements, node: NodeSnapshot
) -> None:
    info = NodeInfo(
        "n",
        cpu_cores=int(node.capacity.cpu_cores),
        memory_bytes=int(node.capacity.memory_bytes),
        gpus=node.capacity.gpus,
        tier=node.tier,
        site=node.site,
        arch=node.arch,
        labels=node.labels,
        memory_available_bytes=int(node.usage.memory_available_bytes),
    )
    assert meets(info, req) == meets(_fit(node), req)
    why = explain_unsatisfiable(req, [info])
    assert (why is None) == meets(info, req)


def test_the_workflow_check_names_each_constraint_no_node_meets() -> None:
    fits = [
        NodeFit("small", cpu_cores=2, memory_free_bytes=GIB, gpus_free=0, tier="edge"),
        NodeFit("big", cpu_cores=8, memory_free_bytes=4 * GIB, gpus_free=0, tier="cloud"),
    ]
    why = explain_unmet(TaskRequirements(cpu_cores=16, gpus=1, tier="cloud"), fits)
    assert why == "cpu_cores=16 (largest node has 8); gpu=1 (most on a node is 0)"
    # Each constraint is met somewhere, never together.
    apart = explain_unmet(TaskRequirements(cpu_cores=4, tier="edge"), fits)
    assert apart == "no single node meets all constraints together"
    assert explain_unmet(TaskRequirements(), []) == "no healthy node is known"


def test_a_parked_task_runs_once_a_node_meets_its_constraints() -> None:
    from scheduler_api.placement import GraphSubmitted, Place, TaskSpec
    from scheduler_api.placement import NodeSnapshot as Seen

    engine = PlacementEngine()
    engine.handle(Seen(NodeInfo("edge", cpu_cores=2, tier="edge"), at_s=0.0))
    spec = TaskSpec("t", work_s=1.0, requirements=TaskRequirements(cpu_cores=4, tier="hpc"))
    assert not [d for d in engine.handle(GraphSubmitted((spec,), at_s=0.0)) if isinstance(d, Place)]
    decisions = engine.handle(Seen(NodeInfo("hpc", cpu_cores=8, tier="hpc"), at_s=1.0))
    assert [(d.task_id, d.node_id) for d in decisions if isinstance(d, Place)] == [("t", "hpc")]


loads = st.builds(
    lambda cores, busy, memory_gib, util5m, disk_gib: NodeSnapshot(
        "n",
        Capacity(cores, 16 * GIB, 1),
        usage=Usage(
            cpu_utilization=busy,
            cpu_utilization_avg5m=util5m,
            memory_available_bytes=memory_gib * GIB,
            disk_available_bytes=disk_gib * GIB,
        ),
        last_seen_s=NOW_S,
    ),
    cores=st.sampled_from([1, 2, 4, 8]),
    busy=st.floats(0.0, 1.0),
    memory_gib=st.sampled_from([0.5, 2, 8]),
    util5m=st.floats(0.0, 1.0),
    disk_gib=st.sampled_from([0.1, 1, 50]),
)
load_requirements = st.builds(
    TaskRequirements,
    cpu_cores=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
    memory_bytes=st.sampled_from([0, GIB, 4 * GIB]),
    gpus=st.sampled_from([0, 1]),
    disk_bytes=st.sampled_from([0, GIB, 10 * GIB]),
    max_utilization=st.none() | st.sampled_from([0.5, 0.9]),
    allow_oversubscribe=st.booleans(),
)
reservations = st.builds(
    Reservation,
    cpu_cores=st.sampled_from([0.0, 1.0, 3.0]),
    memory_bytes=st.sampled_from([0.0, GIB, 9.0 * GIB]),
    gpus=st.sampled_from([0, 1]),
)


@settings(max_examples=300, deadline=None)
@given(req=load_requirements, node=loads, pending=reservations)
def test_no_node_is_feasible_with_negative_free_capacity_unless_the_option_says_so(
    req: TaskRequirements, node: NodeSnapshot, pending: Reservation
) -> None:
    ranking = rank(req, [node], now_s=NOW_S, pending={"n": pending})
    for entry in ranking.ranked:
        assert entry.memory_free_bytes_after >= 0
        if not req.allow_oversubscribe:
            assert entry.cpu_free_cores_after >= -1e-6
        if req.max_utilization is not None:
            assert node.usage.cpu_utilization_avg5m <= req.max_utilization
        assert node.usage.disk_available_bytes >= req.disk_bytes
    for rejected in ranking.rejected:
        assert rejected.reasons  # every rejection says why
    # The explanation says which options relaxed or tightened the constraints.
    explained = " ".join(ranking.constraints)
    assert ("allow_oversubscribe" in explained) == req.allow_oversubscribe
    assert ("max_utilization" in explained) == (req.max_utilization is not None)
