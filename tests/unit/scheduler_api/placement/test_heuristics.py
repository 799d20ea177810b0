"""Ready-queue orderings on hand-checked graphs, and the HEFT paper's reference example."""

from __future__ import annotations

import heapq

import pytest

from scheduler_api.placement import (
    Decision,
    EngineConfig,
    GraphSubmitted,
    Heuristic,
    InvalidGraphError,
    NodeInfo,
    NodeSnapshot,
    Place,
    PlacementEngine,
    TaskFinished,
    TaskSpec,
    TaskStarted,
    plan,
)
from scheduler_api.placement._heuristics import priority, topological_order

ONE_LANE = [NodeInfo("solo", cpu_cores=1, latency_s=0.0)]


def _order(tasks: list[TaskSpec], heuristic: Heuristic) -> list[str]:
    """Placement order on one single-core node without insertion: the ready-queue order."""
    result = plan(tasks, ONE_LANE, EngineConfig(heuristic=heuristic, insertion=False))
    return [d.task_id for d in result.decisions if isinstance(d, Place)]


# a(3) -> d -> g, a -> e, c(2) -> f, b(1); every other task takes 1 s.
TIMES = [
    TaskSpec("a", work_s=3),
    TaskSpec("b", work_s=1),
    TaskSpec("c", work_s=2),
    TaskSpec("d", depends_on={"a": 0}),
    TaskSpec("e", depends_on={"a": 0}),
    TaskSpec("f", depends_on={"c": 0}),
    TaskSpec("g", depends_on={"d": 0}),
]

# a -> d -> g -> k, a -> e -> h; b -> x, y, z. a has 2 direct and 5 total successors,
# b has 3 direct and 3 total: LNSNL starts with b, LNS with a.
SHAPES = [
    TaskSpec("a"),
    TaskSpec("b"),
    TaskSpec("d", depends_on={"a": 0}),
    TaskSpec("e", depends_on={"a": 0}),
    TaskSpec("x", depends_on={"b": 0}),
    TaskSpec("y", depends_on={"b": 0}),
    TaskSpec("z", depends_on={"b": 0}),
    TaskSpec("g", depends_on={"d": 0}),
    TaskSpec("h", depends_on={"e": 0}),
    TaskSpec("k", depends_on={"g": 0}),
]


@pytest.mark.parametrize(
    ("heuristic", "tasks", "expected"),
    [
        (Heuristic.SPT, TIMES, ["b", "c", "f", "a", "d", "e", "g"]),
        (Heuristic.LPT, TIMES, ["a", "c", "b", "d", "e", "f", "g"]),
        (Heuristic.LNSNL, SHAPES, ["b", "a", "d", "e", "g", "x", "y", "z", "h", "k"]),
        (Heuristic.LNS, SHAPES, ["a", "b", "d", "e", "g", "x", "y", "z", "h", "k"]),
    ],
)
def test_ready_queue_order(
    heuristic: Heuristic, tasks: list[TaskSpec], expected: list[str]
) -> None:
    assert _order(tasks, heuristic) == expected


def test_lns_counts_shared_descendants_once() -> None:
    # Diamond: a -> b, a -> c, b -> d, c -> d: a has 3 descendants, not 4.
    tasks = {
        "a": TaskSpec("a"),
        "b": TaskSpec("b", depends_on={"a": 0}),
        "c": TaskSpec("c", depends_on={"a": 0}),
        "d": TaskSpec("d", depends_on={"b": 0, "c": 0}),
    }
    children = {"a": ["b", "c"], "b": ["d"], "c": ["d"]}
    order = topological_order(tasks, children)
    counts = priority(Heuristic.LNS, tasks, order, children, lambda s: s.work_s, float)
    assert counts == {"a": 3.0, "b": 1.0, "c": 1.0, "d": 0.0}


def test_topological_order_names_the_cycle() -> None:
    tasks = {
        "a": TaskSpec("a", depends_on={"c": 0}),
        "b": TaskSpec("b", depends_on={"a": 0}),
        "c": TaskSpec("c", depends_on={"b": 0}),
        "free": TaskSpec("free"),
    }
    children = {"c": ["a"], "a": ["b"], "b": ["c"]}
    with pytest.raises(ValueError, match="cycle through: a, b, c"):
        topological_order(tasks, children)
    with pytest.raises(InvalidGraphError, match="cycle"):
        plan(list(tasks.values()), ONE_LANE)


# Topcuoglu, Hariri and Wu, "Performance-effective and low-complexity task scheduling for
# heterogeneous computing", IEEE TPDS 13(3), 2002: Fig. 2 graph, computation costs on P1..P3.
HEFT_COSTS = {
    1: (14, 16, 9),
    2: (13, 19, 18),
    3: (11, 13, 19),
    4: (13, 8, 17),
    5: (12, 13, 10),
    6: (13, 16, 9),
    7: (7, 15, 11),
    8: (5, 11, 14),
    9: (18, 12, 20),
    10: (21, 7, 16),
}
HEFT_EDGES = {
    (1, 2): 18,
    (1, 3): 12,
    (1, 4): 9,
    (1, 5): 11,
    (1, 6): 14,
    (2, 8): 19,
    (2, 9): 16,
    (3, 7): 23,
    (4, 8): 27,
    (4, 9): 23,
    (5, 9): 13,
    (6, 8): 15,
    (7, 10): 17,
    (8, 10): 11,
    (9, 10): 13,
}
# Communication cost = bytes when bandwidth is 1 byte/s and there is no latency.
HEFT_NODES = [NodeInfo(f"P{i}", bandwidth_bytes_per_s=1.0, latency_s=0.0) for i in (1, 2, 3)]


def _heft_tasks() -> list[TaskSpec]:
    return [
        TaskSpec(
            f"n{task}",
            cost_s={f"P{p + 1}": float(cost) for p, cost in enumerate(costs)},
            depends_on={f"n{a}": size for (a, b), size in HEFT_EDGES.items() if b == task},
        )
        for task, costs in HEFT_COSTS.items()
    ]


def test_heft_upward_ranks_match_the_paper() -> None:
    tasks = {spec.task_id: spec for spec in _heft_tasks()}
    children: dict[str, list[str]] = {}
    for spec in tasks.values():
        for parent in spec.depends_on:
            children.setdefault(parent, []).append(spec.task_id)
    order = topological_order(tasks, children)
    ranks = priority(
        Heuristic.HEFT,
        tasks,
        order,
        children,
        lambda spec: sum(spec.cost_s.values()) / 3,
        float,
    )
    paper = {1: 108.0, 2: 77.0, 3: 80.0, 4: 80.0, 5: 69.0, 6: 63.333, 7: 42.667}
    paper |= {8: 35.667, 9: 44.333, 10: 14.667}
    assert ranks == pytest.approx({f"n{t}": r for t, r in paper.items()}, abs=1e-3)


# The paper's Fig. 4(a) schedule: node, start, finish.
HEFT_SCHEDULE = {
    "n1": ("P3", 0.0, 9.0),
    "n2": ("P1", 27.0, 40.0),
    "n3": ("P3", 9.0, 28.0),
    "n4": ("P2", 18.0, 26.0),
    "n5": ("P3", 28.0, 38.0),
    "n6": ("P2", 26.0, 42.0),
    "n7": ("P3", 38.0, 49.0),
    "n8": ("P1", 57.0, 62.0),
    "n9": ("P2", 56.0, 68.0),
    "n10": ("P2", 73.0, 80.0),
}


def _replayed(config: EngineConfig) -> dict[str, tuple[str, float, float]]:
    """The whole graph submitted at once; an executor that runs every task as estimated."""
    engine = PlacementEngine(config)
    for node in HEFT_NODES:
        engine.handle(NodeSnapshot(node, at_s=0.0))
    due: list[tuple[float, str, str, float]] = []

    def follow(decisions: list[Decision]) -> None:
        for d in decisions:
            assert isinstance(d, Place)
            heapq.heappush(due, (d.est_finish_s, d.task_id, d.node_id, d.est_start_s))

    follow(engine.handle(GraphSubmitted(tuple(_heft_tasks()), at_s=0.0)))
    schedule: dict[str, tuple[str, float, float]] = {}
    while due:
        finish, task_id, node_id, start = heapq.heappop(due)
        engine.handle(TaskStarted(task_id, node_id, at_s=start))
        schedule[task_id] = (node_id, start, finish)
        follow(engine.handle(TaskFinished(task_id, node_id, at_s=finish)))
    return schedule


def test_heft_topcuoglu_example() -> None:
    # Planned at once (static list scheduling, as in the paper).
    result = plan(_heft_tasks(), HEFT_NODES, EngineConfig(heuristic=Heuristic.HEFT))
    assert result.makespan_s == pytest.approx(80.0)
    schedule = {
        task_id: (p.node_id, p.est_start_s, p.est_finish_s)
        for task_id, p in result.assignments.items()
    }
    assert schedule == HEFT_SCHEDULE
    # As the product runs it: the whole graph known from submission, each task placed once its
    # parents finished (ready mode), so the upward ranks still look ahead: the same schedule.
    assert _replayed(EngineConfig(heuristic=Heuristic.HEFT, mode="ready")) == HEFT_SCHEDULE


# a(2) -> b(5), c(3): the longest ready task is c, the longest path starts at a.
CHAIN = [
    TaskSpec("a", work_s=2),
    TaskSpec("b", work_s=5, depends_on={"a": 0}),
    TaskSpec("c", work_s=3),
]


def test_heft_looks_ahead_where_lpt_does_not() -> None:
    assert _order(CHAIN, Heuristic.LPT) == ["c", "a", "b"]
    # Upward ranks: a = 2 + 5 = 7 > c = 3, then b = 5 > c.
    assert _order(CHAIN, Heuristic.HEFT) == ["a", "b", "c"]
