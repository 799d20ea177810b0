"""``continuum bench placement``: placement quality on a simulated continuum, or engine speed.

Quality mode runs workflows under every scheduler on the same seeds, prints a table of medians,
IQRs and win/tie/loss counts of ours against each baseline per set of runs, writes the plots into
``--out-dir`` and ends with one JSON line of the figures. ``--world`` picks the background load
(``shared``, the default, or ``mild``; see :mod:`bench.sim._load`). Speed mode hands over to
``bench.placement_speed``.

By default it runs the held-out protocol. The policy's constants were chosen on the *tuning*
set (the shipped traces, seeds 0-9); the figures that count, the flat keys of the JSON line,
come from runs tuning never saw: the same traces on seeds 100-119 (*held-out seeds*) and recipe
workflows at sizes no tuning run had, on those seeds (*held-out sizes*). A run that fails or
crashes stays in as a loss for the scheduler that failed. ``--seeds N`` (with ``--first-seed``,
``--workflow`` and ``--recipe``) runs one custom set instead.

Example::

    continuum bench placement                       # the held-out protocol
    continuum bench placement --world mild
    continuum bench placement --workflow my-instance.json --seeds 3
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.sim import (
    RECIPES,
    WORLDS,
    RunMetrics,
    SchedulerSummary,
    WfFormatError,
    Workflow,
    all_schedulers,
    build_continuum,
    failed_run,
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

__all__ = [
    "HELD_OUT_RECIPES",
    "HELD_OUT_SEEDS",
    "TUNING_SEEDS",
    "RunSet",
    "command",
    "data_dir",
    "protocol_sets",
    "run_quality",
]

#: The engine's default ordering stands for "ours" in the comparisons.
OURS = "ours-heft"
#: Seeds the policy's constants (scheduler_api.placement.PolicyConfig) were chosen on.
TUNING_SEEDS = range(10)
#: Seeds no tuning run used.
HELD_OUT_SEEDS = range(100, 120)
#: Recipe workflows (recipe:tasks) at sizes tuning never saw: it ran the traces alone, 22 to
#: 104 tasks. Generated with the first held-out seed, so no instance was seen either.
HELD_OUT_RECIPES = ("montage:500", "epigenomics:400", "cycles:600", "seismology:300", "blast:200")
_GANTT_MAX_TASKS = 400
#: Baselines broken down per instance in the second table.
_PER_INSTANCE = ("kube-least-allocated", "heft-static", "heft-online", "trimaran-lvrb")
_TARGET_VS_STATIC_HEFT = 0.9
_TARGET_VS_KUBE = 0.7
_MAX_LOSS_SHARE = 0.1


def data_dir() -> Path:
    """The WfCommons instances and their schema, shipped in ``bench/data/wfcommons``."""
    return Path(__file__).resolve().parent / "data" / "wfcommons"


@dataclass(frozen=True, slots=True)
class RunSet:
    """Workflows run under every scheduler on every one of ``seeds``, reported together."""

    name: str
    workflows: Sequence[Workflow]
    seeds: Sequence[int]
    #: Whether the set's runs are the ones the flat figures come from.
    held_out: bool


def protocol_sets() -> list[RunSet]:
    """Tuning, held-out seeds and held-out sizes (see the module's docstring)."""
    traces = _traces(())
    recipes = _recipes(HELD_OUT_RECIPES, seed=HELD_OUT_SEEDS[0])
    return [
        RunSet("tuning", traces, TUNING_SEEDS, held_out=False),
        RunSet("held-out seeds", traces, HELD_OUT_SEEDS, held_out=True),
        RunSet("held-out sizes", recipes, HELD_OUT_SEEDS, held_out=True),
    ]


def _schema() -> dict[str, Any]:
    schema_path = data_dir() / "wfcommons-schema.json"
    if not schema_path.exists():
        raise click.ClickException(
            f"WfFormat schema not found at {schema_path}: the bench package is installed"
            " without its data (bench/data/wfcommons)"
        )
    return load_schema(schema_path)


def _traces(paths: Sequence[Path]) -> list[Workflow]:
    """The WfFormat files at ``paths``, or every shipped trace."""
    schema = _schema()
    files = list(paths) or sorted(data_dir().glob("*.json"))
    return [load_wfformat(f, schema) for f in files if f.name != "wfcommons-schema.json"]


def _recipes(specs: Sequence[str], seed: int) -> list[Workflow]:
    """Recipe workflows from ``RECIPE:TASKS`` specs, generated with ``seed``."""
    schema = _schema()
    out = []
    for item in specs:
        name, _, size = item.partition(":")
        if name not in RECIPES or not size.isdigit():
            raise click.BadParameter(f"{item!r}: expected RECIPE:TASKS with RECIPE in {RECIPES}")
        out.append(generate_workflow(name, num_tasks=int(size), seed=seed, schema=schema))
    return out


def run_quality(
    sets: Sequence[RunSet], console: Console, out_dir: Path | None, world: str = WORLDS[0],
) -> dict[str, object]:  # fmt: skip
    """Run every scheduler on each set's workflows and seeds in ``world``; print; return figures.

    The flat figures come from the held-out sets together (every set when none is held out);
    ``sets`` in the result holds each set's own. Plots go to ``out_dir`` as
    ``placement-<world>-makespan.png`` (the runs the flat figures come from) and ``-gantt.png``.
    """
    started = time.perf_counter()
    rows_by_set: dict[str, list[RunMetrics]] = {}
    errors: list[str] = []
    total = sum(len(rs.workflows) * len(rs.seeds) for rs in sets)
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("simulating", total=total)
        for rs in sets:
            rows_by_set[rs.name] = _run_set(rs, world, errors, lambda: progress.advance(bar))
    elapsed_s = time.perf_counter() - started
    counted = [rs for rs in sets if rs.held_out] or list(sets)
    per_set: dict[str, object] = {}
    for rs in sets:
        rows = rows_by_set[rs.name]
        title = f"{rs.name}: {len(rs.workflows)} workflows x seeds {_seed_span(rs.seeds)}"
        per_set[rs.name] = _report(rows, rs.workflows, len(rs.seeds), console, title, world)
    headline = [r for rs in counted for r in rows_by_set[rs.name]]
    workflows = [w for rs in counted for w in rs.workflows]
    if len(counted) > 1:
        title = "held-out, together: " + ", ".join(rs.name for rs in counted)
        figures = _report(headline, workflows, 0, console, title, world)
    else:
        figures = dict(per_set[counted[0].name])  # type: ignore[call-overload]
    figures.update(
        world=world,
        elapsed_s=round(elapsed_s, 2),
        seeds=len({seed for rs in counted for seed in rs.seeds}),
        seed_values=sorted({seed for rs in counted for seed in rs.seeds}),
        counted_sets=[rs.name for rs in counted],
        sets=per_set,
        failed_runs=errors,
    )
    for line in errors:
        console.print(f"[red]failed run[/] {line}")
    console.print(_verdict(figures))
    if out_dir is not None:
        _plots(headline, counted, world, out_dir, console)
    return figures


def _run_set(
    rs: RunSet, world: str, errors: list[str], advance: Callable[[], None]
) -> list[RunMetrics]:
    rows: list[RunMetrics] = []
    for wf in rs.workflows:
        for seed in rs.seeds:
            continuum = build_continuum(seed, world)
            for scheduler in all_schedulers(seed):
                try:
                    result = simulate(wf, continuum, scheduler)
                except Exception as err:  # a crash is a result: a loss
                    # A scheduler that breaks is reported, never hidden, and its run counts as
                    # a loss (infinite makespan), so failing is never better than finishing.
                    errors.append(f"{rs.name}: {scheduler.name} on {wf.name} seed {seed}: {err!r}")
                    rows.append(failed_run(wf.name, seed, scheduler.name))
                    continue
                rows.append(run_metrics(wf.name, seed, result, wf, continuum))
            advance()
    return with_ratios(rows)


def _seed_span(seeds: Sequence[int]) -> str:
    ordered = sorted(seeds)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(map(str, ordered))


def _report(
    rows: Sequence[RunMetrics], workflows: Sequence[Workflow], seeds: int, console: Console,
    title: str, world: str,
) -> dict[str, object]:  # fmt: skip
    """Print a set's tables and return its figures (``seeds`` 0: sets of different seeds)."""
    summaries = sorted(summarise(rows, OURS), key=lambda s: s.makespan_ratio_median)
    console.print(_table(summaries, f"Placement quality, {world} world, {title}"))
    breakdown = per_instance(rows, OURS, _PER_INSTANCE)
    if seeds:
        console.print(_instance_table(breakdown, {w.name: len(w.tasks) for w in workflows}))
    figures = _figures(summaries, rows, len(workflows), seeds)
    figures["ours_over_baseline_median_per_instance"] = {
        name: {base: round(v, 4) for base, v in ratios.items()}
        for name, ratios in breakdown.items()
    }
    return figures


def _plots(
    rows: Sequence[RunMetrics], sets: Sequence[RunSet], world: str, out_dir: Path,
    console: Console,
) -> None:  # fmt: skip
    stem = f"placement-{world}"
    makespan_plot(rows, out_dir / f"{stem}-makespan.png")
    # The Gantt shows one mid-sized run: the largest workflow that still reads as a chart.
    rs, wf = max(
        ((rs, w) for rs in sets for w in rs.workflows),
        key=lambda item: (len(item[1].tasks) <= _GANTT_MAX_TASKS, len(item[1].tasks)),
    )
    seed = rs.seeds[0]
    continuum = build_continuum(seed, world)
    ours = next(s for s in all_schedulers(seed) if s.name == OURS)
    try:
        result = simulate(wf, continuum, ours)
    except Exception as err:  # already counted as a failed run
        console.print(f"[red]no Gantt chart[/]: {OURS} failed on {wf.name} seed {seed}: {err!r}")
    else:
        title = f"{wf.name} ({len(wf.tasks)} tasks), seed {seed}"
        gantt_plot(result, continuum, out_dir / f"{stem}-gantt.png", title=title)
    console.print(f"plots written to {out_dir}/{stem}-makespan.png, {stem}-gantt.png")


#: The shipped traces the lab runs by default (small enough for minutes per run).
LAB_WORKFLOWS = ("srasearch", "epigenomics", "blast")
#: How the lab's runs are scaled and loaded (docs/lab.md): a workflow's work over the lab's
#: two cores takes 30 s, the loaded node moves every 15 s, the largest file is 1 MiB; a run
#: then takes one to two minutes, and 3 traces x 3 seeds x 3 schedulers about an hour.
LAB_SETTINGS: dict[str, float] = {"target_s": 30.0, "epoch_s": 15.0, "max_file_bytes": 1 << 20}


def _run_on_lab(paths: Sequence[Path], seeds: Sequence[int], console: Console) -> None:
    """``--lab``: the shipped policy against the baselines on real execution; the JSON line."""
    from bench import placement_lab
    from continuum._state import TokenFileError
    from continuum.lab import LabError

    workflows = _traces(paths) if paths else [
        placement_lab.shipped_workflow(prefix) for prefix in LAB_WORKFLOWS
    ]  # fmt: skip
    try:
        target = placement_lab.lab_target()
        figures = placement_lab.run_lab(
            workflows,
            list(seeds),
            target=target,
            target_s=LAB_SETTINGS["target_s"],
            epoch_s=LAB_SETTINGS["epoch_s"],
            max_file_bytes=int(LAB_SETTINGS["max_file_bytes"]),
            log=lambda line: console.print(line),
        )
    except (LabError, TokenFileError, OSError, httpx.HTTPError) as err:
        raise click.ClickException(
            f"the lab is not ready ({err}): start it with `sudo continuum lab up --topology "
            f"{placement_lab.LAB_TOPOLOGY}` and its control plane with "
            "`sudo CONTINUUM_STACK__HOST=<the topology's root address> continuum up`"
            " (docs/lab.md)"
        ) from err
    click.echo(json.dumps(figures, sort_keys=True))


def _table(summaries: Sequence[SchedulerSummary], title: str) -> Table:
    table = Table(title=title)
    for col in (
        "scheduler", "makespan/best (median)", "IQR", "SLR", "GB moved", "cross-tier GB",
        "overloaded node-s", f"{OURS}/this", "win/tie/loss", "failed",
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
            str(s.failed),
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
    seeds: int,
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
        "failed": sum(r.failed for r in rows),
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
    help="WfFormat instance to run in a custom set (repeatable); default: the shipped traces.",
)  # fmt: skip
@click.option(
    "--seeds", type=click.IntRange(1, 1000), default=None,
    help="Run one custom set on this many seeds instead of the held-out protocol [default: 10"
    " with --workflow or --recipe].",
)  # fmt: skip
@click.option(
    "--first-seed", default=0, show_default=True, type=click.IntRange(0),
    help="First seed of the custom set.",
)  # fmt: skip
@click.option(
    "--recipe", "recipes", multiple=True,
    help="Seeded WfCommons recipe workflow RECIPE:TASKS in a custom set (repeatable).",
)  # fmt: skip
@click.option(
    "--world", type=click.Choice(WORLDS), default=WORLDS[0], show_default=True,
    help="Background load: shared (steal, batch jobs, busy devices hold cores) or mild.",
)  # fmt: skip
@click.option("--mode", type=click.Choice(["quality", "speed"]), default="quality",
              show_default=True)  # fmt: skip
@click.option(
    "--lab", is_flag=True,
    help="Run on the lab instead of the simulator: real execution on `continuum lab` nodes"
    " (docs/lab.md); --seeds (default 3, from --first-seed or 1) and --workflow apply.",
)  # fmt: skip
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
    show_default=True, help="Where the plots go.",
)  # fmt: skip
@click.pass_context
def command(
    ctx: click.Context, workflows: tuple[Path, ...], seeds: int | None, first_seed: int,
    recipes: tuple[str, ...], world: str, mode: str, lab: bool, out_dir: Path,
) -> None:  # fmt: skip
    """Placement quality against HEFT, kube-scheduler and Trimaran on a simulated continuum.

    With no set given, runs the held-out protocol: tuning (shipped traces, seeds 0-9), held-out
    seeds (the traces on seeds 100-119) and held-out sizes (recipe workflows at sizes tuning
    never saw); the headline figures come from the held-out runs.
    """
    if mode == "speed":
        if importlib.util.find_spec("bench.placement_speed") is None:
            raise click.ClickException("speed mode is not available (bench/placement_speed.py)")
        speed = importlib.import_module("bench.placement_speed")
        ctx.invoke(speed.command)
        return
    # The table has ten columns: do not let a narrow or absent terminal truncate them.
    console = Console(width=max(Console().width, 160))
    if lab:
        start = first_seed or 1
        _run_on_lab(workflows, range(start, start + (seeds or 3)), console)
        return
    try:
        if seeds is None and not workflows and not recipes:
            sets = protocol_sets()
        else:
            custom = range(first_seed, first_seed + (seeds or 10))
            # Recipes alone run alone; files (or, with none, the shipped traces) otherwise.
            traces = _traces(workflows) if workflows or not recipes else []
            loaded = traces + _recipes(recipes, seed=first_seed)
            sets = [RunSet("custom", loaded, custom, held_out=False)]
    except WfFormatError as err:
        raise click.ClickException(str(err)) from err
    figures = run_quality(sets, console, out_dir, world)
    click.echo(json.dumps(figures, sort_keys=True))
