"""`continuum bench pipeline` at its smallest: its JSON line, points and samples apart."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bench.pipeline import build_node_export
from continuum._cmd_bench import bench


def test_pipeline_bench_reports_points_and_samples_and_ends_on_acknowledgement() -> None:
    args = ["--nodes", "5", "--series", "20", "--interval-s", "1", "--duration-s", "2",
            "--rounds", "3", "--ceiling-rounds", "2"]  # fmt: skip
    result = CliRunner().invoke(bench, ["pipeline", *args])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    # The flat keys the bench has always printed stay.
    for key in (
        "ceiling_samples_per_s",
        "worker_samples_per_s",
        "worker_alone_samples_per_s",
        "ratio_to_ceiling",
        "paused_share",
        "freshness_p50_s",
        "freshness_p99_s",
    ):
        assert key in line, key  # fmt: skip
    per_node = len(build_node_export("n", 20)[1])  # the fixed families, then CPU times
    assert line["points_per_round"] == 5 * per_node
    # The worker writes more samples than the agents sent points: its aggregates, target_info.
    assert line["written_samples_per_round"] > line["points_per_round"]
    assert line["written_per_point"] == round(
        line["written_samples_per_round"] / line["points_per_round"], 3
    )
    assert 0 < line["worker_points_per_s"] < line["worker_samples_per_s"]
    assert 0 < line["worker_alone_points_per_s"] < line["worker_alone_samples_per_s"]
    # Every preloaded sample was written before the phase ended on acknowledgement.
    assert line["max_rate_written_samples"] == line["max_rate_expected_samples"]
    # Three rounds, the first without the aggregates that need a node's previous export.
    per_round = line["written_samples_per_round"]
    assert 2 * per_round < line["max_rate_expected_samples"] < 3 * per_round
    assert line["real_time_all_acknowledged"] is True
    assert line["real_time_points_produced"] == line["real_time_records"] * per_node
    assert line["real_time_records"] >= 5
    assert line["producer_compression"] == "gzip"
    assert 0 < line["freshness_p50_s"] <= line["freshness_p99_s"] < 10
    assert isinstance(line["meets_freshness_target"], bool)
