"""The ranking model: which nodes can run a task, and how well (pure, no I/O).

Filter, then score, like kube-scheduler, but on measured load (docs/contracts.md §3.6)::

    import time
    from scheduler_api.ranking import Capacity, NodeSnapshot, NodeTable, TaskRequirements, rank

    node = NodeSnapshot("edge-01", Capacity(4, 8 << 30), last_seen_s=time.time())
    table = NodeTable.build([node])
    ranking = rank(TaskRequirements(cpu_cores=2, memory_bytes=1 << 30), table, now_s=time.time())
    for entry in ranking.ranked:
        print(entry.node.id, round(entry.score, 3), dict(entry.components))
    for node in ranking.rejected:
        print(node.node_id, node.reasons)
"""

from __future__ import annotations

from scheduler_api.ranking._constraints import (
    Constraint,
    Fit,
    NodeFit,
    explain_unmet,
    hard_constraints,
    meets,
    unmet,
)
from scheduler_api.ranking._energy import MIN_FIT_SAMPLES, node_busy_watts, plan_joules
from scheduler_api.ranking._formulas import (
    balanced_allocation,
    least_allocated,
    load_variation_risk,
)
from scheduler_api.ranking._model import (
    Capacity,
    DatasetLocation,
    Labels,
    LinkCost,
    Network,
    NodeLinks,
    NodeSnapshot,
    PowerModel,
    Pressure,
    RankedNode,
    Ranking,
    RejectedNode,
    Reservation,
    TaskRequirements,
    Usage,
    Weights,
)
from scheduler_api.ranking._rank import DEFAULT_STALE_AFTER_S, rank
from scheduler_api.ranking._table import NodeTable

__all__ = [
    "DEFAULT_STALE_AFTER_S",
    "MIN_FIT_SAMPLES",
    "Capacity",
    "Constraint",
    "DatasetLocation",
    "Fit",
    "Labels",
    "LinkCost",
    "Network",
    "NodeFit",
    "NodeLinks",
    "NodeSnapshot",
    "NodeTable",
    "PowerModel",
    "Pressure",
    "RankedNode",
    "Ranking",
    "RejectedNode",
    "Reservation",
    "TaskRequirements",
    "Usage",
    "Weights",
    "balanced_allocation",
    "explain_unmet",
    "hard_constraints",
    "least_allocated",
    "load_variation_risk",
    "meets",
    "node_busy_watts",
    "plan_joules",
    "rank",
    "unmet",
]
