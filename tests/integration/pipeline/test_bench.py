"""`continuum bench pipeline --storage victoriametrics`: both stores measured in one run."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from bench.pipeline import command

pytestmark = pytest.mark.skipif(
    shutil.which("victoria-metrics") is None, reason="victoria-metrics is not installed"
)


def test_bench_pipeline_measures_victoria_metrics_beside_prometheus() -> None:
    args = ["--nodes", "20", "--series", "20", "--interval-s", "1", "--duration-s", "3",
            "--rounds", "3", "--ceiling-rounds", "2", "--storage", "victoriametrics"]  # fmt: skip
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["storage"] == "victoriametrics"
    # Prometheus's figures stay, and VictoriaMetrics's stand beside them.
    assert figures["ceiling_samples_per_s"] > 0
    assert figures["worker_samples_per_s"] > 0
    assert figures["vm_ceiling_samples_per_s"] > 0
    assert figures["vm_worker_samples_per_s"] > 0
    # A tiny run may land in one write, with no steady window to charge CPU to.
    assert figures["vm_store_cpu_us_per_sample"] >= 0
    assert figures["vm_ceiling_cpu_us_per_sample"] >= 0
    # The same backlog, every sample acknowledged by each store before its phase ended.
    assert figures["vm_max_rate_written_samples"] == figures["max_rate_expected_samples"]
    assert figures["max_rate_written_samples"] == figures["max_rate_expected_samples"]
    assert figures["vm_over_prometheus"] == pytest.approx(
        figures["vm_worker_samples_per_s"] / figures["worker_samples_per_s"], abs=0.001
    )
    assert isinstance(figures["vm_meets_throughput_target"], bool)
