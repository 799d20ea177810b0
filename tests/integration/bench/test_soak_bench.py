"""`continuum bench soak` at its smallest: the whole stack briefly, its JSON line's fields."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from continuum._cmd_bench import bench


def test_soak_bench_runs_the_stack_and_counts_loss_exactly(tmp_path: Path) -> None:
    plot = tmp_path / "soak.png"
    args = ["soak", "--nodes", "5", "--minutes", "0.25", "--series", "20", "--interval-s", "2",
            "--plot", str(plot)]  # fmt: skip
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert (line["nodes"], line["minutes"]) == (5, 0.25)
    # 5 nodes every 2 s for 15 s: every acknowledged export is stored, none lost.
    assert line["exports_acked"] >= 5 * 6
    assert line["exports_failed"] == 0
    assert line["loss"] == 0
    assert line["exports_stored"] == line["exports_acked"]
    assert line["crashed"] == []
    for key in (
        "offered_samples_per_s",
        "written_samples_per_s",
        "written_to_offered",
        "freshness_p50_s",
        "freshness_p99_s",
        "api_requests_ok",
    ):
        assert line[key] > 0, key  # fmt: skip
    assert line["freshness_p50_s"] <= line["freshness_p99_s"]
    assert line["api_requests_failed"] == 0
    assert {"pipeline", "api"} <= set(line["memory_mib"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
