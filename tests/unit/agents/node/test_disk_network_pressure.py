"""Disk, network and pressure collectors on fixture trees."""

from __future__ import annotations

from pathlib import Path

from agents.node._disk import DiskCollector
from agents.node._network import NetworkCollector
from agents.node._pressure import PressureCollector
from tests.unit.agents.node.fakes import PROC, SYS


def test_disk_skips_partitions_and_loop_devices() -> None:
    readings = DiskCollector(PROC, SYS).collect()
    devices = {r.attributes["system.device"] for r in readings}
    assert devices == {"sda", "nvme0n1"}
    io = {
        (r.attributes["system.device"], r.attributes["disk.io.direction"]): r.value
        for r in readings
        if r.instrument == "system.disk.io"
    }
    assert io[("sda", "read")] == 20000 * 512
    assert io[("sda", "write")] == 40000 * 512
    ops = [r for r in readings if r.instrument == "system.disk.operations"]
    assert {r.value for r in ops if r.attributes["system.device"] == "nvme0n1"} == {3000, 4000}
    io_time = [r for r in readings if r.instrument == "system.disk.io_time"]
    assert {r.attributes["system.device"]: r.value for r in io_time}["sda"] == 1.8


def test_disk_can_include_partitions_and_everything() -> None:
    readings = DiskCollector(PROC, SYS, skip_devices=r"^$", include_partitions=True).collect()
    assert {r.attributes["system.device"] for r in readings} == {"loop0", "sda", "sda1", "nvme0n1"}


def test_network_skips_lo_and_reads_both_directions() -> None:
    readings = NetworkCollector(PROC).collect()
    assert {r.attributes["network.interface.name"] for r in readings} == {"eth0"}
    got = {(r.instrument, r.attributes["network.io.direction"]): r.value for r in readings}
    assert got[("system.network.io", "receive")] == 1_000_000
    assert got[("system.network.io", "transmit")] == 2_000_000
    assert got[("system.network.packet.count", "transmit")] == 6000
    assert got[("system.network.errors", "receive")] == 1
    assert got[("system.network.packet.dropped", "transmit")] == 4


def test_pressure_totals_in_seconds() -> None:
    readings = PressureCollector(PROC).collect()
    got = {
        (r.attributes["pressure.resource"], r.attributes["pressure.scope"]): r.value
        for r in readings
    }
    assert got[("cpu", "some")] == 11.055121
    assert got[("cpu", "full")] == 0.0
    assert got[("memory", "full")] == 1.0
    assert got[("io", "some")] == 3.0
    assert len(got) == 6


def test_missing_sources_give_nothing(tmp_path: Path) -> None:
    assert DiskCollector(tmp_path, tmp_path).collect() == []
    assert NetworkCollector(tmp_path).collect() == []
    # A kernel without PSI has no /proc/pressure.
    assert PressureCollector(tmp_path).collect() == []
