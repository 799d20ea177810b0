"""``continuum bench placement``: placement quality on a simulated continuum, or engine speed.

Quality mode runs every WfCommons instance (the shipped ones, any ``--workflow`` file, and seeded
recipe workflows) under every scheduler for ``--seeds`` seeds (the same seeds for all), prints
a table of medians, IQRs and win/tie/loss counts of ours against each baseline, writes the plots
into ``--out-dir`` and ends with one JSON line of the figures. ``--world`` picks the background
load (``shared``, the default, or ``mild``; see :mod:`bench.sim._load`). Speed mode hands over
to ``bench.placement_speed``.

Example::

    continuum bench placement --seeds 10
    continuum bench placement --seeds 10 --world mild
    continuum bench placement --workflow my-instance.json --seeds 3 --no-recipes
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.sim import (
    RECIPES,
    WORLDS,
    RunMetrics,
    SchedulerSummary,
    SimulationError,
    WfFormatError,
    Workflow,
    all_schedulers,
    build_continuum,
    gantt_plot,
    generate_workflow,
    load_schema,
    load_wfformat,
    makespan_plot,
    per_instance,
    run_metrics,
    simulate,
    summarise,
    with_ratios,
)

__all__ = ["DEFAULT_RECIPES", "command", "data_dir", "run_quality"]

#: The engine's default ordering stands for "ours" in the comparisons.
OURS = "ours-heft"
#: Seeded recipe workflows run by default (recipe:tasks).
DEFAULT_RECIPES = ("montage:300", "epigenomics:1000", "cycles:1000")
_GANTT_MAX_TASKS = 400
#: Baselines broken down per instance in the second table.
_PER_INSTANCE = ("kube-least-allocated", "heft-static", "heft-online", "trimaran-lvrb")
_TARGET_VS_STATIC_HEFT = 0.9
_TARGET_VS_KUBE = 0.7
_MAX_LOSS_SHARE = 0.1


def data_dir() -> Path:
    """The WfCommons instances and their schema, shipped in ``bench/data/wfcommons``."""
    return Path(__file__).resolve().parent / "data" / "wfcommons"


def _workflows(paths: Sequence[Path], recipes: Sequence[str], seed: int) -> list[Workflow]:
    directory = data_dir()
    schema_path = directory / "wfcommons-schema.json"
    if not schema_path.exists():
        raise click.ClickException(
            f"WfFormat schema not found at {schema_path}: the bench package is installed"
            " without its data (bench/data/wfcommons)"
        )
    schema = load_schema(schema_path)
    files = list(paths) or sorted(directory.glob("*.json"))
    files = [f for f in files if f.name != "wfcommons-schema.json"]
    out = [load_wfformat(f, schema) for f in files]
    for item in recipes:
        name, _, size = item.partition(":")
        if name not in RECIPES or not size.isdigit():
            raise click.BadParameter(f"{item!r}: expected RECIPE:TASKS with RECIPE in {RECIPES}")
        out.append(generate_workflow(name, num_tasks=int(size), seed=seed, schema=schema))
    return out


def run_quality(
    workflows: Sequence[Workflow], seeds: int, console: Console, out_dir: Path | None,
    world: str = WORLDS[0],
) -> dict[str, object]:  # fmt: skip
    """Run every scheduler on every workflow and seed in ``world``; print tables; return figures.

    Plots go to ``out_dir`` as ``placement-<world>-makespan.png`` and ``-gantt.png``.
    """
    rows: list[RunMetrics] = []
    errors: list[str] = []
    gantt = None
    # The Gantt shows one mid-sized run: the largest workflow that still reads as a chart.
    gantt_wf = max(workflows, key=lambda w: (len(w.tasks) <= _GANTT_MAX_TASKS, len(w.tasks)))
    total = len(workflows) * seeds
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("simulating", total=total)
        for wf in workflows:
            for seed in range(seeds):
                continuum = build_continuum(seed, world)
                for scheduler in all_schedulers(seed):
                    try:
                        result = simulate(wf, continuum, scheduler)
                    except (AssertionError, SimulationError) as err:
                        # A scheduler that breaks is reported, never hidden; its run is left
                        # out of the statistics (the same seed stays in for the others).
                        errors.append(f"{scheduler.name} on {wf.name} seed {seed}: {err}")
                        continue
                    rows.append(run_metrics(wf.name, seed, result, wf, continuum))
                    if seed == 0 and scheduler.name == OURS and wf is gantt_wf:
                        gantt = (result, continuum, f"{wf.name} ({len(wf.tasks)} tasks), seed 0")
                progress.advance(bar)
    elapsed_s = time.perf_counter() - started
    rows = with_ratios(rows)
    summaries = sorted(summarise(rows, OURS), key=lambda s: s.makespan_ratio_median)
    console.print(_table(summaries, len(workflows), seeds, world))
    breakdown = per_instance(rows, OURS, _PER_INSTANCE)
    console.print(_instance_table(breakdown, {w.name: len(w.tasks) for w in workflows}))
    figures = _figures(summaries, rows, len(workflows), seeds, elapsed_s)
    figures["world"] = world
    figures["ours_over_baseline_median_per_instance"] = {
        name: {base: round(v, 4) for base, v in ratios.items()}
        for name, ratios in breakdown.items()
    }
    figures["failed_runs"] = errors
    for line in errors:
        console.print(f"[red]failed run[/] {line}")
    console.print(_verdict(figures))
    if out_dir is not None:
        stem = f"placement-{world}"
        makespan_plot(rows, out_dir / f"{stem}-makespan.png")
        if gantt is not None:
            gantt_plot(gantt[0], gantt[1], out_dir / f"{stem}-gantt.png", title=gantt[2])
        console.print(f"plots written to {out_dir}/{stem}-makespan.png, {stem}-gantt.png")
    return figures


def _table(summaries: Sequence[SchedulerSummary], instances: int, seeds: int, world: str) -> Table:
    table = Table(title=f"Placement quality, {world} world: {instances} workflows x {seeds} seeds")
    for col in (
        "scheduler", "makespan/best (median)", "IQR", "SLR", "GB moved", "cross-tier GB",
        "overloaded node-s", f"{OURS}/this", "win/tie/loss",
    ):  # fmt: skip
        table.add_column(col, justify="left" if col == "scheduler" else "right")
    for s in summaries:
        table.add_row(
            s.scheduler,
            f"{s.makespan_ratio_median:.3f}",
            f"{s.makespan_ratio_iqr[0]:.2f}-{s.makespan_ratio_iqr[1]:.2f}",
            f"{s.slr_median:.2f}",
            f"{s.gb_moved_median:.2f}",
            f"{s.cross_tier_gb_median:.2f}",
            f"{s.overloaded_node_s_median:.0f}",
            f"{s.ours_over_this_median:.3f}",
            f"{s.wins}/{s.ties}/{s.losses}",
        )
    return table


def _instance_table(breakdown: dict[str, dict[str, float]], sizes: dict[str, int]) -> Table:
    table = Table(title=f"Median {OURS} makespan / baseline makespan, per workflow")
    table.add_column("workflow")
    table.add_column("tasks", justify="right")
    for base in _PER_INSTANCE:
        table.add_column(base, justify="right")
    for name, ratios in breakdown.items():
        table.add_row(name, str(sizes.get(name, "")), *(f"{ratios[b]:.3f}" for b in _PER_INSTANCE))
    return table


def _figures(
    summaries: Sequence[SchedulerSummary], rows: Sequence[RunMetrics], instances: int,
    seeds: int, elapsed_s: float,
) -> dict[str, object]:  # fmt: skip
    by_name = {s.scheduler: s for s in summaries}
    baselines = [s for s in summaries if not s.scheduler.startswith("ours-")]
    worst_loss = max(baselines, key=lambda s: s.losses)
    runs = max((s.runs for s in baselines), default=0)
    return {
        "mode": "quality",
        "ours": OURS,
        "instances": instances,
        "seeds": seeds,
        "runs": len(rows),
        "elapsed_s": round(elapsed_s, 2),
        "ours_vs_heft_static_median": round(by_name["heft-static"].ours_over_this_median, 4),
        "ours_vs_kube_least_allocated_median": round(
            by_name["kube-least-allocated"].ours_over_this_median, 4
        ),
        "max_loss_share": round(worst_loss.losses / runs, 4) if runs else None,
        "max_loss_baseline": worst_loss.scheduler,
        # What a scheduler at the lower bound (critical path on the fastest idle node) would
        # score: the best ratio any placement could reach against each baseline.
        "lower_bound_vs_kube_least_allocated_median": _bound_ratio(rows, "kube-least-allocated"),
        "lower_bound_vs_heft_static_median": _bound_ratio(rows, "heft-static"),
        "kube_target_reach": _target_reach(rows, "kube-least-allocated", _TARGET_VS_KUBE),
        "schedulers": {s.scheduler: s.as_dict() for s in summaries},
    }


def _bound_ratio(rows: Sequence[RunMetrics], baseline: str) -> float | None:
    """Median over the baseline's runs of lower bound / its makespan (= 1 / SLR)."""
    inverse = [1.0 / r.slr for r in rows if r.scheduler == baseline and r.slr > 0]
    return round(float(statistics.median(inverse)), 4) if inverse else None


def _target_reach(rows: Sequence[RunMetrics], baseline: str, target: float) -> dict[str, int]:
    """On how many runs ours, and a schedule on the lower bound, reach ``target`` x baseline.

    The median target is met when more than half the runs are within it; the lower bound
    says on how many runs any placement at all could be.
    """
    base = {(r.instance, r.seed): r for r in rows if r.scheduler == baseline}
    ours_s = {(r.instance, r.seed): r.makespan_s for r in rows if r.scheduler == OURS}
    runs = [key for key in base if key in ours_s]
    return {
        "runs": len(runs),
        "ours_within": sum(ours_s[key] <= target * base[key].makespan_s for key in runs),
        # The bound over the baseline's makespan is 1 / its SLR (as in _bound_ratio).
        "lower_bound_within": sum(base[key].slr * target >= 1.0 for key in runs),
    }


def _verdict(figures: dict[str, object]) -> str:
    heft = float(figures["ours_vs_heft_static_median"])  # type: ignore[arg-type]
    kube = float(figures["ours_vs_kube_least_allocated_median"])  # type: ignore[arg-type]
    loss = float(figures["max_loss_share"] or 0.0)  # type: ignore[arg-type]
    reach: dict[str, int] = figures["kube_target_reach"]  # type: ignore[assignment]
    checks = [
        (f"median {OURS}/heft-static = {heft:.3f} (target <= {_TARGET_VS_STATIC_HEFT})",
         heft <= _TARGET_VS_STATIC_HEFT),
        (f"median {OURS}/kube-least-allocated = {kube:.3f} (target <= {_TARGET_VS_KUBE};"
         f" within it on {reach['ours_within']} of {reach['runs']} runs; the lower bound"
         f" scores {figures['lower_bound_vs_kube_least_allocated_median']} and is within it"
         f" on {reach['lower_bound_within']})",
         kube <= _TARGET_VS_KUBE),
        (f"worst loss share {loss:.1%} vs {figures['max_loss_baseline']}"
         f" (target <= {_MAX_LOSS_SHARE:.0%})", loss <= _MAX_LOSS_SHARE),
    ]  # fmt: skip
    return "\n".join(f"[{'green' if ok else 'red'}]{'met ' if ok else 'MISSED'}[/] {text}"
                     for text, ok in checks)  # fmt: skip


@click.command("placement")
@click.option(
    "--workflow", "workflows", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="WfFormat instance to run (repeatable); default: every shipped instance.",
)  # fmt: skip
@click.option(
    "--seeds", default=10, show_default=True, type=click.IntRange(1, 1000),
    help="Seeds (worlds) per workflow; every scheduler runs the same ones.",
)  # fmt: skip
@click.option(
    "--recipe", "recipes", multiple=True, default=DEFAULT_RECIPES, show_default=True,
    help="Seeded WfCommons recipe workflow RECIPE:TASKS (repeatable).",
)  # fmt: skip
@click.option("--no-recipes", is_flag=True, help="Run no recipe workflows.")
@click.option(
    "--world", type=click.Choice(WORLDS), default=WORLDS[0], show_default=True,
    help="Background load: shared (steal, batch jobs, busy devices hold cores) or mild.",
)  # fmt: skip
@click.option("--mode", type=click.Choice(["quality", "speed"]), default="quality",
              show_default=True)  # fmt: skip
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
    show_default=True, help="Where the plots go.",
)  # fmt: skip
@click.pass_context
def command(
    ctx: click.Context, workflows: tuple[Path, ...], seeds: int, recipes: tuple[str, ...],
    no_recipes: bool, world: str, mode: str, out_dir: Path,
) -> None:  # fmt: skip
    """Placement quality against HEFT, kube-scheduler and Trimaran on a simulated continuum."""
    if mode == "speed":
        if importlib.util.find_spec("bench.placement_speed") is None:
            raise click.ClickException("speed mode is not available (bench/placement_speed.py)")
        speed = importlib.import_module("bench.placement_speed")
        ctx.invoke(speed.command)
        return
    # The table has nine columns: do not let a narrow or absent terminal truncate them.
    console = Console(width=max(Console().width, 150))
    try:
        loaded = _workflows(workflows, () if no_recipes else recipes, seed=0)
    except WfFormatError as err:
        raise click.ClickException(str(err)) from err
    figures = run_quality(loaded, seeds, console, out_dir, world)
    click.echo(json.dumps(figures, sort_keys=True))
