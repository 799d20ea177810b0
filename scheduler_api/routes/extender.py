"""``POST /v1/extender/filter`` and ``/v1/extender/prioritize``: kube-scheduler extender verbs."""

from __future__ import annotations

from fastapi import APIRouter

from scheduler_api._deps import Context, View
from scheduler_api._errors import ERROR_RESPONSES
from scheduler_api._extender import (
    QuantityError,
    candidate_names,
    filter_nodes,
    pod_requirements,
    prioritize_nodes,
)
from scheduler_api._schemas import ExtenderArgs, ExtenderFilterResult, HostPriority
from scheduler_api._views import run_ranking
from scheduler_api.placement import PlacementPolicy, PolicyConfig
from scheduler_api.ranking import DatasetLocation, Ranking

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["kubernetes extender"], responses=ERROR_RESPONSES)


def _datasets(ctx: Context, pod: dict[str, object]) -> dict[str, DatasetLocation]:
    metadata = pod.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    wanted = annotations.get("continuum.io/datasets") if isinstance(annotations, dict) else None
    found: dict[str, DatasetLocation] = {}
    for name in str(wanted or "").split(","):
        record = ctx.datasets.get(name.strip()) if name.strip() else None
        if record is not None:
            found[record.id] = record.as_location()
    return found


def _rank(ctx: Context, view: View, args: ExtenderArgs) -> Ranking:
    requirements = pod_requirements(args.Pod, _datasets(ctx, args.Pod))
    return run_ranking(ctx, view, requirements, limit=None, rejected_limit=None, caller="extender")


def _policy_filter(
    ctx: Context, view: View, passed: list[str], failed: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Leave out the nodes the placement policy cordons, as it would for a workflow's task."""
    policy = PlacementPolicy(PolicyConfig(), ctx.weights, view.network)
    snapshots = {node.id: node for node in view.nodes}
    pending = ctx.pending.totals(now_s=ctx.clock())
    kept: list[str] = []
    failed = dict(failed)
    for name in passed:
        snapshot = snapshots.get(name)
        reserved = pending.get(name)
        reason = (
            None
            if snapshot is None
            else policy.cordon_reason(
                snapshot, reserved_cores=0.0 if reserved is None else reserved.cpu_cores
            )
        )
        if reason is None:
            kept.append(name)
        else:
            failed[name] = reason
    return kept, failed


@router.post("/extender/filter", summary="Extender filter verb (ExtenderFilterResult)")
def extender_filter(ctx: Context, view: View, args: ExtenderArgs) -> ExtenderFilterResult:
    names = candidate_names(args.Nodes, args.NodeNames)
    try:
        ranking = _rank(ctx, view, args)
    except (QuantityError, AttributeError, TypeError) as err:
        # The protocol reports errors in the body; kube-scheduler then treats the pod as failed.
        return ExtenderFilterResult(Error=f"cannot read the pod's requirements: {err}")
    passed, failed = filter_nodes(names, ranking)
    passed, failed = _policy_filter(ctx, view, passed, failed)
    if args.NodeNames is not None:
        return ExtenderFilterResult(NodeNames=passed, FailedNodes=failed)
    keep = set(passed)
    listed = (args.Nodes or {}).get("items")
    items = [
        item
        for item in (listed if isinstance(listed, list) else [])
        if isinstance(item, dict) and (item.get("metadata") or {}).get("name") in keep
    ]
    return ExtenderFilterResult(Nodes={**(args.Nodes or {}), "items": items}, FailedNodes=failed)


@router.post("/extender/prioritize", summary="Extender prioritize verb (HostPriorityList)")
def extender_prioritize(ctx: Context, view: View, args: ExtenderArgs) -> list[HostPriority]:
    names = candidate_names(args.Nodes, args.NodeNames)
    try:
        ranking = _rank(ctx, view, args)
    except (QuantityError, AttributeError, TypeError):
        return [HostPriority(Host=name, Score=0) for name in names]
    return [HostPriority(Host=h, Score=s) for h, s in prioritize_nodes(names, ranking)]
