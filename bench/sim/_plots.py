"""Plots: makespan-ratio distribution per scheduler, and a Gantt chart of one run.

Example::

    makespan_plot(rows, Path("docs/placement-makespan.png"))
    gantt_plot(result, continuum, Path("docs/placement-gantt.png"), title="montage, seed 0")
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


def makespan_plot(rows: Iterable[RunMetrics], path: Path) -> None:
    """Box plot of makespan / best makespan per scheduler (1.0 = best of that run)."""
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        ratios[r.scheduler].append(r.ratio_to_best)
    names = sorted(ratios, key=lambda n: sorted(ratios[n])[len(ratios[n]) // 2])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    ax.boxplot([ratios[n] for n in names], vert=False, showfliers=True)
    ax.set_yticks(range(1, len(names) + 1), names)
    ax.set_xscale("log")
    ax.set_xlabel("makespan / best makespan of the same instance and seed (log)")
    ax.set_title("Placement quality on the simulated continuum")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gantt_plot(result: RunResult, continuum: Continuum, path: Path, *, title: str) -> None:
    """Gantt chart of one run: one row per node used, a bar per task (pull in light shade)."""
    used = sorted({r.node for r in result.tasks.values()})
    row = {node: i for i, node in enumerate(used)}
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(used) + 1.5))
    for rec in result.tasks.values():
        tier = continuum.nodes[rec.node].tier
        y = row[rec.node]
        ax.barh(y, rec.start_s - rec.admitted_s, left=rec.admitted_s, color="#cccccc", height=0.6)
        ax.barh(y, rec.end_s - rec.start_s, left=rec.start_s, color=_TIER_COLOURS[tier],
                height=0.6, alpha=0.6, edgecolor="black", linewidth=0.3)  # fmt: skip
    ax.set_yticks(range(len(used)), [continuum.nodes[n].id for n in used])
    ax.set_xlabel("time (s); grey = pulling inputs; colour = tier (edge/cloud/hpc)")
    ax.set_title(f"{title}: makespan {result.makespan_s:.0f} s")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
