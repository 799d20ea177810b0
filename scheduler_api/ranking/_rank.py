"""Filter, then score, like kube-scheduler, but on measured load (docs/contracts.md §3.6).

Hard constraints and health filter; the rest is a weighted score whose components the answer
shows::

    ranking = rank(TaskRequirements(cpu_cores=2, memory_bytes=2 << 30), nodes, now_s=time.time())
    best = ranking.ranked[0]
    print(best.node.id, best.score, dict(best.components))

Hard constraints judge what is free, not what a node has: cores its measured load and recent
reservations leave idle (unless ``allow_oversubscribe`` accepts busy ones; the total must fit
either way), available memory, free GPUs, and free space on its data path for the task's data
and the inputs it stages there; then the optional ceilings (``max_utilization`` on the 5-minute
mean) and times (``not_before_s``, ``deadline_s`` against the estimated finish).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scheduler_api.ranking._constraints import NodeFit, unmet
from scheduler_api.ranking._energy import describe_source, task_joules
from scheduler_api.ranking._formulas import load_variation_risk
from scheduler_api.ranking._model import (
    Network,
    NodeSnapshot,
    RankedNode,
    Ranking,
    RejectedNode,
    Reservation,
    TaskRequirements,
    Weights,
)
from scheduler_api.ranking._table import BoolArray, FloatArray, NodeTable

__all__ = ["DEFAULT_STALE_AFTER_S", "rank"]

#: Nodes whose newest data is older than this are excluded (seconds).
DEFAULT_STALE_AFTER_S = 60.0
# Without an expected duration, transfer time is judged against one minute of work.
_REFERENCE_DURATION_S = 60.0
# Energy score of a node whose power is unknown: neither rewarded nor punished.
_UNKNOWN_ENERGY_SCORE = 0.5
_GIB = float(1 << 30)
# Free-core figures are derived from sampled utilisation: a hair's shortfall is noise.
_EPSILON = 1e-6


def _unit(values: FloatArray) -> FloatArray:
    """Clamp to 0..1 (two ufuncs: ``np.clip``'s wrapper costs more on small arrays)."""
    result: FloatArray = np.minimum(np.maximum(values, 0.0), 1.0)
    return result


def _pending_columns(
    table: NodeTable, pending: Mapping[str, Reservation] | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = len(table)
    cpu, memory, gpus = np.zeros(n), np.zeros(n), np.zeros(n)
    if not pending:
        return cpu, memory, gpus
    for node_id, reservation in pending.items():
        i = table.index.get(node_id)
        if i is not None:
            cpu[i] += reservation.cpu_cores
            memory[i] += reservation.memory_bytes
            gpus[i] += reservation.gpus
    return cpu, memory, gpus


def _transfer(
    table: NodeTable, requirements: TaskRequirements, network: Network
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Bytes to move, seconds to move them, and nodes allowed by data residency."""
    n = len(table)
    moved_bytes, transfer_s = np.zeros(n), np.zeros(n)
    resident: BoolArray = np.ones(n, np.bool_)
    sites = table.site_names
    for dataset in requirements.datasets:
        source_sites = set(dataset.sites)
        holders = [table.index[x] for x in dataset.nodes if x in table.index]
        source_sites.update(table.nodes[i].site for i in holders)
        if not source_sites:
            continue  # location unknown: no locality information to use
        # Cheapest source per destination site, then spread to the nodes of that site.
        per_site = np.array(
            [
                min(network.cost(src, dst).transfer_s(dataset.size_bytes) for src in source_sites)
                for dst in sites
            ]
        )
        seconds = per_site[table.site_codes]
        moving = np.ones(n)
        if holders:
            seconds[holders] = 0.0
            moving[holders] = 0.0
        # Nodes in a holding site read it over the LAN: it still moves, but cheaply.
        transfer_s += seconds
        moved_bytes += moving * dataset.size_bytes
        if dataset.residency:
            allowed = np.zeros(n, np.bool_)
            for site in source_sites:
                allowed |= table.equals(table.site_codes, table.sites, site)
            resident &= allowed
    return moved_bytes, transfer_s, resident


@dataclass(frozen=True, slots=True)
class _Free:
    """What one node has left, as the constraints judged it."""

    cpu_cores: float
    memory_bytes: float
    gpus: float
    disk_bytes: float
    disk_needed_bytes: float
    finish_s: float


def _storage_match(table: NodeTable, requirements: TaskRequirements) -> FloatArray:
    """Share of the hinted datasets' bytes each node holds in the hinted kind of store.

    A ``memory`` or ``disk`` copy is held by its nodes; an ``object`` store serves the nodes
    of its sites. Without a hint, or with nothing of that kind, every node scores 1.
    """
    n = len(table)
    hint = requirements.storage
    kinds = [d for d in requirements.datasets if hint is not None and d.storage == hint]
    total = float(sum(d.size_bytes for d in kinds))
    if not kinds or total <= 0:
        return np.ones(n)
    held = np.zeros(n)
    for dataset in kinds:
        mask = np.zeros(n, np.bool_)
        if dataset.storage == "object":
            for site in dataset.sites:
                mask |= table.equals(table.site_codes, table.sites, site)
        else:
            mask[[table.index[x] for x in dataset.nodes if x in table.index]] = True
        held += mask * dataset.size_bytes
    result: FloatArray = held / total
    return result


def _describe_failures(
    table: NodeTable,
    requirements: TaskRequirements,
    i: int,
    age_s: float,
    stale_after_s: float,
    free: _Free,
    resident: bool,
) -> tuple[str, ...]:
    node = table.nodes[i]
    req = requirements
    reasons: list[str] = []
    if age_s > stale_after_s:
        reasons.append(f"stale: no data for {age_s:.0f} s (bound {stale_after_s:.0f} s)")
    if node.alerts:
        reasons.append("unhealthy: firing " + ", ".join(sorted(node.alerts)))
    fit = NodeFit(
        node.id,
        cpu_cores=node.capacity.cpu_cores,
        memory_free_bytes=free.memory_bytes,
        gpus_free=free.gpus,
        arch=node.arch,
        tier=node.tier,
        site=node.site,
        labels=node.labels,
    )
    reasons.extend(unmet(fit, req))
    if (
        node.capacity.cpu_cores >= req.cpu_cores
        and not req.allow_oversubscribe
        and free.cpu_cores < req.cpu_cores - _EPSILON
    ):
        reasons.append(
            f"cpu: needs {req.cpu_cores:g} free cores, {max(free.cpu_cores, 0.0):.2f} free "
            f"of {node.capacity.cpu_cores:g} (allow_oversubscribe to accept busy cores)"
        )
    if free.disk_bytes < free.disk_needed_bytes:
        reasons.append(
            f"disk: needs {free.disk_needed_bytes / _GIB:.2f} GiB on "
            f"{node.data_path or 'its data path'} (task data and inputs to stage), "
            f"{max(free.disk_bytes, 0.0) / _GIB:.2f} GiB free"
        )
    if req.max_utilization is not None:
        util5m = float(table.cpu_utilization_avg5m[i])
        if util5m > req.max_utilization:
            reasons.append(
                f"utilization: 5-minute mean {util5m:.2f} above max_utilization "
                f"{req.max_utilization:.2f}"
            )
    if req.deadline_s is not None and free.finish_s > req.deadline_s:
        late_s = free.finish_s - req.deadline_s
        reasons.append(f"deadline: estimated finish {late_s:.1f} s after the deadline")
    if not resident:
        reasons.append("data residency: input may not leave " + _residency_sites(requirements))
    return tuple(reasons)


def rank(
    requirements: TaskRequirements,
    nodes: NodeTable | Sequence[NodeSnapshot],
    *,
    now_s: float,
    weights: Weights | None = None,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    pending: Mapping[str, Reservation] | None = None,
    network: Network | None = None,
    limit: int | None = None,
    rejected_limit: int | None = None,
) -> Ranking:
    """Rank nodes for one task.

    Args:
        requirements: what the task needs.
        nodes: the candidate nodes (a prebuilt :class:`NodeTable` is much faster).
        now_s: the current Unix time, for freshness.
        weights: component weights (defaults to :class:`Weights`).
        stale_after_s: nodes with older data are filtered.
        pending: load placed per node id that metrics do not show yet.
        network: link costs for data transfer estimates.
        limit: return at most this many ranked nodes (all when ``None``).
        rejected_limit: return at most this many rejected nodes (all when ``None``).

    Returns:
        The ranking: feasible nodes best first with score components, and rejected nodes with
        every reason.
    """
    table = nodes if isinstance(nodes, NodeTable) else NodeTable.build(nodes)
    weights = weights or Weights()
    network = network or Network()
    req = requirements
    n = len(table)
    pend_cpu, pend_memory, pend_gpus = _pending_columns(table, pending)

    age_s = now_s - table.last_seen_s
    cpu_free = table.idle_cores - pend_cpu
    memory_free = table.memory_available_bytes - pend_memory
    gpus_free = table.gpus - pend_gpus
    moved_bytes, transfer_s, resident = _transfer(table, req, network)
    # The task's own data plus every input it stages onto the node must fit on its data path.
    disk_needed = req.disk_bytes + moved_bytes
    start_s = max(now_s, req.not_before_s) if req.not_before_s is not None else now_s
    speed = table.relative_speed
    run_s = req.duration_s / speed if req.duration_s is not None else 0.0
    finish_s = start_s + transfer_s + run_s

    feasible: BoolArray = (
        (age_s <= stale_after_s)
        & ~table.alerting
        & (table.cpu_cores >= req.cpu_cores)
        & (memory_free >= req.memory_bytes)
        & (gpus_free >= req.gpus)
        & (table.disk_available_bytes >= disk_needed)
        & resident
    )
    if not req.allow_oversubscribe:
        feasible &= cpu_free >= req.cpu_cores - _EPSILON
    if req.max_utilization is not None:
        feasible &= table.cpu_utilization_avg5m <= req.max_utilization
    if req.deadline_s is not None:
        feasible &= finish_s <= req.deadline_s
    for attribute, wanted in (("arch", req.arch), ("tier", req.tier), ("site", req.site)):
        if wanted is not None:
            codes = getattr(table, f"{attribute}_codes")
            vocabulary = getattr(table, f"{attribute}s")
            feasible &= table.equals(codes, vocabulary, wanted)
    for key, value in req.labels.items():
        feasible &= table.label_mask(key, value)

    cores = table.cores_safe
    memory = table.memory_safe
    cpu_free_after = table.idle_cores - pend_cpu - req.cpu_cores
    memory_free_after = memory_free - req.memory_bytes
    cpu_used_fraction = _unit(1.0 - cpu_free_after / cores)
    memory_used_fraction = _unit(1.0 - memory_free_after / memory)

    # Trimaran: mean plus spread, the task's request added to the mean, per resource; the
    # memory spread is the drop from the five-minute mean to the one-minute low.
    cpu_risk = load_variation_risk(
        table.cpu_utilization_avg5m + (pend_cpu + req.cpu_cores) / cores,
        table.cpu_utilization_stddev5m,
        weights.risk_margin,
        weights.risk_sensitivity,
    )
    memory_mu = 1.0 - (table.memory_available_avg5m_bytes - pend_memory - req.memory_bytes) / memory
    memory_sigma = np.maximum(table.memory_available_avg5m_bytes - memory_free, 0.0) / memory
    memory_risk = load_variation_risk(
        memory_mu, memory_sigma, weights.risk_margin, weights.risk_sensitivity
    )
    reference_s = req.duration_s if req.duration_s else _REFERENCE_DURATION_S
    fastest = float(speed[feasible].max()) if feasible.any() else 1.0
    # Energy: the joules the task adds on each node (measured line, measured power, or the
    # rated label), scored against the least any feasible node would spend.
    energy_run_s = reference_s / speed
    joules, energy_codes = task_joules(table, req.cpu_cores, energy_run_s)
    known_joules = feasible & ~np.isnan(joules)
    if known_joules.any():
        least = float(joules[known_joules].min())
        energy = np.where(
            np.isnan(joules),
            _UNKNOWN_ENERGY_SCORE,
            np.minimum(1.0, max(least, 1e-9) / np.maximum(np.nan_to_num(joules, nan=1.0), 1e-9)),
        )
    else:
        energy = np.full(n, _UNKNOWN_ENERGY_SCORE)

    components: dict[str, FloatArray] = {
        "cpu_headroom": _unit(cpu_free_after / cores),
        "memory_headroom": _unit(memory_free_after / memory),
        "balance": 1.0 - np.abs(cpu_used_fraction - memory_used_fraction) / 2.0,
        "variability": np.minimum(cpu_risk, memory_risk),
        "pressure": 1.0 - table.pressure,
        "locality": reference_s / (reference_s + transfer_s),
        "speed": _unit(speed / fastest),
        "energy": _unit(energy),
        "storage": _storage_match(table, req),
    }
    weight_of = weights.components()
    total_weight = sum(weight_of.values()) or 1.0
    score = np.zeros(n)
    for name, values in components.items():
        if weight_of[name]:
            score += weight_of[name] * values
    score /= total_weight

    feasible_idx = np.flatnonzero(feasible)
    # Best first; ties broken by node order so answers are deterministic.
    order = feasible_idx[np.argsort(-score[feasible_idx], kind="stable")]
    if req.minimize_energy:
        # Fewest joules first (unknown last), the score breaking ties: lexsort's last key leads.
        keyed = np.where(np.isnan(joules), np.inf, joules)
        order = feasible_idx[np.lexsort((-score[feasible_idx], keyed[feasible_idx]))]
    if limit is not None:
        order = order[:limit]
    estimated = None if req.duration_s is None else transfer_s + run_s
    names = list(components)
    ranked = tuple(
        RankedNode(
            node=table.nodes[i],
            score=float(score[i]),
            components={name: float(components[name][i]) for name in names},
            cpu_free_cores_after=float(cpu_free_after[i]),
            memory_free_bytes_after=float(memory_free_after[i]),
            transfer_bytes=float(moved_bytes[i]),
            transfer_s=float(transfer_s[i]),
            estimated_duration_s=None if estimated is None else float(estimated[i]),
            estimated_joules=None if np.isnan(joules[i]) else float(joules[i]),
            energy_source=describe_source(table, i, int(energy_codes[i])),
        )
        for i in order.tolist()
    )
    rejected_idx = np.flatnonzero(~feasible)
    if rejected_limit is not None:
        rejected_idx = rejected_idx[:rejected_limit]
    rejected = tuple(
        RejectedNode(
            node_id=table.nodes[i].id,
            reasons=_describe_failures(
                table,
                req,
                i,
                float(age_s[i]),
                stale_after_s,
                _Free(
                    cpu_cores=float(cpu_free[i]),
                    memory_bytes=float(memory_free[i]),
                    gpus=float(gpus_free[i]),
                    disk_bytes=float(table.disk_available_bytes[i]),
                    disk_needed_bytes=float(disk_needed[i]),
                    finish_s=float(finish_s[i]),
                ),
                bool(resident[i]),
            ),
        )
        for i in rejected_idx.tolist()
    )
    return Ranking(
        ranked=ranked,
        rejected=rejected,
        feasible_total=len(feasible_idx),
        rejected_total=n - len(feasible_idx),
        constraints=_constraints(req, now_s),
    )


def _constraints(req: TaskRequirements, now_s: float) -> tuple[str, ...]:
    """The hard constraints ``rank`` applied, as the explanation shows them."""
    out = [
        f"cpu: {req.cpu_cores:g} cores in all, busy ones accepted (allow_oversubscribe)"
        if req.allow_oversubscribe
        else f"cpu: {req.cpu_cores:g} free cores (measured idle less pending reservations)",
        f"memory: {req.memory_bytes / _GIB:.2f} GiB available",
    ]
    if req.gpus:
        out.append(f"gpu: {req.gpus} free")
    if req.disk_bytes or any(d.size_bytes for d in req.datasets):
        out.append(
            f"disk: {req.disk_bytes / _GIB:.2f} GiB free on the data path, plus the inputs "
            "staged there"
        )
    if req.max_utilization is not None:
        out.append(f"max_utilization: 5-minute mean CPU use at most {req.max_utilization:.2f}")
    if req.not_before_s is not None:
        out.append(f"not_before: starts no earlier than {req.not_before_s - now_s:+.1f} s")
    if req.deadline_s is not None:
        out.append(f"deadline: estimated finish within {req.deadline_s - now_s:+.1f} s")
    return tuple(out)


def _residency_sites(requirements: TaskRequirements) -> str:
    sites = sorted({s for d in requirements.datasets if d.residency for s in d.sites})
    return ", ".join(sites) or "its holders' sites"
