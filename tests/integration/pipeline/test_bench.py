"""`continuum bench pipeline` runs end to end on a tiny fleet and ends with its JSON figures."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bench.pipeline import command


def test_bench_pipeline_prints_its_figures() -> None:
    result = CliRunner().invoke(
        command,
        [
            "--nodes",
            "20",
            "--series",
            "20",
            "--interval-s",
            "1",
            "--duration-s",
            "3",
            "--rounds",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["ceiling_samples_per_s"] > 0
    assert figures["worker_samples_per_s"] > 0
    assert figures["worker_alone_samples_per_s"] > 0
    assert figures["receiver_cpu_us_per_sample"] >= 0
    assert figures["max_rate_written_samples"] >= 20 * 20 * 3
    assert figures["peak_pending_samples"] <= figures["max_pending_samples"]
    assert 0 < figures["freshness_p99_s"] < 10
