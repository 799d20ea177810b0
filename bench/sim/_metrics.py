"""Figures of merit over many runs: per-run metrics, then medians, IQRs and win/tie/loss counts.

Example::

    rows = [run_metrics(instance, seed, result, workflow, continuum) for ...]
    summary = summarise(rows, ours="ours-heft")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bench.sim._continuum import Continuum
from bench.sim._sim import RunResult
from bench.sim._wfformat import Workflow

__all__ = [
    "TIE_TOLERANCE",
    "RunMetrics",
    "SchedulerSummary",
    "failed_run",
    "per_instance",
    "run_metrics",
    "summarise",
    "with_ratios",
]

#: Two makespans within this fraction of the baseline's are a tie.
TIE_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """One scheduler's run of one instance under one seed.

    A run that failed or crashed has an infinite makespan and SLR (:func:`failed_run`): it ranks
    last, counts as a loss for the scheduler that failed, and stays in every median.
    """

    instance: str
    seed: int
    scheduler: str
    makespan_s: float
    slr: float
    bytes_moved: int
    cross_tier_bytes: int
    overloaded_node_s: float
    ratio_to_best: float = float("nan")
    failed: bool = False


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
    failed: int = 0

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


def failed_run(instance: str, seed: int, scheduler: str) -> RunMetrics:
    """The row of a run that raised: it never finished, so its makespan is infinite."""
    return RunMetrics(
        instance=instance,
        seed=seed,
        scheduler=scheduler,
        makespan_s=float("inf"),
        slr=float("inf"),
        bytes_moved=0,
        cross_tier_bytes=0,
        overloaded_node_s=0.0,
        failed=True,
    )


def _ratio(makespan_s: float, best_s: float) -> float:
    # Every scheduler failed on this run: none is better than another.
    return 1.0 if makespan_s == best_s else makespan_s / best_s


def with_ratios(rows: Iterable[RunMetrics]) -> list[RunMetrics]:
    """Fill ``ratio_to_best``: makespan over the best makespan of the same instance and seed."""
    rows = list(rows)
    best: dict[tuple[str, int], float] = {}
    for r in rows:
        key = (r.instance, r.seed)
        best[key] = min(best.get(key, float("inf")), r.makespan_s)
    out = []
    for r in rows:
        ratio = _ratio(r.makespan_s, best[(r.instance, r.seed)])
        out.append(RunMetrics(**{**asdict(r), "ratio_to_best": ratio}))
    return out


def _iqr(values: Sequence[float]) -> tuple[float, float]:
    # "lower": a quartile is a run's value, so failed runs (inf) never interpolate to nan.
    q1, q3 = np.percentile(values, [25, 75], method="lower")
    return float(q1), float(q3)


def _outcome(mine: RunMetrics, theirs: RunMetrics) -> str:
    """Ours' ``win``, ``tie`` or ``loss`` on one run: a failure of ours is always a loss."""
    if mine.failed:
        return "loss"
    if theirs.failed:
        return "win"
    if abs(mine.makespan_s - theirs.makespan_s) <= TIE_TOLERANCE * theirs.makespan_s:
        return "tie"
    return "win" if mine.makespan_s < theirs.makespan_s else "loss"


def _completed_median(runs: Sequence[RunMetrics], value: Callable[[RunMetrics], float]) -> float:
    # Bytes and overload of a run that never finished are not comparable: completed runs only.
    values = [value(r) for r in runs if not r.failed]
    return float(np.median(values)) if values else float("nan")


def summarise(rows: Iterable[RunMetrics], ours: str) -> list[SchedulerSummary]:
    """Per-scheduler medians and IQRs, and ``ours``' win/tie/loss count against each.

    Args:
        rows: Every run (same instances and seeds for every scheduler).
        ours: The scheduler the others are compared with.
    """
    rows = with_ratios(rows)
    by_sched: dict[str, list[RunMetrics]] = defaultdict(list)
    ours_runs: dict[tuple[str, int], RunMetrics] = {}
    for r in rows:
        by_sched[r.scheduler].append(r)
        if r.scheduler == ours:
            ours_runs[(r.instance, r.seed)] = r
    summaries = []
    for name, runs in by_sched.items():
        counts = {"win": 0, "tie": 0, "loss": 0}
        rel = []
        for r in runs:
            mine = ours_runs.get((r.instance, r.seed))
            if mine is None:
                continue
            rel.append(_ratio(mine.makespan_s, r.makespan_s))
            counts[_outcome(mine, r)] += 1
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
                gb_moved_median=_completed_median(runs, lambda r: r.bytes_moved) / 1e9,
                cross_tier_gb_median=_completed_median(runs, lambda r: r.cross_tier_bytes) / 1e9,
                overloaded_node_s_median=_completed_median(runs, lambda r: r.overloaded_node_s),
                ours_over_this_median=float(np.median(rel)) if rel else float("nan"),
                wins=counts["win"],
                ties=counts["tie"],
                losses=counts["loss"],
                failed=sum(r.failed for r in runs),
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
                _ratio(makespan[(instance, s, ours)], makespan[(instance, s, base)])
                for s in seeds
                if (instance, s, ours) in makespan and (instance, s, base) in makespan
            ]
            out[instance][base] = float(np.median(ratios)) if ratios else float("nan")
    return out
