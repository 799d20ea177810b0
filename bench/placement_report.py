"""docs/benchmarks.md's placement tables, from a stored ``continuum bench placement`` result.

One block shows one run: a table per set of runs (tuning, held-out seeds, held-out sizes and
the held-out sets together, which the flat figures come from), ours against each baseline per
workflow, and the targets. ``continuum bench report`` calls :func:`render` for each
``<!-- report:placement world=... -->`` block.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench._results import ResultRecord

__all__ = ["render"]

_PER_INSTANCE = ("kube-least-allocated", "heft-static", "heft-online", "trimaran-lvrb")
_TARGETS = {"heft-static": 0.9, "kube-least-allocated": 0.7}
_MAX_LOSS_SHARE = 0.1


def _fmt(value: float, spec: str) -> str:
    return "inf" if math.isinf(value) else format(value, spec)


def _scheduler_table(figures: Mapping[str, Any]) -> list[str]:
    ours = figures["ours"]
    rows = sorted(figures["schedulers"].values(), key=lambda s: s["makespan_ratio_median"])
    lines = [
        f"| scheduler | makespan / best, median (IQR) | SLR median | GB moved | cross-tier GB "
        f"| overloaded node-s | {ours} / this (median) | ours win/tie/loss | failed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in rows:
        low, high = s["makespan_ratio_iqr"]
        name = f"**{s['scheduler']}**" if s["scheduler"] == ours else s["scheduler"]
        lines.append(
            f"| {name} | {_fmt(s['makespan_ratio_median'], '.3f')} "
            f"({_fmt(low, '.2f')}-{_fmt(high, '.2f')}) | {_fmt(s['slr_median'], '.2f')} "
            f"| {s['gb_moved_median']:.2f} | {s['cross_tier_gb_median']:.2f} "
            f"| {s['overloaded_node_s_median']:.0f} | {_fmt(s['ours_over_this_median'], '.3f')} "
            f"| {s['wins']}/{s['ties']}/{s['losses']} | {s.get('failed', 0)} |"
        )
    return lines


def _instance_table(figures: Mapping[str, Any]) -> list[str]:
    breakdown: Mapping[str, Mapping[str, float]] = figures["ours_over_baseline_median_per_instance"]
    lines = [
        f"| workflow | {' | '.join(_PER_INSTANCE)} |",
        "|---|" + "---|" * len(_PER_INSTANCE),
    ]
    for name, ratios in breakdown.items():
        cells = " | ".join(_fmt(ratios[b], ".3f") for b in _PER_INSTANCE)
        lines.append(f"| {name} | {cells} |")
    return lines


def _targets(figures: Mapping[str, Any]) -> str:
    heft = figures["ours_vs_heft_static_median"]
    kube = figures["ours_vs_kube_least_allocated_median"]
    loss = figures["max_loss_share"] or 0.0
    reach = figures["kube_target_reach"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    return (
        f"ours / static HEFT {heft:.4f} (target <= 0.9: {verdict(heft <= _TARGETS['heft-static'])})"
        f"; ours / kube LeastAllocated {kube:.4f} (target <= 0.7: "
        f"{verdict(kube <= _TARGETS['kube-least-allocated'])}; within 0.7x on "
        f"{reach['ours_within']} of {reach['runs']} runs, a lower-bound schedule on "
        f"{reach['lower_bound_within']}; the bound scores "
        f"{figures['lower_bound_vs_kube_least_allocated_median']}); worst loss share "
        f"{loss:.1%} to {figures['max_loss_baseline']} (target <= 10%: "
        f"{verdict(loss <= _MAX_LOSS_SHARE)}); {figures.get('failed', 0)} failed runs."
    )


def _section(title: str, figures: Mapping[str, Any], per_instance: bool) -> list[str]:
    lines = [f"**{title}**", "", *_scheduler_table(figures), ""]
    if per_instance:
        lines += [f"Median {figures['ours']} makespan / baseline's, per workflow:", ""]
        lines += [*_instance_table(figures), ""]
    lines += [_targets(figures), ""]
    return lines


def render(records: Sequence[ResultRecord]) -> str:
    """The tables of the last selected run."""
    result = records[-1].result
    sets: Mapping[str, Mapping[str, Any]] = result.get("sets", {})
    counted: Sequence[str] = result.get("counted_sets", list(sets))
    lines = [
        f"{result['runs']} runs of {len(result['schedulers'])} schedulers, "
        f"{result['elapsed_s']:.0f} s of simulation, {result['world']} world.",
        "",
    ]
    # Tuning first, then the held-out sets in the order they ran (the JSON line sorts keys).
    order = [n for n in sets if n not in counted] + [n for n in counted if n in sets]
    for name in order:
        figures = sets[name]
        use = "the flat figures count it" if name in counted else "what the constants were tuned on"
        seeds = figures["seeds"]
        title = f"{name} ({figures['instances']} workflows x {seeds} seeds; {use})"
        lines += _section(title, figures, per_instance=True)
    if len(counted) > 1:
        lines += _section(f"held-out together ({', '.join(counted)}): the JSON line's flat "
                          "figures", result, per_instance=False)  # fmt: skip
    return "\n".join(lines).rstrip()
