"""``POST /v1/placements``: a workflow graph in, a placement plan out; and placement history.

The app factory mounts this router under ``/v1`` behind the ``schedule`` scope. Plans come from
the same placement engine as ``continuum run``, scoring nodes with the same ranking model as
``POST /v1/rankings``; each plan and every state its tasks go through is stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from scheduler_api._datasets import StorageKind
from scheduler_api._deps import Context, View
from scheduler_api._errors import ApiError, error_response
from scheduler_api.placement import (
    DataInput,
    Heuristic,
    InvalidGraphError,
    NodeInfo,
    PlacementPolicy,
    PolicyConfig,
    Requirements,
    TaskSpec,
    plan,
)
from scheduler_api.ranking import DatasetLocation, NodeSnapshot, plan_joules
from scheduler_api.workflow import (
    CostEstimate,
    PlacementHistory,
    PlanRecord,
    TaskCosts,
    estimate_work,
)
from scheduler_api.workflow._graph import explain_unsatisfiable

__all__ = ["router"]

router = APIRouter(tags=["placements"])

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,252}$"
_MAX_TASKS = 100_000


class DatasetInput(BaseModel):
    """A dataset a task reads; size and replicas come from the catalogue when not given."""

    id: str = Field(pattern=_ID)
    size_bytes: int | None = Field(None, ge=0)


class TaskIn(BaseModel):
    """One task of the graph."""

    id: str = Field(pattern=_ID)
    name: str = Field("", max_length=253)
    work_s: float | None = Field(
        None,
        ge=0,
        le=1e9,
        description="Run time on a reference node; left out, the cost learned from finished "
        "runs of tasks of this name, else 1 s.",
    )
    cpu_cores: int = Field(1, ge=1, le=1 << 16)
    memory_bytes: int = Field(0, ge=0, le=1 << 60)
    gpus: int = Field(0, ge=0, le=1 << 10)
    tier: str | None = Field(None, max_length=64)
    site: str | None = Field(None, max_length=253)
    arch: str | None = Field(None, max_length=64)
    labels: dict[str, str] = Field(default_factory=dict, max_length=64)
    disk_bytes: int = Field(
        0,
        ge=0,
        le=1 << 62,
        description="Free space its data needs on the node's data path, beyond the inputs it "
        "stages there (which count too).",
    )
    max_utilization: float | None = Field(
        None, gt=0, le=1, description="No node whose 5-minute mean CPU use is above this."
    )
    not_before_s: float | None = Field(
        None,
        ge=0,
        le=1e9,
        description="Seconds after the plan is made before which it may not start.",
    )
    deadline_s: float | None = Field(
        None,
        ge=0,
        le=1e9,
        description="Seconds after the plan is made by which it must "
        "finish; a task no node finishes in time is left unplaced with the reason.",
    )
    storage: StorageKind | None = Field(
        None, description="Prefer nodes holding its datasets in this kind of store."
    )
    depends_on: dict[str, Annotated[int, Field(ge=0, le=1 << 60)]] = Field(
        default_factory=dict,
        max_length=10_000,
        description="Parent task id -> bytes its output sends here.",
    )
    datasets: list[DatasetInput] = Field(default_factory=list, max_length=256)


class PlacementRequest(BaseModel):
    """A workflow graph to plan."""

    heuristic: Heuristic = Heuristic.HEFT
    insertion: bool = Field(True, description="Fill idle gaps (HEFT's insertion policy).")
    score_weight_s: float = Field(
        0.0, ge=0, description="Seconds of finish time worth one unit of ranking score."
    )
    minimize_energy: bool = Field(
        False,
        description="Place each task where it adds the fewest estimated joules (among the "
        "nodes meeting its deadline, when any does), the earliest finish breaking ties.",
    )
    joule_weight_s: float = Field(
        0.0,
        ge=0,
        le=1e6,
        description="Seconds of finish time worth one estimated joule: a weighted time and "
        "energy objective (0: time alone; ignored with minimize_energy).",
    )
    tasks: list[TaskIn] = Field(min_length=1, max_length=_MAX_TASKS)


class PlacedTask(BaseModel):
    id: str
    node: str
    est_start_s: float = Field(description="Seconds after the plan was made.")
    est_finish_s: float
    work_s: float = Field(description="The reference-node cost it was placed with.")
    work_source: str = Field(description="`declared`, `learned` (history) or `default`.")
    work_samples: int = Field(description="Finished runs a learned cost comes from.")
    cpu_s: float | None = Field(
        None, description="Learned CPU seconds on a reference node, when runs recorded them."
    )
    read_bytes: float | None = Field(None, description="Learned bytes read, when recorded.")
    written_bytes: float | None = Field(None, description="Learned bytes written, when recorded.")


class UnplacedTask(BaseModel):
    id: str
    reason: str


class PlanSummary(BaseModel):
    id: str
    created_at_s: float
    heuristic: str
    makespan_s: float
    task_count: int
    unplaced_count: int


class PlacementOut(PlanSummary):
    tasks: list[PlacedTask]
    unplaced: list[UnplacedTask]
    nodes_considered: int
    estimated_joules: float = Field(
        description="Energy the plan's tasks would add on their nodes, from each node's "
        "measured power line, measured power or rated label."
    )
    joules_unknown_tasks: int = Field(
        description="Placed tasks on nodes whose power is unknown, left out of the estimate."
    )


class TransitionIn(BaseModel):
    """What an executor saw happen to a placed task."""

    task_id: str = Field(pattern=_ID)
    state: Literal["placed", "started", "finished", "failed", "replaced", "abandoned"] = Field(
        description="`placed` adds a task to a run record; the rest need the task in it."
    )
    node: str = Field(max_length=253)
    at_s: float | None = Field(None, description="Unix time; default: when received.")
    detail: str = Field("", max_length=4096)
    est_start_s: float | None = Field(None, description="For `placed`/`replaced`: planned start.")
    est_finish_s: float | None = Field(None, description="For `placed`/`replaced`.")
    name: str = Field("", max_length=253, description="The task's name, that costs are learned by.")
    run_s: float | None = Field(
        None, ge=0, le=1e9, description="For `finished`/`failed`: seconds the attempt ran."
    )
    cpu_s: float | None = Field(None, ge=0, le=1e12, description="CPU seconds it used.")
    read_bytes: int | None = Field(None, ge=0, le=1 << 62, description="Bytes it read.")
    written_bytes: int | None = Field(None, ge=0, le=1 << 62, description="Bytes it wrote.")


class CostOut(BaseModel):
    """A task cost learned from finished runs."""

    name: str
    work_s: float = Field(description="Seconds on a reference node (relative speed 1.0).")
    source: str = Field(description="`learned`: from the placement history.")
    samples: int = Field(description="Finished runs it was learned from.")
    cpu_s: float | None = Field(description="CPU seconds on a reference node, when recorded.")
    read_bytes: float | None
    written_bytes: float | None


class CostsOut(BaseModel):
    costs: list[CostOut]


class RunIn(BaseModel):
    """A run placed by a client's own engine (``continuum run``), recorded as it goes."""

    heuristic: str = Field("heft", max_length=32)


class TransitionOut(BaseModel):
    task_id: str
    state: str
    node: str
    at_s: float
    est_start_s: float | None
    est_finish_s: float | None
    detail: str
    name: str = Field("", description="The task's name, that learned costs are keyed by.")
    run_s: float | None = Field(None, description="Seconds the attempt ran, when measured.")
    cpu_s: float | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None


class TaskStateOut(BaseModel):
    id: str
    state: str
    node: str
    est_start_s: float | None
    est_finish_s: float | None


class PlanDetail(PlanSummary):
    unplaced: dict[str, str]
    tasks: list[TaskStateOut]
    transitions: list[TransitionOut]


class PlanList(BaseModel):
    plans: list[PlanSummary]


def _history(request: Request, ctx: Context) -> PlacementHistory:
    # One per app, on the API's database (the same file as the dataset catalogue).
    history: PlacementHistory | None = getattr(request.app.state, "placement_history", None)
    if history is None:
        history = PlacementHistory(ctx.db)
        request.app.state.placement_history = history
    return history


def _estimates(
    body: PlacementRequest, history: PlacementHistory, view_nodes: Sequence[NodeSnapshot]
) -> dict[str, CostEstimate]:
    """Each task's cost: declared, else learned from finished runs of its name, else default."""
    costs = None
    if any(item.work_s is None and item.name for item in body.tasks):
        speeds = {node.id: node.relative_speed for node in view_nodes}
        costs = TaskCosts.learn(history.finished_runs(), speeds)
    return {item.id: estimate_work(item.name, item.work_s, costs) for item in body.tasks}


def _specs(
    body: PlacementRequest, ctx: Context, estimates: Mapping[str, CostEstimate]
) -> list[TaskSpec]:
    specs = []
    for item in body.tasks:
        inputs = []
        located = []
        for data in item.datasets:
            known = ctx.datasets.get(data.id)
            size = (
                data.size_bytes
                if data.size_bytes is not None
                else (known.size_bytes if known else 0)
            )
            inputs.append(DataInput(data.id, size, tuple(known.nodes) if known else ()))
            # The ranking model reads where each copy is held: free disk for what is staged,
            # the storage hint for the kind of store.
            located.append(
                DatasetLocation(data.id, size)
                if known is None
                else DatasetLocation(
                    data.id, size, known.nodes, known.sites, known.residency, known.storage
                )
            )
        specs.append(
            TaskSpec(
                task_id=item.id,
                work_s=estimates[item.id].work_s,
                requirements=Requirements(
                    cpu_cores=item.cpu_cores,
                    memory_bytes=item.memory_bytes,
                    gpus=item.gpus,
                    tier=item.tier,
                    site=item.site,
                    arch=item.arch,
                    labels=item.labels,
                    datasets=tuple(located),
                    disk_bytes=item.disk_bytes,
                    max_utilization=item.max_utilization,
                    storage=item.storage,
                ),
                depends_on=dict(item.depends_on),
                inputs=tuple(inputs),
                name=item.name,
                not_before_s=item.not_before_s,
                deadline_s=item.deadline_s,
            )
        )
    return specs


def _summary(record: PlanRecord) -> PlanSummary:
    return PlanSummary(
        id=record.plan_id,
        created_at_s=record.created_at_s,
        heuristic=record.heuristic,
        makespan_s=record.makespan_s,
        task_count=record.task_count,
        unplaced_count=len(record.unplaced),
    )


PlanId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Plan id.")]


@router.post(
    "/placements",
    summary="Plan a workflow graph on the current nodes",
    responses={422: error_response("The graph has a cycle, a duplicate or an unknown parent.")},
)
def create_placement(
    request: Request, ctx: Context, view: View, body: PlacementRequest
) -> PlacementOut:
    now_s = ctx.clock()
    policy = PlacementPolicy(
        PolicyConfig(
            heuristic=body.heuristic,
            score_weight_s=body.score_weight_s,
            minimize_energy=body.minimize_energy,
            joule_weight_s=body.joule_weight_s,
        ),
        ctx.weights,
        view.network,
    )
    pending = ctx.pending.totals(now_s=now_s)

    def engine_nodes(crowded: bool) -> list[NodeInfo]:
        nodes: list[NodeInfo] = []
        for snapshot in view.nodes:
            reserved = pending.get(snapshot.id)
            info = policy.node_info(
                snapshot,
                crowded=crowded,
                reserved_cores=0.0 if reserved is None else reserved.cpu_cores,
            )
            if now_s - snapshot.last_seen_s > ctx.settings.stale_after_s:
                # The ranker is told never to judge age; stale nodes get no work.
                info = dataclasses.replace(info, healthy=False)
            nodes.append(info)
        return nodes

    nodes = engine_nodes(crowded=False)
    # A graph is planned at once: when it holds more tasks than the fleet's free cores, every
    # usable core is offered, as for any caller with that much work waiting.
    if policy.crowded(len(body.tasks), {}):
        nodes = engine_nodes(crowded=True)
    history = _history(request, ctx)
    estimates = _estimates(body, history, view.nodes)
    try:
        specs = _specs(body, ctx, estimates)
    except ValueError as err:  # e.g. a task that depends on itself
        raise ApiError(422, f"invalid graph: {err}") from err
    # One plan of the whole graph now, with the policy's settings: plan mode.
    config = dataclasses.replace(policy.engine_config(), insertion=body.insertion)
    try:
        result = plan(specs, nodes, config, policy.ranker)
    except InvalidGraphError as err:
        raise ApiError(422, f"invalid graph: {err}") from err
    by_id = {spec.task_id: spec for spec in specs}
    unplaced = {}
    for task_id in result.unplaced:
        given_up = result.reasons.get(task_id)
        reason = explain_unsatisfiable(by_id[task_id].requirements, nodes)
        if given_up is not None:
            unplaced[task_id] = given_up
        else:
            unplaced[task_id] = (
                f"no node meets {reason}" if reason else "a parent could not be placed"
            )
    plan_id = history.record_plan(
        body.heuristic.value,
        result,
        now_s,
        unplaced,
        names={item.id: item.name for item in body.tasks},
        details={task_id: estimate.note() for task_id, estimate in estimates.items()},
    )
    joules, unknown = plan_joules(
        view.table,
        (
            (p.node_id, by_id[p.task_id].requirements.cpu_cores, p.est_finish_s - p.est_start_s)
            for p in result.assignments.values()
        ),
    )
    return PlacementOut(
        id=plan_id,
        created_at_s=now_s,
        heuristic=body.heuristic.value,
        makespan_s=result.makespan_s,
        task_count=len(specs),
        unplaced_count=len(unplaced),
        tasks=[
            PlacedTask(
                id=p.task_id,
                node=p.node_id,
                est_start_s=p.est_start_s,
                est_finish_s=p.est_finish_s,
                work_s=estimates[p.task_id].work_s,
                work_source=estimates[p.task_id].source,
                work_samples=estimates[p.task_id].samples,
                cpu_s=estimates[p.task_id].cpu_s,
                read_bytes=estimates[p.task_id].read_bytes,
                written_bytes=estimates[p.task_id].written_bytes,
            )
            for p in result.assignments.values()
        ],
        unplaced=[UnplacedTask(id=k, reason=v) for k, v in unplaced.items()],
        nodes_considered=sum(1 for n in nodes if n.healthy),
        estimated_joules=joules,
        joules_unknown_tasks=unknown,
    )


@router.post(
    "/placements/runs",
    summary="Open a history record for a run placed by a client (continuum run)",
    status_code=201,
)
def open_run(request: Request, ctx: Context, body: RunIn) -> PlanSummary:
    now_s = ctx.clock()
    plan_id = _history(request, ctx).open_run(body.heuristic, now_s)
    return PlanSummary(
        id=plan_id,
        created_at_s=now_s,
        heuristic=body.heuristic,
        makespan_s=0.0,
        task_count=0,
        unplaced_count=0,
    )


@router.get("/placements", summary="Placement history, newest first")
def list_placements(
    request: Request,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1 << 40)] = 0,
) -> PlanList:
    records = _history(request, ctx).list_plans(limit, offset)
    return PlanList(plans=[_summary(r) for r in records])


@router.get(
    "/placements/costs",
    summary="Task costs learned from finished runs, by task name",
    description="Each finished attempt's run time times the relative speed of the node it ran "
    "on is one sample of its task's reference cost; the cost is the median of the latest ones.",
)
def list_costs(
    request: Request,
    ctx: Context,
    view: View,
    samples: Annotated[int, Query(ge=1, le=100_000, description="Latest runs read.")] = 10_000,
) -> CostsOut:
    speeds = {snapshot.id: snapshot.relative_speed for snapshot in view.nodes}
    costs = TaskCosts.learn(_history(request, ctx).finished_runs(samples), speeds)
    return CostsOut(
        costs=[CostOut(**dataclasses.asdict(estimate)) for estimate in costs.estimates()]
    )


@router.get(
    "/placements/{plan_id}",
    summary="One plan: each task's latest state and every transition",
    responses={404: error_response("No plan with this id.")},
)
def get_placement(request: Request, ctx: Context, plan_id: PlanId) -> PlanDetail:
    record = _history(request, ctx).get(plan_id)
    if record is None:
        raise ApiError(404, f"no placement plan {plan_id!r}: see GET /v1/placements")
    return PlanDetail(
        **_summary(record).model_dump(),
        unplaced=record.unplaced,
        tasks=[
            TaskStateOut(
                id=t.task_id,
                state=t.state,
                node=t.node_id,
                est_start_s=t.est_start_s,
                est_finish_s=t.est_finish_s,
            )
            for t in record.tasks.values()
        ],
        transitions=[
            TransitionOut(
                task_id=t.task_id,
                state=t.state,
                node=t.node_id,
                at_s=t.at_s,
                est_start_s=t.est_start_s,
                est_finish_s=t.est_finish_s,
                detail=t.detail,
                name=t.name,
                run_s=t.run_s,
                cpu_s=t.cpu_s,
                read_bytes=t.read_bytes,
                written_bytes=t.written_bytes,
            )
            for t in record.transitions
        ],
    )


@router.post(
    "/placements/{plan_id}/transitions",
    summary="Record what happened to a placed task",
    status_code=204,
    responses={404: error_response("No such plan, or the task is not in it.")},
)
def add_transition(request: Request, ctx: Context, plan_id: PlanId, body: TransitionIn) -> None:
    at_s = ctx.clock() if body.at_s is None else body.at_s
    stored = _history(request, ctx).record_transition(
        plan_id,
        body.task_id,
        body.state,
        body.node,
        at_s,
        body.detail,
        body.est_start_s,
        body.est_finish_s,
        name=body.name,
        run_s=body.run_s,
        cpu_s=body.cpu_s,
        read_bytes=body.read_bytes,
        written_bytes=body.written_bytes,
    )
    if not stored:
        raise ApiError(404, f"task {body.task_id!r} is not in placement plan {plan_id!r}")
