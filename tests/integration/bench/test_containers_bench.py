"""`continuum bench containers` at its smallest: push on, the baseline's reads, its JSON line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from continuum._cmd_bench import bench

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="creating cgroups needs root"),
]


def test_containers_bench_measures_push_on_against_the_agents_own_reads(tmp_path: Path) -> None:
    plot = tmp_path / "containers.png"
    result = CliRunner().invoke(
        bench, ["containers", "--counts", "2,4", "--cycles", "2", "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["benchmark"] == "containers"
    assert line["push"] is True
    assert "cadvisor_ms_per_container_cycle" not in line
    for key in ("fit_ms_per_container", "fit_intercept_ms", "fit_r2", "max_ms_per_container"):
        assert key in line, key
    rows = line["rows"]
    assert [r["containers"] for r in rows] == [2, 4]
    for r in rows:
        # Its own containers at least: a host may run others (a container runtime, a test stack).
        assert r["found"] >= r["containers"]
        assert r["agent_cpu_ms"] > r["collector_cpu_ms"] > 0
        assert r["baseline_cpu_ms"] > 0
        assert r["ratio_to_baseline"] == pytest.approx(r["agent_cpu_ms"] / r["baseline_cpu_ms"])
        # The baseline reads what the collector reads: at least one file per container per
        # cgroup file kind, and a namespace stat per container (each has its own).
        assert r["stats_per_cycle"] >= r["containers"]
        assert r["files_per_cycle"] >= 10 * r["containers"]
        assert r["directories_per_cycle"] > 0
    # Twice the containers, twice the files read: the baseline follows the agent's reads (on a
    # host with containers of its own, the others' files come on top of both rows).
    others = rows[0]["found"] - rows[0]["containers"]
    if others == 0 and rows[1]["found"] == rows[1]["containers"]:
        assert rows[1]["files_per_cycle"] == 2 * rows[0]["files_per_cycle"]
    else:
        assert rows[1]["files_per_cycle"] > rows[0]["files_per_cycle"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
