"""The placement engine: a pure state machine that places workflow tasks on monitored nodes.

Events go in, decisions come out; there is no I/O and no clock (every event carries its time
``at_s``, in any consistent unit, seconds by convention). The same engine runs behind
``POST /v1/placements``, in ``continuum run``, in the simulator and under tests::

    from scheduler_api.placement import (
        EngineConfig, GraphSubmitted, Heuristic, NodeInfo, NodeSnapshot, PlacementEngine,
        TaskFinished, TaskSpec, TaskStarted,
    )

    engine = PlacementEngine(EngineConfig(heuristic=Heuristic.LPT))
    engine.handle(NodeSnapshot(NodeInfo("edge-1", cpu_cores=2, speed=0.5), at_s=0.0))
    engine.handle(NodeSnapshot(NodeInfo("cloud-1", cpu_cores=8, speed=2.0), at_s=0.0))
    decisions = engine.handle(GraphSubmitted((
        TaskSpec("square-1", work_s=2.0),
        TaskSpec("square-2", work_s=2.0),
        TaskSpec("sum", work_s=0.1, depends_on={"square-1": 8, "square-2": 8}),
    ), at_s=0.0))
    # -> [Place(decision_id=1, task_id="square-1", node_id="cloud-1", est_start_s=0.0, ...), ...]
    engine.handle(TaskStarted("square-1", "cloud-1", at_s=0.1))
    engine.handle(TaskFinished("square-1", "cloud-1", at_s=1.2))
    engine.validate_state()

Events (``handle(event) -> list[Decision]``):
    * ``NodeSnapshot(NodeInfo)``: a node appears, or its measured speed, load, capacity, link or
      health change. An unhealthy node gets no new work; tasks planned (not running) there are
      re-placed. A failed node that reports again rejoins. Parked tasks are retried.
    * ``GraphSubmitted(tasks)``: new tasks (one ready task or a whole graph); parents may be
      earlier tasks. Malformed graphs raise ``InvalidGraphError`` and change nothing.
    * ``TaskStarted`` / ``TaskFinished`` / ``TaskFailed``: what the executor saw. A finished
      task's output lives on the node it finished on. A failed task is re-placed (preferring
      another node) until ``max_attempts`` runs, then abandoned with all its descendants.
    * ``NodeFailed``: every unfinished task on the node is re-placed; running ones count an
      attempt.
    Events that do not fit the state (unknown ids, duplicates) are skipped and counted in
    ``ignored_events``.

Decisions, each with an increasing ``decision_id`` and the ``cause`` (the event's ``event_id``,
or its kind):
    * ``Place(task, node, est_start_s, est_finish_s, attempt)``
    * ``Replace(task, from_node, node, ..., reason)``: moved after a failure, a cordon, or
      because a parent moved (``plan`` mode re-plans the planned descendants of a moved task).
    * ``Abandon(task, reason)``.
    A task no live node can run is *parked* (no decision) until a node that can appears;
    ``parked()`` lists them.

Modes (``EngineConfig.mode``): ``plan`` places each task once its parents are placed, so a
submitted graph is planned at once (static list scheduling, as HEFT); ``ready`` places a task
only when its parents have finished (dynamic list scheduling, using real finish times).

How a node is chosen, for the task at the head of the ready queue (ordered by
``EngineConfig.heuristic``: ``spt``, ``lpt``, ``lnsnl``, ``lns`` or ``heft`` upward rank):

1. The ranker (by default hard constraints only; ``ModelRanker`` wraps the API's ranking
   model) gives the feasible live nodes and their scores, cached per requirements until
   a node changes.
2. Run time on node n: ``TaskSpec.cost_s[n]`` if given, else
   ``work_s / (speed_n * max(0.1, 1 - cpu_utilization_n))``.
3. Inputs ready on n: for each parent, its (estimated or real) finish plus the transfer of the
   edge's bytes from the parent's node (``latency_a + latency_b + bytes / min(bw_a, bw_b)``, 0 on
   the same node; between sites whose nodes report an uplink, both uplinks add their latency
   and may set the rate); for each dataset, the cheapest copy, or a download over n's link
   (and the uplinks, from a store in another site). With ``book_transfers`` the engine books
   the transfers its placements imply on the links they cross, later estimates queue behind
   them, and a dataset (or a parent's output) booked onto n is read there.
4. Start: the earliest time inputs are ready and ``cpu_cores`` lanes of n are free, filling idle
   gaps when ``insertion`` is on (single-core tasks); finish = start + run time.
5. The node with the earliest ``finish + score_weight_s * (1 - score)`` wins; ties go to the
   better score, then to the node seen first. ``joule_weight_s`` adds that many seconds per
   estimated joule the task adds there (``NodeInfo.busy_watts * cores / capacity * run``);
   ``minimize_energy`` keeps only the nodes adding the fewest joules (of those meeting the
   task's deadline, when any does), so time decides only among them.

Estimates are vectorised over nodes with numpy; insertion gaps are searched only on nodes whose
lower bound can beat the best append, so planning stays fast on thousands of nodes
(``speed.measure`` and ``continuum bench placement --mode speed``).

Exceptions:
    ValueError
    └── InvalidGraphError: duplicate task id, unknown parent, or cycle in a submission.
"""

from scheduler_api.placement._engine import (
    EngineConfig,
    InvalidGraphError,
    NodeRanker,
    PlacementEngine,
    TaskState,
    TaskStatus,
    feasibility_ranker,
)
from scheduler_api.placement._plan import Plan, plan
from scheduler_api.placement._policy import PlacementPolicy, PolicyConfig, fair_share
from scheduler_api.placement._ranking import (
    ModelRanker,
    snapshot_from_node_info,
)
from scheduler_api.placement._types import (
    Abandon,
    DataInput,
    Decision,
    Event,
    GraphSubmitted,
    Heuristic,
    NodeFailed,
    NodeInfo,
    NodeSnapshot,
    Place,
    Replace,
    Requirements,
    TaskFailed,
    TaskFinished,
    TaskSpec,
    TaskStarted,
)

__all__ = [
    "Abandon",
    "DataInput",
    "Decision",
    "EngineConfig",
    "Event",
    "GraphSubmitted",
    "Heuristic",
    "InvalidGraphError",
    "ModelRanker",
    "NodeFailed",
    "NodeInfo",
    "NodeRanker",
    "NodeSnapshot",
    "Place",
    "PlacementEngine",
    "PlacementPolicy",
    "Plan",
    "PolicyConfig",
    "Replace",
    "Requirements",
    "TaskFailed",
    "TaskFinished",
    "TaskSpec",
    "TaskStarted",
    "TaskState",
    "TaskStatus",
    "fair_share",
    "feasibility_ranker",
    "plan",
    "snapshot_from_node_info",
]
