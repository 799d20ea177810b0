"""``continuum bench report``: docs/benchmarks.md's tables, generated from bench/results/*.jsonl.

The doc keeps its prose by hand; each table sits between two marker comments and is rewritten
from the stored results alone, so no figure in a table lacks a stored line and a command::

    <!-- report:agent -->
    (generated: the table, then the command, commit, date and cores it came from)
    <!-- /report -->

A marker may narrow what the table shows: ``last=N`` takes the bench's last N matching records
(each cell then shows the median and, in brackets, each run's figure), and any other
``key=value`` keeps only records whose result has that value (JSON, else a string), and
``key!=value`` those whose result has another value or none::

    <!-- report:pipeline last=3 prometheus_gogc=200 storage!=victoriametrics -->

Run ``continuum bench report`` after ``continuum bench NAME --results``; ``--check`` fails when
the doc is not what the results give (for CI).
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bench._results import RESULTS_DIR, ResultRecord, load_records
from bench.placement_report import render as render_placement

__all__ = ["DOC", "BlockSpec", "command", "parse_spec", "render_block", "render_doc"]

#: The doc the tables live in.
DOC = RESULTS_DIR.parent.parent / "docs" / "benchmarks.md"

_BLOCK = re.compile(
    r"(?P<open><!-- report:(?P<name>[a-z][a-z0-9-]*)(?P<options>[^>]*?) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /report -->)",
    re.DOTALL,
)
_OPTION = re.compile(r'(?P<key>[A-Za-z0-9_.]+)(?P<op>!?=)(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')


@dataclass(frozen=True)
class BlockSpec:
    """What one marker asks for: a bench, how many of its last records, and result filters."""

    bench: str
    last: int = 1
    filters: tuple[tuple[str, Any], ...] = ()
    #: ``key!=value`` filters: records whose value differs (or is absent) are kept.
    exclusions: tuple[tuple[str, Any], ...] = ()

    def select(self, records: Sequence[ResultRecord]) -> list[ResultRecord]:
        kept = [
            r
            for r in records
            if all(_get(r.result, k) == v for k, v in self.filters)
            and all(_get(r.result, k) != v for k, v in self.exclusions)
        ]
        return kept[-self.last :]


def parse_spec(name: str, options: str) -> BlockSpec:
    """A marker's bench name and options (``last=3 prometheus_gogc=200``) as a spec.

    Raises:
        ValueError: an option that is not ``key=value`` or a ``last`` that is not positive.
    """
    last = 1
    filters: list[tuple[str, Any]] = []
    exclusions: list[tuple[str, Any]] = []
    rest = _OPTION.sub("", options).strip()
    if rest:
        raise ValueError(f"report:{name}: option {rest!r} is not key=value")
    for match in _OPTION.finditer(options):
        key = match["key"]
        text = match["quoted"] if match["quoted"] is not None else match["bare"]
        if key == "last":
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"report:{name}: last={text} is not a positive count")
            last = int(text)
            continue
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        (exclusions if match["op"] == "!=" else filters).append((key, value))
    return BlockSpec(name, last, tuple(filters), tuple(exclusions))


_MISSING = object()


def _get(result: Mapping[str, Any], key: str) -> Any:
    """A result's field by dotted path (``rankings.p99_ms``); a sentinel when absent."""
    value: Any = result
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


# -- cells ------------------------------------------------------------------------------------

Format = Callable[[Any], str]


def number(spec: str) -> Format:
    """A format for numbers (``",.0f"``, ``".3f"``); other values as they are."""

    def render(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        return format(value, spec)

    return render


def verdict(value: Any) -> str:
    return "met" if value else "**missed**"


def yes_no(value: Any) -> str:
    return "yes" if value else "**no**"


def plain(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


@dataclass(frozen=True)
class Cell:
    """One table cell: a result key and how to show it (``None``: empty)."""

    key: str | None
    fmt: Format = plain

    def render(self, records: Sequence[ResultRecord]) -> str:
        if self.key is None:
            return ""
        values = [_get(r.result, self.key) for r in records]
        values = [v for v in values if v is not _MISSING]
        if not values:
            return "n/a"
        if len(values) == 1:
            return self.fmt(values[0])
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if not numeric:
            return self.fmt(values[-1])
        runs = "; ".join(self.fmt(v) for v in values)
        return f"{self.fmt(statistics.median(values))} ({runs})"


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]


def row(label: str, *cells: tuple[str | None, Format] | str | None) -> Row:
    """A row from ``(key, format)`` pairs, bare keys (shown as they are) or ``None``."""
    built = []
    for cell in cells:
        if isinstance(cell, tuple):
            built.append(Cell(cell[0], cell[1]))
        else:
            built.append(Cell(cell))
    return Row(label, tuple(built))


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A markdown table; ``align`` gives one character per column, ``r`` for right."""
    marks = ["---:" if (align[i : i + 1] == "r") else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def figure_table(header: Sequence[str], rows: Sequence[Row]) -> Callable[..., str]:
    """A renderer whose rows are figures and whose cells come from the selected records."""

    def render(records: Sequence[ResultRecord]) -> str:
        body = [[r.label, *(c.render(records) for c in r.cells)] for r in rows]
        # A figure the selected runs do not report (an older line) is left out, not shown empty.
        body = [cells for cells in body if any(c not in ("", "n/a") for c in cells[1:])]
        return _markdown(header, body, "l" + "r" * (len(header) - 1))

    return render


# -- the benches' tables ----------------------------------------------------------------------

_ms2, _ms3, _int, _ratio = number(".2f"), number(".3f"), number(",.0f"), number(".3f")

_agent = figure_table(
    ("figure", "agent", "node_exporter", "agent / node_exporter"),
    (
        row(
            "CPU per cycle / per scrape (ms)",
            ("agent_cpu_per_cycle_ms", _ms3),
            ("node_exporter_cpu_per_scrape_ms", _ms3),
            ("cpu_ratio", _ratio),
        ),
        row(
            "CPU per exposed sample (µs)",
            ("agent_cpu_per_sample_us", _ms2),
            ("node_exporter_cpu_per_sample_us", _ms2),
            ("cpu_per_sample_ratio", _ratio),
        ),
        row("CPU per cycle ratio, each paired run", None, None, "cpu_ratio_per_run"),
        row("CPU per sample ratio, each paired run", None, None, "cpu_per_sample_ratio_per_run"),
        row("cycles that ran, each run", "agent_cycles_run", "node_exporter_scrapes_run", None),
        row(
            "samples per cycle (OTLP points / scrape)",
            ("agent_otlp_points_per_cycle", _int),
            ("node_exporter_samples", _int),
            None,
        ),
        row("samples on the agent's /metrics", ("agent_samples", _int), None, None),
        row(
            "steady RSS (MB, decimal)",
            ("agent_rss_mb", number(".1f")),
            ("node_exporter_rss_mb", number(".1f")),
            None,
        ),
        row("scrape wall, median (ms)", None, ("node_exporter_scrape_wall_median_ms", _ms3), None),
        row("target: CPU per cycle <= 1.0x", None, None, ("meets_cpu_target", verdict)),
        row("target: CPU per sample <= 1.0x", None, None, ("meets_cpu_per_sample_target", verdict)),
        row("target: RSS < 45 MB", ("meets_rss_target", verdict), None, None),
    ),
)


def _containers(records: Sequence[ResultRecord]) -> str:
    """One row per container count of the last record (counts are a run's own curve)."""
    result = records[-1].result
    header = (
        "containers",
        "agent ms/cycle",
        "agent ms/container",
        "collector ms",
        "baseline ms",
        "agent / baseline",
        "agent wall ms",
    )
    body = [
        [
            f"{r['containers']:,.0f}",
            f"{r['agent_cpu_ms']:.1f}",
            f"{r['agent_ms_per_container']:.2f}",
            f"{r['collector_cpu_ms']:.1f}",
            f"{r['baseline_cpu_ms']:.1f}",
            f"{r['ratio_to_baseline']:.2f}",
            f"{r['agent_wall_ms']:.1f}",
        ]
        for r in result["rows"]
    ]
    table = _markdown(header, body, "rrrrrrr")
    fit = (
        f"Least-squares fit: {result['fit_ms_per_container']:.3f} ms per container, intercept "
        f"{result['fit_intercept_ms']:.1f} ms a cycle (R² {result['fit_r2']:.3f}); "
        f"at most {result['max_ms_per_container']:.2f} ms per container (target < 2 ms)."
    )
    return f"{table}\n\n{fit}"


_pipeline = figure_table(
    ("figure", "value"),
    (
        row("Prometheus ceiling, the worker's series pre-encoded (samples/s)",
            ("ceiling_samples_per_s", _int)),
        row("**one worker into Prometheus**, written samples/s", ("worker_samples_per_s", _int)),
        row("one worker into Prometheus, ingested agent points/s",
            ("worker_points_per_s", _int)),
        row("ratio to the in-run ceiling", ("ratio_to_ceiling", _ratio)),
        row("**the worker alone**, written samples/s", ("worker_alone_samples_per_s", _int)),
        row("the worker alone, ingested agent points/s", ("worker_alone_points_per_s", _int)),
        row("written samples per ingested point (aggregates, target_info)",
            ("written_per_point", _ratio)),
        row("worker CPU per written sample, into Prometheus (µs)",
            ("worker_cpu_us_per_sample", _ms2)),
        row("worker CPU per written sample, alone (µs)", ("worker_alone_cpu_us_per_sample", _ms2)),
        row("Prometheus CPU per sample, while the worker writes (µs)",
            ("prometheus_cpu_us_per_sample", _ms2)),
        row("Prometheus CPU per sample, ceiling (µs)",
            ("ceiling_prometheus_cpu_us_per_sample", _ms2)),
        row("share of the drain paused on backpressure", ("paused_share", _ratio)),
        row("Prometheus RSS after the drain (MiB)", ("prometheus_rss_mib", _int)),
        row("peak pending samples (bound)", ("peak_pending_samples", _int)),
        row("peak RSS of the bench process, worker included (MiB)", ("peak_rss_mib", _int)),
        row("real time: offered agent points/s", ("offered_samples_per_s", _int)),
        row("real time: agent points produced", ("real_time_points_produced", _int)),
        row("real time: every produced point acknowledged",
            ("real_time_all_acknowledged", yes_no)),
        row("freshness p50 (s), collection to acknowledgement", ("freshness_p50_s", _ms3)),
        row("freshness p99 (s)", ("freshness_p99_s", _ms3)),
        # --storage victoriametrics: the same worker and backlog into VictoriaMetrics.
        row("VictoriaMetrics ceiling, the same requests (samples/s)",
            ("vm_ceiling_samples_per_s", _int)),
        row("**one worker into VictoriaMetrics**, written samples/s",
            ("vm_worker_samples_per_s", _int)),
        row("into VictoriaMetrics / into Prometheus, same run", ("vm_over_prometheus", _ratio)),
        row("ratio to VictoriaMetrics's in-run ceiling", ("vm_ratio_to_ceiling", _ratio)),
        row("worker CPU per written sample, into VictoriaMetrics (µs)",
            ("vm_worker_cpu_us_per_sample", _ms2)),
        row("VictoriaMetrics CPU per sample, while the worker writes (µs)",
            ("vm_store_cpu_us_per_sample", _ms2)),
        row("VictoriaMetrics CPU per sample, ceiling (µs)",
            ("vm_ceiling_cpu_us_per_sample", _ms2)),
        row("share of the drain into VictoriaMetrics paused on backpressure",
            ("vm_paused_share", _ratio)),
        row("VictoriaMetrics RSS after the drain (MiB)", ("vm_rss_mib", _int)),
        row("target: 250,000 samples/s into Prometheus", ("meets_throughput_target", verdict)),
        row("target: 250,000 samples/s into VictoriaMetrics",
            ("vm_meets_throughput_target", verdict)),
        row("target: freshness p99 < 2 s", ("meets_freshness_target", verdict)),
    ),
)  # fmt: skip


def _api(records: Sequence[ResultRecord]) -> str:
    """One row per fleet size, path and arrival rate of the last record (one open-loop run)."""
    record = records[-1]

    def ms(value: Any, requests: int = 1) -> str:
        if requests == 0:
            return "-"
        return "unanswered" if value is None else f"{value:.2f}"

    header = (
        "nodes",
        "request",
        "arrivals/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "p99 in refresh windows ms",
        "refreshes",
        "bad bodies / unanswered",
        "generator CPU",
        "generator on schedule",
    )
    body = [
        [
            f"{r['nodes']:,}",
            f"`{'GET' if r['path'] == '/healthz' else 'POST'} {r['path']}`",
            f"{r['rate_per_s']:,.0f}",
            ms(r["p50_ms"]),
            ms(r["p99_ms"]),
            ms(r["p999_ms"]),
            ms(r["p99_in_refresh_ms"], r["requests_in_refresh"]),
            str(r["refreshes"]),
            f"{r['bad_answers']} / {r['unanswered']}",
            f"{r['generator_cpu_share']:.0%}",
            "yes" if r["schedule_kept"] else f"no (p99 {r['generator_wake_lag_p99_ms']} ms late)",
        ]
        for r in record.result["runs"]
    ]
    table = _markdown(header, body, "rlrrrrrrrrl")
    result = record.result
    target = (
        "Target (p99 < 10 ms at 1,000 requests/s with 1,000 nodes, refresh windows included): "
        + ("not measured in this run" if result.get("targets_met") is None
           else verdict(result["targets_met"]))
        + f"; refresh in background: {str(result.get('refresh_in_background')).lower()}."
    )  # fmt: skip
    return f"{table}\n\n{target}"


_placement_speed = figure_table(
    ("case", "engine", "random placer"),
    (
        row(
            "independent tasks, placements/s",
            ("independent_placements_per_s", _int),
            ("random_independent_placements_per_s", _int),
        ),
        row(
            "layered DAG, HEFT plan (s)", ("heft_graph_plan_s", _ms3), ("random_graph_plan_s", _ms3)
        ),
        row("same DAG, LPT plan (s)", ("lpt_graph_plan_s", _ms3), None),
        row("target: >= 10,000 placements/s", ("meets_placements_target", verdict), None),
        row("target: graph planned in < 2 s", ("meets_graph_target", verdict), None),
    ),
)


def _soak(records: Sequence[ResultRecord]) -> str:
    """One row per selected record: a soak's figures are one run's, its command the row."""
    header = (
        "command",
        "offered / written samples/s",
        "lost",
        "freshness p50 / p99",
        "RSS growth, first to last minute",
    )
    body = []
    for record in records:
        r = record.result
        growth = ", ".join(
            f"{name} x{m['growth_ratio']:.3f}" for name, m in sorted(r["memory_mib"].items())
        )
        body.append(
            [
                f"`{record.command}`",
                f"{r['offered_samples_per_s']:,} / {r['written_samples_per_s']:,} "
                f"(x{r['written_to_offered']:.3f})",
                f"{r['loss']:,} of {r['exports_acked']:,} exports",
                f"{r['freshness_p50_s']:.3f} s / {r['freshness_p99_s']:.2f} s",
                growth,
            ]
        )
    return _markdown(header, body)


#: Each bench's renderer: the selected records (oldest first) to markdown.
RENDERERS: dict[str, Callable[[Sequence[ResultRecord]], str]] = {
    "agent": _agent,
    "containers": _containers,
    "pipeline": _pipeline,
    "api": _api,
    "placement": render_placement,
    "placement-speed": _placement_speed,
    "soak": _soak,
}


def _provenance(records: Sequence[ResultRecord]) -> str:
    """Which command, commit, date and machine the table came from."""
    if len(records) == 1 or len({(r.command, r.commit) for r in records}) == 1:
        first, last = records[0], records[-1]
        dates = first.date if first is last else f"{first.date} to {last.date}"
        runs = "" if len(records) == 1 else f"{len(records)} runs of "
        return (
            f"From {runs}`{first.command}` at commit `{first.commit[:10]}` "
            f"({dates}, {first.cores} cores; `bench/results/{first.bench}.jsonl`)."
        )
    lines = [f"From {len(records)} runs (`bench/results/{records[0].bench}.jsonl`):"]
    lines += [
        f"- `{r.command}` at commit `{r.commit[:10]}` ({r.date}, {r.cores} cores)" for r in records
    ]
    return "\n".join(lines)


def render_block(spec: BlockSpec, records: Mapping[str, Sequence[ResultRecord]]) -> str:
    """The generated text of one block: its table, then where it came from.

    Raises:
        ValueError: no renderer for the bench, or no stored record that the spec selects.
    """
    renderer = RENDERERS.get(spec.bench)
    if renderer is None:
        raise ValueError(f"report:{spec.bench}: no such bench report ({', '.join(RENDERERS)})")
    chosen = spec.select(records.get(spec.bench, ()))
    if not chosen:
        wanted = " ".join(
            [f"{k}={json.dumps(v)}" for k, v in spec.filters]
            + [f"{k}!={json.dumps(v)}" for k, v in spec.exclusions]
        )
        raise ValueError(
            f"report:{spec.bench}: no stored result{' with ' + wanted if wanted else ''} "
            f"(run `continuum bench {spec.bench} --results`)"
        )
    return f"{renderer(chosen)}\n\n{_provenance(chosen)}\n"


def render_doc(
    text: str,
    records: Mapping[str, Sequence[ResultRecord]],
    errors: list[str] | None = None,
    only: Collection[str] | None = None,
) -> str:
    """``text`` with every report block's body regenerated; text outside the blocks is kept.

    Args:
        errors: where a block that cannot be rendered (no stored result yet, a bad marker) is
            reported and left as it is, so the others still render; without it the first such
            block raises.
        only: render the blocks of these benches alone and leave the others as they are.

    Raises:
        ValueError: a block that cannot be rendered, when ``errors`` is not given.
    """

    def replace(match: re.Match[str]) -> str:
        if only is not None and match["name"] not in only:
            return match[0]
        try:
            spec = parse_spec(match["name"], match["options"])
            return match["open"] + render_block(spec, records) + match["close"]
        except ValueError as err:
            if errors is None:
                raise
            errors.append(str(err))
            return match[0]

    return _BLOCK.sub(replace, text)


@click.command(name="report")
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS_DIR,
    show_default=True,
    help="Where the benches' --results lines are.",
)
@click.option(
    "--doc",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DOC,
    show_default=True,
    help="The markdown file whose report blocks are regenerated.",
)
@click.option("--check", is_flag=True, help="Change nothing; fail if the doc is out of date.")
@click.option(
    "--only",
    multiple=True,
    metavar="BENCH",
    help="Regenerate this bench's blocks alone (repeatable); the others are left as they are.",
)
def command(results_dir: Path, doc: Path, check: bool, only: tuple[str, ...]) -> None:
    """Regenerate docs/benchmarks.md's tables from bench/results/*.jsonl."""
    errors: list[str] = []
    try:
        records = load_records(results_dir)
        text = doc.read_text(encoding="utf-8")
        rendered = render_doc(text, records, errors, set(only) if only else None)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    blocks = sum(1 for m in _BLOCK.finditer(text) if not only or m["name"] in only)
    if rendered == text:
        click.echo(f"{doc}: {blocks - len(errors)} of {blocks} report blocks up to date")
    elif check:
        raise click.ClickException(f"{doc} is out of date: run `continuum bench report`")
    else:
        doc.write_text(rendered, encoding="utf-8")
        click.echo(f"{doc}: {blocks - len(errors)} of {blocks} report blocks regenerated")
    if errors:
        # The blocks that rendered are written; these are left as they were, and the run fails.
        raise click.ClickException("\n".join(errors))
