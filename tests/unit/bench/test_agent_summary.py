"""The agent bench's JSON line: medians over paired runs, on equal work, with the flat keys."""

from __future__ import annotations

import pytest

from bench.agent import RunFigures, summarise


def _run(agent_ms: float, exporter_ms: float) -> RunFigures:
    return RunFigures(
        agent_cpu_per_cycle_s=agent_ms / 1e3,
        agent_cycles=12,
        agent_points_per_cycle=150.0,
        agent_families={"system_cpu_time_seconds_total": 32},
        agent_metrics_samples=160,
        agent_rss_bytes=44_000_000,
        exporter_cpu_per_scrape_s=exporter_ms / 1e3,
        exporter_scrapes=12,
        exporter_samples=250,
        exporter_scrape_wall_s=0.01,
        exporter_rss_bytes=19_000_000,
    )


def test_the_line_holds_medians_of_the_paired_runs_and_their_ratios() -> None:
    runs = [_run(10.0, 5.0), _run(12.0, 4.0), _run(30.0, 5.0)]
    line = summarise(runs, interval_s=10.0, cycles=12)
    assert line["agent_cpu_per_cycle_ms"] == 12.0
    assert line["node_exporter_cpu_per_scrape_ms"] == 5.0
    # The ratio is the median of each pair's ratio (2, 3, 6), not a ratio of medians.
    assert line["cpu_ratio_per_run"] == [2.0, 3.0, 6.0]
    assert line["cpu_ratio"] == 3.0
    # Per exposed sample: the agent's 160 against node_exporter's 250.
    assert line["cpu_per_sample_ratio"] == pytest.approx(3.0 * 250 / 160, abs=1e-3)
    assert line["agent_rss_mb"] == 44.0
    assert line["node_exporter_rss_mb"] == 19.0
    assert line["kafka_export"] is True
    assert line["meets_cpu_target"] is False
    assert line["runs"] == 3
