"""`continuum bench agent` at its smallest: one paired run, its JSON line's fields."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from bench.agent import EQUAL_WORK_COLLECTORS
from continuum._cmd_bench import bench

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus-node-exporter") is None, reason="needs prometheus-node-exporter"
)


def test_agent_bench_pairs_the_agent_with_node_exporter_on_equal_work() -> None:
    args = ["agent", "--interval-s", "1", "--cycles", "3", "--runs", "1"]
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["benchmark"] == "agent"
    assert (line["interval_s"], line["cycles"], line["runs"]) == (1.0, 3, 1)
    # Divided by the cycles that ran, counted on both sides.
    assert line["agent_cycles_run"][0] >= 2
    assert line["node_exporter_scrapes_run"][0] >= 2
    # The flat keys stay; cpu_ratio is the per-cycle ratio, cpu_per_sample_ratio beside it.
    for key in (
        "agent_cpu_per_cycle_ms",
        "node_exporter_cpu_per_scrape_ms",
        "agent_cpu_per_sample_us",
        "node_exporter_cpu_per_sample_us",
        "agent_rss_mb",
        "node_exporter_rss_mb",
        "agent_samples",
        "node_exporter_samples",
    ):
        assert line[key] > 0, key  # fmt: skip
    assert line["cpu_ratio"] == line["cpu_ratio_per_run"][0]
    assert line["cpu_ratio"] == pytest.approx(
        line["agent_cpu_per_cycle_ms"] / line["node_exporter_cpu_per_scrape_ms"], rel=0.01
    )
    assert line["cpu_per_sample_ratio"] == pytest.approx(
        line["agent_cpu_per_sample_us"] / line["node_exporter_cpu_per_sample_us"], rel=0.01
    )
    assert line["node_exporter_collectors"] == list(EQUAL_WORK_COLLECTORS)
    assert set(line["collectors_matching_agent_families"]) <= set(EQUAL_WORK_COLLECTORS)
    assert line["kafka_export"] is True
    assert line["agent_otlp_points_per_cycle"] > 0
    for key in ("meets_cpu_target", "meets_cpu_per_sample_target", "meets_rss_target"):
        assert isinstance(line[key], bool), key
