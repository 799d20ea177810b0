"""One-shot planning: nodes and a graph in, a full static plan out.

result = plan(tasks, nodes, EngineConfig(heuristic=Heuristic.HEFT))
result.makespan_s, result.assignments["sum"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scheduler_api.placement._engine import EngineConfig, NodeRanker, PlacementEngine
from scheduler_api.placement._types import (
    Abandon,
    Decision,
    GraphSubmitted,
    NodeInfo,
    NodeSnapshot,
    Place,
    Replace,
    TaskSpec,
)

__all__ = ["Plan", "plan"]


@dataclass(frozen=True, slots=True)
class Plan:
    """A static plan for a graph.

    Attributes:
        decisions: ``Place`` decisions in planning order.
        assignments: Task id -> its ``Place``.
        unplaced: Tasks no node can run (their constraints match no node, or no node
            finishes them by their deadline), and their descendants.
        makespan_s: Latest estimated finish, measured from ``at_s``.
        reasons: Why the engine gave a task up (a deadline no node meets, an abandoned
            parent); tasks whose constraints no node meets are parked, not given up, so they
            have none here.
    """

    decisions: tuple[Decision, ...]
    assignments: dict[str, Place]
    unplaced: tuple[str, ...]
    makespan_s: float
    reasons: dict[str, str] = field(default_factory=dict)


def plan(
    tasks: Sequence[TaskSpec],
    nodes: Sequence[NodeInfo],
    config: EngineConfig | None = None,
    ranker: NodeRanker | None = None,
    at_s: float = 0.0,
) -> Plan:
    """Plan ``tasks`` on ``nodes`` at once (``plan`` mode, whatever ``config.mode`` says).

    Raises:
        InvalidGraphError: Duplicate ids, unknown parents or a cycle.
    """
    base = config or EngineConfig()
    engine = PlacementEngine(replace(base, mode="plan", replan_on_snapshot=False), ranker)
    for node in nodes:
        engine.handle(NodeSnapshot(node, at_s=at_s))
    decisions = engine.handle(GraphSubmitted(tuple(tasks), at_s=at_s))
    assignments: dict[str, Place] = {}
    reasons: dict[str, str] = {}
    for decision in decisions:
        if isinstance(decision, Place):
            assignments[decision.task_id] = decision
        elif isinstance(decision, Abandon):
            reasons[decision.task_id] = decision.reason
        elif isinstance(decision, Replace):  # pragma: no cover - not in one-shot plans
            raise AssertionError(f"unexpected {decision!r} in a one-shot plan")
    unplaced = tuple(spec.task_id for spec in tasks if spec.task_id not in assignments)
    makespan = max((p.est_finish_s for p in assignments.values()), default=at_s) - at_s
    return Plan(tuple(decisions), assignments, unplaced, makespan, reasons)
