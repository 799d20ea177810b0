"""`continuum bench report`: report blocks regenerated from small result files, prose kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from bench._results import ResultRecord, append_record, load_records
from bench.report import BlockSpec, command, parse_spec, render_block, render_doc
from continuum._cmd_bench import bench


def _record(bench: str, result: dict[str, Any], commit: str = "a" * 40, **kw: Any) -> ResultRecord:
    return ResultRecord(
        bench=bench,
        command=kw.get("command", f"continuum bench {bench}"),
        commit=commit,
        date=kw.get("date", "2026-12-03T18:00:00Z"),
        cores=2,
        result=result,
    )


_AGENT = {
    "agent_cpu_per_cycle_ms": 6.5,
    "node_exporter_cpu_per_scrape_ms": 5.0,
    "cpu_ratio": 1.3,
    "cpu_ratio_per_run": [1.2, 1.3, 1.4],
    "agent_cpu_per_sample_us": 40.0,
    "node_exporter_cpu_per_sample_us": 20.0,
    "cpu_per_sample_ratio": 2.0,
    "meets_cpu_target": False,
    "meets_rss_target": True,
}

_DOC = """# Benchmarks

Prose before, by hand.

<!-- report:agent -->
stale table
<!-- /report -->

More prose: 0.63 was the old ratio.

## Placement

Placement text with | a | table | that is not a report block.
"""


def _results(tmp_path: Path, *records: ResultRecord) -> Path:
    directory = tmp_path / "results"
    for record in records:
        append_record(directory, record)
    return directory


def test_a_block_is_regenerated_and_the_prose_around_it_kept(tmp_path: Path) -> None:
    records = load_records(_results(tmp_path, _record("agent", _AGENT)))
    out = render_doc(_DOC, records)
    assert "stale table" not in out
    before, _open, rest = out.partition("<!-- report:agent -->\n")
    block, _close, after = rest.partition("<!-- /report -->")
    assert before == _DOC.partition("<!-- report:agent -->")[0]
    assert after == _DOC.partition("<!-- /report -->")[2]
    assert "| CPU per cycle / per scrape (ms) | 6.500 | 5.000 | 1.300 |" in block
    assert "| CPU per exposed sample (µs) | 40.00 | 20.00 | 2.000 |" in block
    assert "1.2, 1.3, 1.4" in block
    assert "**missed**" in block  # the CPU target
    # Figures the record does not hold are left out rather than shown empty.
    assert "steady RSS" not in block
    assert "From `continuum bench agent` at commit `aaaaaaaaaa`" in block
    assert "2026-12-03T18:00:00Z, 2 cores" in block
    # Rendering again gives the same text: the report is a fixed point.
    assert render_doc(out, records) == out


def test_several_runs_show_the_median_and_each_run(tmp_path: Path) -> None:
    runs = [
        _record("placement-speed", {"independent_placements_per_s": v, "heft_graph_plan_s": s})
        for v, s in ((20_000.0, 1.1), (10_000.0, 1.3), (30_000.0, 0.9))
    ]
    block = render_block(BlockSpec("placement-speed", last=3), {"placement-speed": runs})
    assert "| independent tasks, placements/s | 20,000 (20,000; 10,000; 30,000) |" in block
    assert "| layered DAG, HEFT plan (s) | 1.100 (1.100; 1.300; 0.900) |" in block
    assert "From 3 runs of `continuum bench placement-speed`" in block


def test_filters_pick_the_records_of_one_configuration() -> None:
    spec = parse_spec("pipeline", ' last=2 prometheus_gogc=200 command="x y"')
    assert spec == BlockSpec("pipeline", 2, (("prometheus_gogc", 200), ("command", "x y")))
    runs = [
        _record("pipeline", {"prometheus_gogc": gogc, "worker_samples_per_s": rate})
        for gogc, rate in ((None, 1), (200, 2), (None, 3), (200, 4), (200, 5))
    ]
    chosen = parse_spec("pipeline", " last=2 prometheus_gogc=200").select(runs)
    assert [r.result["worker_samples_per_s"] for r in chosen] == [4, 5]
    default = parse_spec("pipeline", " last=5 prometheus_gogc=null").select(runs)
    assert [r.result["worker_samples_per_s"] for r in default] == [1, 3]


def test_an_exclusion_keeps_records_with_another_value_or_none() -> None:
    spec = parse_spec("pipeline", " last=5 storage!=victoriametrics")
    assert spec == BlockSpec("pipeline", 5, (), (("storage", "victoriametrics"),))
    runs = [
        _record("pipeline", {"worker_samples_per_s": 1}),  # before the key existed
        _record("pipeline", {"storage": "victoriametrics", "worker_samples_per_s": 2}),
        _record("pipeline", {"storage": "prometheus", "worker_samples_per_s": 3}),
    ]
    assert [r.result["worker_samples_per_s"] for r in spec.select(runs)] == [1, 3]
    with pytest.raises(ValueError, match='storage!="victoriametrics"'):
        render_block(spec, {"pipeline": runs[1:2]})


def test_runs_of_different_commands_are_each_named(tmp_path: Path) -> None:
    memory = {"pipeline": {"growth_ratio": 1.01}, "api": {"growth_ratio": 1.02}}
    soak = {
        "offered_samples_per_s": 2020,
        "written_samples_per_s": 2336,
        "written_to_offered": 1.156,
        "loss": 0,
        "exports_acked": 2400,
        "freshness_p50_s": 0.364,
        "freshness_p99_s": 1.75,
        "memory_mib": memory,
    }
    runs = [
        _record("soak", soak, command="continuum bench soak --nodes 200", commit="b" * 40),
        _record("soak", soak, command="continuum bench soak --nodes 2000", commit="c" * 40),
    ]
    block = render_block(BlockSpec("soak", last=2), {"soak": runs})
    assert "| `continuum bench soak --nodes 200` | 2,020 / 2,336 (x1.156) | 0 of 2,400" in block
    assert "api x1.020, pipeline x1.010" in block
    assert "- `continuum bench soak --nodes 2000` at commit `cccccccccc`" in block


def test_containers_rows_are_the_counts_of_the_last_run() -> None:
    rows = [
        {
            "containers": n,
            "agent_cpu_ms": n * 0.7,
            "agent_ms_per_container": 0.7,
            "collector_cpu_ms": n * 0.3,
            "baseline_cpu_ms": n * 0.5,
            "ratio_to_baseline": 1.4,
            "agent_wall_ms": n * 0.8,
        }
        for n in (10, 100)
    ]
    result = {
        "rows": rows,
        "fit_ms_per_container": 0.7,
        "fit_intercept_ms": 0.0,
        "fit_r2": 1.0,
        "max_ms_per_container": 0.7,
    }
    block = render_block(BlockSpec("containers"), {"containers": [_record("containers", result)]})
    assert "| 100 | 70.0 | 0.70 | 30.0 | 50.0 | 1.40 | 80.0 |" in block
    assert "0.700 ms per container" in block


def test_api_rows_are_the_runs_of_the_last_record() -> None:
    run = {
        "nodes": 1000,
        "path": "/v1/rankings",
        "rate_per_s": 1000.0,
        "p50_ms": 1.04,
        "p99_ms": 67.4,
        "p999_ms": None,
        "p99_in_refresh_ms": 82.0,
        "requests_in_refresh": 254,
        "refreshes": 2,
        "bad_answers": 0,
        "unanswered": 3,
        "generator_cpu_share": 0.06,
        "generator_wake_lag_p99_ms": 3.1,
        "schedule_kept": False,
    }
    result = {"runs": [run], "targets_met": False, "refresh_in_background": True}
    block = render_block(BlockSpec("api"), {"api": [_record("api", result)]})
    assert (
        "| 1,000 | `POST /v1/rankings` | 1,000 | 1.04 | 67.40 | unanswered | 82.00 | 2 | 0 / 3 "
        "| 6% | no (p99 3.1 ms late) |"
    ) in block
    assert "**missed**; refresh in background: true." in block


def test_a_block_without_a_stored_result_is_an_error() -> None:
    with pytest.raises(ValueError, match="no stored result with prometheus_gogc=200"):
        render_block(parse_spec("pipeline", " prometheus_gogc=200"), {})
    with pytest.raises(ValueError, match="no such bench report"):
        render_block(BlockSpec("nosuch"), {})
    with pytest.raises(ValueError, match="not key=value"):
        parse_spec("agent", " last")
    with pytest.raises(ValueError, match="positive"):
        parse_spec("agent", " last=0")


def test_the_command_writes_the_doc_and_checks_it(tmp_path: Path) -> None:
    results = _results(tmp_path, _record("agent", _AGENT))
    doc = tmp_path / "benchmarks.md"
    doc.write_text(_DOC)
    args = ["--results-dir", str(results), "--doc", str(doc)]
    stale = CliRunner().invoke(command, [*args, "--check"])
    assert stale.exit_code != 0
    assert "out of date" in stale.output
    assert doc.read_text() == _DOC
    written = CliRunner().invoke(command, args)
    assert written.exit_code == 0, written.output
    assert "1 of 1 report blocks regenerated" in written.output
    assert "| CPU per cycle / per scrape (ms) | 6.500 |" in doc.read_text()
    fresh = CliRunner().invoke(command, [*args, "--check"])
    assert fresh.exit_code == 0, fresh.output
    assert "up to date" in fresh.output


def test_report_is_a_bench_subcommand_without_results_flag(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(_DOC.replace("report:agent", "report:soak"))
    result = CliRunner().invoke(
        bench, ["report", "--results-dir", str(tmp_path / "none"), "--doc", str(doc)]
    )
    assert result.exit_code != 0
    assert "report:soak: no stored result" in result.output
    report = bench.get_command(click.Context(bench), "report")
    assert report is not None
    # A report measures nothing, so it keeps no result of its own.
    assert "results" not in {p.name for p in report.params}
    assert "check" in {p.name for p in report.params}


def test_a_block_without_results_is_left_as_it_is_while_the_others_render(
    tmp_path: Path,
) -> None:
    results = _results(tmp_path, _record("agent", _AGENT))
    doc = tmp_path / "benchmarks.md"
    doc.write_text(_DOC + "<!-- report:soak -->\nkept\n<!-- /report -->\n")
    result = CliRunner().invoke(command, ["--results-dir", str(results), "--doc", str(doc)])
    assert result.exit_code != 0
    assert "report:soak: no stored result" in result.output
    assert "1 of 2 report blocks regenerated" in result.output
    text = doc.read_text()
    assert "| CPU per cycle / per scrape (ms) | 6.500 |" in text
    assert "<!-- report:soak -->\nkept\n<!-- /report -->" in text


def test_only_leaves_the_other_benches_blocks_as_they_are(tmp_path: Path) -> None:
    results = _results(tmp_path, _record("agent", _AGENT))
    doc = tmp_path / "benchmarks.md"
    doc.write_text(_DOC + "<!-- report:soak -->\nkept\n<!-- /report -->\n")
    args = ["--results-dir", str(results), "--doc", str(doc), "--only", "agent"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    assert "1 of 1 report blocks regenerated" in result.output
    assert "<!-- report:soak -->\nkept\n<!-- /report -->" in doc.read_text()


def test_a_broken_result_line_names_its_file(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "agent.jsonl").write_text(json.dumps({"bench": "agent"}) + "\n")
    doc = tmp_path / "benchmarks.md"
    doc.write_text(_DOC)
    result = CliRunner().invoke(command, ["--results-dir", str(results), "--doc", str(doc)])
    assert result.exit_code != 0
    assert "agent.jsonl:1" in result.output
