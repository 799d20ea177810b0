"""Figures of merit over many runs: per-run metrics, then medians, IQRs and win/tie/loss counts.

Example::

    rows = [run_metrics(instance, seed, result, workflow, continuum) for ...]
    summary = summarise(rows, ours="ours-heft")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bench.sim._continuum import Continuum
from bench.sim._sim import RunResult
from bench.sim._wfformat import Workflow

__all__ = [
    "TIE_TOLERANCE",
    "RunMetrics",
    "SchedulerSummary",
    "per_instance",
    "run_metrics",
    "summarise",
    "with_ratios",
]

#: Two makespans within this fraction of the baseline's are a tie.
TIE_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """One scheduler's run of one instance under one seed."""

    instance: str
    seed: int
    scheduler: str
    makespan_s: float
    slr: float
    bytes_moved: int
    cross_tier_bytes: int
    overloaded_node_s: float
    ratio_to_best: float = float("nan")


@dataclass(frozen=True, slots=True)
class SchedulerSummary:
    """Medians and interquartile ranges of one scheduler over every run, and ours against it."""

    scheduler: str
    runs: int
    makespan_ratio_median: float
    makespan_ratio_iqr: tuple[float, float]
    slr_median: float
    slr_iqr: tuple[float, float]
    gb_moved_median: float
    cross_tier_gb_median: float
    overloaded_node_s_median: float
    ours_over_this_median: float
    wins: int
    ties: int
    losses: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the JSON line."""
        return asdict(self)


def run_metrics(
    instance: str, seed: int, result: RunResult, workflow: Workflow, continuum: Continuum
) -> RunMetrics:
    """Metrics of one run; SLR divides by the critical path on the fastest idle node."""
    fastest = max(n.speed for n in continuum.nodes)
    lower_bound_s = workflow.critical_path_s() / fastest
    return RunMetrics(
        instance=instance,
        seed=seed,
        scheduler=result.scheduler,
        makespan_s=result.makespan_s,
        slr=result.makespan_s / lower_bound_s if lower_bound_s > 0 else float("nan"),
        bytes_moved=result.bytes_moved,
        cross_tier_bytes=result.cross_tier_bytes,
        overloaded_node_s=result.overloaded_node_s,
    )


def with_ratios(rows: Iterable[RunMetrics]) -> list[RunMetrics]:
    """Fill ``ratio_to_best``: makespan over the best makespan of the same instance and seed."""
    rows = list(rows)
    best: dict[tuple[str, int], float] = {}
    for r in rows:
        key = (r.instance, r.seed)
        best[key] = min(best.get(key, float("inf")), r.makespan_s)
    out = []
    for r in rows:
        ratio = r.makespan_s / best[(r.instance, r.seed)]
        out.append(RunMetrics(**{**asdict(r), "ratio_to_best": ratio}))
    return out


def _iqr(values: Sequence[float]) -> tuple[float, float]:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q1), float(q3)


def summarise(rows: Iterable[RunMetrics], ours: str) -> list[SchedulerSummary]:
    """Per-scheduler medians and IQRs, and ``ours``' win/tie/loss count against each.

    Args:
        rows: Every run (same instances and seeds for every scheduler).
        ours: The scheduler the others are compared with.
    """
    rows = with_ratios(rows)
    by_sched: dict[str, list[RunMetrics]] = defaultdict(list)
    ours_ms: dict[tuple[str, int], float] = {}
    for r in rows:
        by_sched[r.scheduler].append(r)
        if r.scheduler == ours:
            ours_ms[(r.instance, r.seed)] = r.makespan_s
    summaries = []
    for name, runs in by_sched.items():
        wins = ties = losses = 0
        rel = []
        for r in runs:
            mine = ours_ms.get((r.instance, r.seed))
            if mine is None:
                continue
            rel.append(mine / r.makespan_s)
            if abs(mine - r.makespan_s) <= TIE_TOLERANCE * r.makespan_s:
                ties += 1
            elif mine < r.makespan_s:
                wins += 1
            else:
                losses += 1
        ratios = [r.ratio_to_best for r in runs]
        slrs = [r.slr for r in runs]
        summaries.append(
            SchedulerSummary(
                scheduler=name,
                runs=len(runs),
                makespan_ratio_median=float(np.median(ratios)),
                makespan_ratio_iqr=_iqr(ratios),
                slr_median=float(np.median(slrs)),
                slr_iqr=_iqr(slrs),
                gb_moved_median=float(np.median([r.bytes_moved for r in runs])) / 1e9,
                cross_tier_gb_median=float(np.median([r.cross_tier_bytes for r in runs])) / 1e9,
                overloaded_node_s_median=float(np.median([r.overloaded_node_s for r in runs])),
                ours_over_this_median=float(np.median(rel)) if rel else float("nan"),
                wins=wins,
                ties=ties,
                losses=losses,
            )
        )
    return summaries


def per_instance(
    rows: Iterable[RunMetrics], ours: str, against: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Median over seeds of ours' makespan over each of ``against``, per instance.

    Returns:
        ``{instance: {baseline: median ratio}}`` (seeds where either run is missing are left out).
    """
    makespan: dict[tuple[str, int, str], float] = {
        (r.instance, r.seed, r.scheduler): r.makespan_s for r in rows
    }
    instances = sorted({key[0] for key in makespan})
    out: dict[str, dict[str, float]] = {}
    for instance in instances:
        seeds = sorted({key[1] for key in makespan if key[0] == instance})
        out[instance] = {}
        for base in against:
            ratios = [
                makespan[(instance, s, ours)] / makespan[(instance, s, base)]
                for s in seeds
                if (instance, s, ours) in makespan and (instance, s, base) in makespan
            ]
            out[instance][base] = float(np.median(ratios)) if ratios else float("nan")
    return out
