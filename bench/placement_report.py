"""docs/benchmarks.md's placement tables, from a stored ``continuum bench placement`` result.

One block shows one run: a table per set of runs (tuning, held-out seeds, held-out sizes and
the held-out sets together, which the flat figures come from), ours against each baseline per
workflow, and the targets. ``continuum bench report`` calls :func:`render` for each
``<!-- report:placement world=... -->`` block; a block of ``mode=lab`` shows a run on the lab
(``continuum bench placement --lab``): makespans per workflow and scheduler, and ours over
each baseline.
"""

from __future__ import annotations

import math
import statistics
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


def _lab(result: Mapping[str, Any]) -> str:
    """A lab run: median makespans, and ours over each baseline paired by workflow and seed."""
    ours = result["ours"]
    baselines = [s for s in result["median_makespan_s"] if s != ours]
    schedulers = [ours, *baselines]
    made = {
        (r["workflow"], r["seed"], r["scheduler"]): r["makespan_s"]
        for r in result["runs"]
        if r["makespan_s"] and not r.get("error")
    }

    def ratio(workflow: str, baseline: str) -> str:
        pairs = [
            made[(w, seed, ours)] / made[(w, seed, baseline)]
            for (w, seed, s) in made
            if w == workflow and s == baseline and (w, seed, ours) in made
        ]
        return f"{statistics.median(pairs):.2f}" if pairs else "-"

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    nodes = result["lab"]
    cores = sum(n["cpu_cores"] for n in nodes.values())
    lines = [
        f"{len(result['runs'])} runs ({result['failed']} failed) on {len(nodes)} lab nodes "
        f"({cores:g} cores; {', '.join(sorted(nodes))}), work scaled to "
        f"{result['target_s']:g} s over the lab's cores, load epochs of {result['epoch_s']:g} s, "
        f"files up to {result['max_file_bytes'] / 2**20:g} MiB.",
        "",
        f"| workflow | {' | '.join(schedulers)} | "
        + " | ".join(f"{ours} / {b}" for b in baselines)
        + " |",
        "|---|" + "---|" * (len(schedulers) + len(baselines)),
    ]
    for workflow, medians in result["median_makespan_s_by_workflow"].items():
        cells = [seconds(medians.get(s)) for s in schedulers]
        cells += [ratio(workflow, b) for b in baselines]
        lines.append(f"| {workflow} | {' | '.join(cells)} |")
    overall = [seconds(result["median_makespan_s"][s]) for s in schedulers]
    for b in baselines:
        key = b.replace("-", "_")
        value = result.get(f"ours_vs_{key}_median")
        count = result.get(f"ours_vs_{key}_runs", 0)
        overall.append("-" if value is None else f"**{value:.2f}** ({count} pairs)")
    lines.append(f"| all | {' | '.join(overall)} |")
    lines += [
        "",
        "(median makespans over the seeds; ratios are medians of the per-seed ours-over-baseline "
        "ratios, under 1 where the shipped policy was faster.)",
    ]
    return "\n".join(lines)


def render(records: Sequence[ResultRecord]) -> str:
    """The tables of the last selected run."""
    result = records[-1].result
    if result.get("mode") == "lab":
        return _lab(result)
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
