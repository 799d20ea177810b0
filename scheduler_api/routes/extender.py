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


@router.post("/extender/filter", summary="Extender filter verb (ExtenderFilterResult)")
def extender_filter(ctx: Context, view: View, args: ExtenderArgs) -> ExtenderFilterResult:
    names = candidate_names(args.Nodes, args.NodeNames)
    try:
        ranking = _rank(ctx, view, args)
    except (QuantityError, AttributeError, TypeError) as err:
        # The protocol reports errors in the body; kube-scheduler then treats the pod as failed.
        return ExtenderFilterResult(Error=f"cannot read the pod's requirements: {err}")
    passed, failed = filter_nodes(names, ranking)
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
