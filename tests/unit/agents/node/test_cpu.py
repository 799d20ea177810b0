"""CPU collector on fixture trees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agents.node._cpu import CPU_MODES, CpuCollector, cpu_model, parse_stat
from tests.unit.agents.node.fakes import PROC, SYS

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROC, tmp_path / "proc"))


def by_name(readings: list, name: str) -> list:
    return [r for r in readings if r.instrument == name]


def test_time_per_mode_and_logical_cpu() -> None:
    readings = CpuCollector(PROC, SYS).collect()
    times = by_name(readings, "system.cpu.time")
    assert len(times) == 2 * len(CPU_MODES)
    user0 = next(r for r in times if r.attributes == {"cpu.mode": "user", "cpu.logical_number": 0})
    assert user0.value == pytest.approx(1000 * TICK_S)
    assert by_name(readings, "continuum.node.logical_cpus")[0].value == 2


def test_utilization_is_the_share_of_each_mode_over_the_interval(proc: Path) -> None:
    collector = CpuCollector(proc, SYS)
    # 100 ticks pass: 30 user, 10 system, 50 idle, 10 iowait.
    (proc / "stat").write_text(
        "cpu  2030 100 1010 20050 310 50 40 10 0 0\n"
        "cpu0 1030 50 510 10050 160 25 20 5 0 0\n"
        "cpu1 1000 50 500 10000 150 25 20 5 0 0\n"
    )
    util = {
        r.attributes["cpu.mode"]: r.value
        for r in by_name(collector.collect(), "system.cpu.utilization")
    }
    assert util["user"] == pytest.approx(0.3)
    assert util["system"] == pytest.approx(0.1)
    assert util["idle"] == pytest.approx(0.5)
    assert util["iowait"] == pytest.approx(0.1)
    assert sum(util.values()) == pytest.approx(1.0)
    # No tick since: the last figures are repeated rather than dropped.
    again = {
        r.attributes["cpu.mode"]: r.value
        for r in by_name(collector.collect(), "system.cpu.utilization")
    }
    assert again == util


def test_frequency_and_load_average() -> None:
    readings = CpuCollector(PROC, SYS).collect()
    freq = {
        r.attributes["cpu.logical_number"]: r.value
        for r in by_name(readings, "system.cpu.frequency")
    }
    assert freq == {0: 2.2e9, 1: 2.1e9}
    assert by_name(readings, "system.cpu.load_average.1m")[0].value == 0.52
    assert by_name(readings, "system.cpu.load_average.15m")[0].value == 0.59


def test_missing_files_give_no_readings_not_errors(tmp_path: Path) -> None:
    assert CpuCollector(tmp_path, tmp_path).collect() == []


def test_missing_loadavg_keeps_the_rest(proc: Path) -> None:
    (proc / "loadavg").unlink()
    readings = CpuCollector(proc, SYS, frequency=False).collect()
    assert not by_name(readings, "system.cpu.load_average.1m")
    assert not by_name(readings, "system.cpu.frequency")
    assert by_name(readings, "system.cpu.time")


def test_parse_stat_pads_old_kernels_without_steal() -> None:
    total, per_cpu = parse_stat("cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n")
    assert total == [1, 2, 3, 4, 5, 6, 7, 0]
    assert list(per_cpu) == [0]


def test_cpu_model() -> None:
    assert cpu_model(PROC) == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert cpu_model(Path("/nonexistent")) is None
