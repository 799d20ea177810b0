"""Plots: makespan-ratio distribution per scheduler, and a Gantt chart of one run.

Example::

    makespan_plot(rows, Path("docs/placement-shared-makespan.png"))
    gantt_plot(result, continuum, Path("docs/placement-shared-gantt.png"), title="montage, seed 0")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.sim._continuum import Continuum
from bench.sim._metrics import RunMetrics
from bench.sim._sim import RunResult

__all__ = ["gantt_plot", "makespan_plot"]

_TIER_COLOURS = {"edge": "#2a9d8f", "cloud": "#457b9d", "hpc": "#e76f51"}


def _median_or_inf(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else float("inf")


def makespan_plot(rows: Iterable[RunMetrics], path: Path) -> None:
    """Box plot of makespan / best makespan per scheduler (1.0 = best of that run).

    Failed runs have no finite ratio to draw: the label counts them instead.
    """
    ratios: dict[str, list[float]] = {}
    failed: dict[str, int] = defaultdict(int)
    for r in rows:
        finite = ratios.setdefault(r.scheduler, [])
        if r.failed:
            failed[r.scheduler] += 1
        else:
            finite.append(r.ratio_to_best)
    names = sorted(ratios, key=lambda n: _median_or_inf(ratios[n]))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    ax.boxplot([ratios[n] for n in names], orientation="horizontal", showfliers=True)
    labels = [f"{n} ({failed[n]} failed)" if failed[n] else n for n in names]
    ax.set_yticks(range(1, len(names) + 1), labels)
    ax.set_xscale("log")
    ax.set_xlabel("makespan / best makespan of the same instance and seed (log)")
    ax.set_title("Placement quality on the simulated continuum")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lanes(result: RunResult) -> dict[str, int]:
    """Give each task a lane on its node: interval partitioning by admission time."""
    lane_of: dict[str, int] = {}
    by_node: dict[int, list[float]] = defaultdict(list)  # lane -> busy until
    for rec in sorted(result.tasks.values(), key=lambda r: (r.admitted_s, r.task_id)):
        ends = by_node[rec.node]
        free = next((i for i, end in enumerate(ends) if end <= rec.admitted_s + 1e-9), None)
        if free is None:
            free = len(ends)
            ends.append(0.0)
        ends[free] = rec.end_s
        lane_of[rec.task_id] = free
    return lane_of


def gantt_plot(result: RunResult, continuum: Continuum, path: Path, *, title: str) -> None:
    """Gantt chart of one run: a band per node used, a thin row per concurrent task in it.

    Grey is the time a task spent pulling its inputs; the colour says the node's tier.
    """
    used = sorted({r.node for r in result.tasks.values()})
    band = {node: i for i, node in enumerate(used)}
    lane_of = _lanes(result)
    depth = {n: 1 + max(lane_of[r.task_id] for r in result.tasks.values() if r.node == n)
             for n in used}  # fmt: skip
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(used) + 1.8))
    for rec in result.tasks.values():
        height = 0.8 / depth[rec.node]
        y = band[rec.node] - 0.4 + height * lane_of[rec.task_id] + height / 2
        tier = continuum.nodes[rec.node].tier
        ax.barh(y, rec.start_s - rec.admitted_s, left=rec.admitted_s, color="#bbbbbb",
                height=height * 0.9)  # fmt: skip
        ax.barh(y, rec.end_s - rec.start_s, left=rec.start_s, color=_TIER_COLOURS[tier],
                height=height * 0.9, edgecolor="black", linewidth=0.2)  # fmt: skip
    ax.set_yticks(range(len(used)), [continuum.nodes[n].id for n in used])
    ax.set_ylim(-0.6, len(used) - 0.4)
    ax.set_xlabel("time (s); grey: pulling inputs; colour: tier (edge green, cloud blue, hpc red)")
    ax.set_title(f"{title}: makespan {result.makespan_s:.0f} s")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
