"""What the routes answer, as plain functions of the context and the snapshot (no HTTP here).

out = rank_task(ctx, ctx.cluster.view(), RankingRequest(cpu_cores=2, memory_bytes=1 << 30))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from scheduler_api._cluster import ClusterView
from scheduler_api._context import ApiContext
from scheduler_api._errors import ApiError
from scheduler_api._schemas import (
    CapacityOut,
    LinksOut,
    NodeOut,
    PowerOut,
    PressureOut,
    RankingRequest,
    SnapshotInfo,
    UsageOut,
)
from scheduler_api.ranking import (
    Capacity,
    DatasetLocation,
    NodeLinks,
    NodeSnapshot,
    PowerModel,
    Pressure,
    Ranking,
    Reservation,
    TaskRequirements,
    Usage,
    rank,
)

__all__ = [
    "health_of",
    "node_out",
    "rank_task",
    "requirements_of",
    "run_ranking",
    "snapshot_info",
    "snapshot_of",
]


def snapshot_info(view: ClusterView, now_s: float) -> SnapshotInfo:
    """Age and degradation of the data behind an answer."""
    return SnapshotInfo(
        snapshot_age_s=round(view.age_s(now_s), 3),
        degraded=view.refresh_error is not None,
        warning=view.refresh_error,
    )


def health_of(
    node: NodeSnapshot, now_s: float, stale_after_s: float
) -> Literal["healthy", "stale", "unhealthy"]:
    if node.alerts:
        return "unhealthy"
    if now_s - node.last_seen_s > stale_after_s:
        return "stale"
    return "healthy"


def _usage(usage: Usage) -> UsageOut:
    return UsageOut(
        cpu_utilization=usage.cpu_utilization,
        cpu_utilization_avg5m=usage.cpu_utilization_avg5m,
        cpu_utilization_stddev5m=usage.cpu_utilization_stddev5m,
        cpu_utilization_max1m=usage.cpu_utilization_max1m,
        cpu_steal=usage.cpu_steal,
        disk_available_bytes=usage.disk_available_bytes,
        memory_available_bytes=usage.memory_available_bytes,
        memory_available_avg5m_bytes=usage.memory_available_avg5m_bytes,
        network_receive_bytes_per_s=usage.network_receive_bytes_per_s,
        network_transmit_bytes_per_s=usage.network_transmit_bytes_per_s,
    )


def _capacity(node: NodeSnapshot) -> CapacityOut:
    c = node.capacity
    return CapacityOut(cpu_cores=c.cpu_cores, memory_bytes=c.memory_bytes, gpus=c.gpus)


def node_out(node: NodeSnapshot, now_s: float, stale_after_s: float) -> NodeOut:
    """One node of the inventory, with health and freshness."""
    p = node.pressure
    return NodeOut(
        id=node.id,
        tier=node.tier,
        site=node.site,
        arch=node.arch,
        labels=dict(node.labels),
        capacity=_capacity(node),
        usage=_usage(node.usage),
        pressure=PressureOut(cpu=p.cpu, memory=p.memory, io=p.io),
        last_seen_s=node.last_seen_s,
        age_s=round(max(now_s - node.last_seen_s, 0.0), 3),
        health=health_of(node, now_s, stale_after_s),
        alerts=list(node.alerts),
        relative_speed=node.relative_speed,
        power_watts=node.power_watts,
        links=None if node.links is None else LinksOut(**dataclasses.asdict(node.links)),
        data_path=node.data_path,
        power=None if node.power is None else PowerOut(**dataclasses.asdict(node.power)),
    )


def snapshot_of(document: Mapping[str, Any]) -> NodeSnapshot:
    """The node view behind one ``/v1/nodes`` entry (the inverse of :func:`node_out`).

    A stale node comes back with a ``Stale`` alert, so a client that places on it treats it as
    the API does: no new work.

    Raises:
        pydantic.ValidationError: The document is not a node entry.
    """
    out = NodeOut.model_validate(document)
    usage = out.usage
    alerts = (*out.alerts, *(("Stale",) if out.health == "stale" else ()))
    return NodeSnapshot(
        id=out.id,
        capacity=Capacity(out.capacity.cpu_cores, out.capacity.memory_bytes, out.capacity.gpus),
        tier=out.tier,
        site=out.site,
        arch=out.arch,
        labels=MappingProxyType(dict(out.labels)),
        usage=Usage(**usage.model_dump()),
        pressure=Pressure(out.pressure.cpu, out.pressure.memory, out.pressure.io),
        last_seen_s=out.last_seen_s,
        alerts=alerts,
        relative_speed=out.relative_speed,
        power_watts=out.power_watts,
        links=None if out.links is None else NodeLinks(**out.links.model_dump()),
        data_path=out.data_path,
        power=None if out.power is None else PowerModel(**out.power.model_dump()),
    )


def requirements_of(ctx: ApiContext, request: RankingRequest) -> TaskRequirements:
    """The ranking model's requirements, datasets resolved through the catalogue.

    Raises:
        ApiError: 404 when a dataset is not catalogued.
    """
    datasets: list[DatasetLocation] = []
    for ref in request.datasets:
        record = ctx.datasets.get(ref.id)
        if record is None:
            raise ApiError(
                404,
                f"dataset {ref.id!r} is not in the catalogue: PUT /v1/datasets/{ref.id} first",
            )
        location = record.as_location()
        if ref.size_bytes is not None:
            location = dataclasses.replace(location, size_bytes=ref.size_bytes)
        datasets.append(location)
    return TaskRequirements(
        cpu_cores=request.cpu_cores,
        memory_bytes=request.memory_bytes,
        gpus=request.gpus,
        arch=request.arch,
        tier=request.tier,
        site=request.site,
        labels=request.labels,
        datasets=tuple(datasets),
        duration_s=request.duration_s,
        disk_bytes=request.disk_bytes,
        max_utilization=request.max_utilization,
        allow_oversubscribe=request.allow_oversubscribe,
        not_before_s=request.not_before_s,
        deadline_s=request.deadline_s,
        storage=request.storage,
        minimize_energy=request.minimize_energy,
    )


def run_ranking(
    ctx: ApiContext,
    view: ClusterView,
    requirements: TaskRequirements,
    *,
    limit: int | None,
    rejected_limit: int | None,
    caller: str,
    pending: Mapping[str, Reservation] | None = None,
) -> Ranking:
    """Rank against the view with the app's weights, stale bound and pending load (the
    ledger's totals unless given)."""
    now_s = ctx.clock()
    ctx.metrics.rankings.labels(caller=caller).inc()
    return rank(
        requirements,
        view.table,
        now_s=now_s,
        weights=ctx.weights,
        stale_after_s=ctx.settings.stale_after_s,
        pending=ctx.pending.totals(now_s=now_s) if pending is None else pending,
        network=view.network,
        limit=limit,
        rejected_limit=rejected_limit,
    )


def _usage_document(usage: Usage) -> dict[str, float | None]:
    return {
        "cpu_utilization": usage.cpu_utilization,
        "cpu_utilization_avg5m": usage.cpu_utilization_avg5m,
        "cpu_utilization_stddev5m": usage.cpu_utilization_stddev5m,
        "cpu_utilization_max1m": usage.cpu_utilization_max1m,
        "cpu_steal": usage.cpu_steal,
        "disk_available_bytes": usage.disk_available_bytes,
        "memory_available_bytes": usage.memory_available_bytes,
        "memory_available_avg5m_bytes": usage.memory_available_avg5m_bytes,
        "network_receive_bytes_per_s": usage.network_receive_bytes_per_s,
        "network_transmit_bytes_per_s": usage.network_transmit_bytes_per_s,
    }


def _ranking_document(
    ctx: ApiContext, view: ClusterView, ranking: Ranking, reserved: str | None
) -> dict[str, Any]:
    """The answer as plain JSON-ready data in the shape of :class:`RankingOut`.

    The hottest route skips pydantic models here: building ~50 of them per answer cost more
    than the ranking itself. A test validates the document against ``RankingOut``.
    """
    info = snapshot_info(view, ctx.clock())
    return {
        "snapshot_age_s": info.snapshot_age_s,
        "degraded": info.degraded,
        "warning": info.warning,
        "ranked": [
            {
                "node": entry.node.id,
                "tier": entry.node.tier,
                "site": entry.node.site,
                "score": entry.score,
                "components": dict(entry.components),
                "capacity": {
                    "cpu_cores": float(entry.node.capacity.cpu_cores),
                    "memory_bytes": float(entry.node.capacity.memory_bytes),
                    "gpus": entry.node.capacity.gpus,
                },
                "usage": _usage_document(entry.node.usage),
                "cpu_free_cores_after": entry.cpu_free_cores_after,
                "memory_free_bytes_after": entry.memory_free_bytes_after,
                "transfer_bytes": entry.transfer_bytes,
                "transfer_s": entry.transfer_s,
                "estimated_duration_s": entry.estimated_duration_s,
                "estimated_joules": entry.estimated_joules,
                "energy_source": entry.energy_source,
            }
            for entry in ranking.ranked
        ],
        "rejected": [{"node": r.node_id, "reasons": list(r.reasons)} for r in ranking.rejected],
        "feasible_total": ranking.feasible_total,
        "rejected_total": ranking.rejected_total,
        "weights": ctx.weights.components(),
        "reserved": reserved,
        "constraints": list(ranking.constraints),
    }


def rank_task(ctx: ApiContext, view: ClusterView, request: RankingRequest) -> dict[str, Any]:
    """Answer ``POST /v1/rankings``; with ``reserve``, count the task against the best node."""
    requirements = requirements_of(ctx, request)
    if not request.reserve:
        ranking = run_ranking(
            ctx,
            view,
            requirements,
            limit=request.limit,
            rejected_limit=request.rejected_limit,
            caller="rankings",
        )
        return _ranking_document(ctx, view, ranking, None)
    reservation = Reservation(request.cpu_cores, float(request.memory_bytes), request.gpus)
    rankings: list[Ranking] = []

    def best(pending: dict[str, Reservation]) -> tuple[str, Reservation] | None:
        # Ranking and reserving are one step in the database's write transaction, or two
        # requests of a burst (to this replica or another) pick the same node.
        rankings.append(
            run_ranking(
                ctx,
                view,
                requirements,
                limit=request.limit,
                rejected_limit=request.rejected_limit,
                caller="rankings",
                pending=pending,
            )
        )
        ranked = rankings[-1].ranked
        return (ranked[0].node.id, reservation) if ranked else None

    now_s = ctx.clock()
    choice = ctx.pending.reserve(best, now_s=now_s)
    reserved = None if choice is None else choice[0]
    ranking = rankings[-1]
    if reserved is not None:
        ctx.metrics.pending.set(ctx.pending.count(now_s=now_s))
    return _ranking_document(ctx, view, ranking, reserved)
