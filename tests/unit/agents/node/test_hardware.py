"""Hardware-failure collectors on fixture trees: EDAC, MCE, disk I/O errors, SMART, filesystem
state and GPU ECC, each with its source present and absent."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from agents._otel import Reading
from agents.node._blockerr import BlockErrorsCollector
from agents.node._edac import EdacCollector
from agents.node._fsstate import FilesystemStateCollector
from agents.node._gpu import GpuCollector
from agents.node._mce import MceCollector, machine_check_exceptions
from agents.node._smart import SmartCollector, run_smartctl
from tests.unit.agents.node.fakes import (
    BARE,
    CSROW_EDAC,
    PROC,
    SMARTCTL,
    SYS,
    FakeNvml,
    FakeSmartctl,
    MissingNvml,
)


def errors(readings: Sequence[Reading]) -> dict[tuple[str, str], float]:
    """hw.errors by (hw.id, error.type)."""
    return {
        (str(r.attributes["hw.id"]), str(r.attributes["error.type"])): r.value
        for r in readings
        if r.instrument == "hw.errors"
    }


def state(readings: Sequence[Reading]) -> tuple[str, float]:
    """The one source-state reading: (state, value)."""
    (reading,) = [r for r in readings if r.instrument == "continuum.hw.source.available"]
    return str(reading.attributes["continuum.hw.source.state"]), reading.value


def test_edac_counts_each_dimm_and_the_unattributed_rest_once() -> None:
    readings = EdacCollector(SYS).collect()
    assert state(readings) == ("ok", 1.0)
    assert errors(readings) == {
        ("mc0", "corrected"): 2.0,  # ce_noinfo_count, not the controller's total of 12
        ("mc0", "uncorrected"): 0.0,
        ("mc0_dimm0", "corrected"): 7.0,
        ("mc0_dimm0", "uncorrected"): 1.0,
        ("mc0_dimm1", "corrected"): 3.0,
        ("mc0_dimm1", "uncorrected"): 0.0,
        ("mc1", "corrected"): 0.0,
        ("mc1", "uncorrected"): 0.0,
        ("mc1_rank0", "corrected"): 4.0,
        ("mc1_rank0", "uncorrected"): 0.0,
    }
    dimm = next(r for r in readings if r.attributes.get("hw.id") == "mc0_dimm0")
    assert dimm.attributes["hw.name"] == "CPU_SrcID#0_MC#0_Chan#0_DIMM#0"
    assert dimm.attributes["hw.parent"] == "mc0"
    assert dimm.attributes["hw.type"] == "memory"
    # An empty label falls back to controller and rank.
    rank = next(r for r in readings if r.attributes.get("hw.id") == "mc1_rank0")
    assert rank.attributes["hw.name"] == "mc1 rank0"


def test_edac_without_dimms_reports_the_controller_totals() -> None:
    readings = EdacCollector(CSROW_EDAC / "sys").collect()
    assert errors(readings) == {("mc0", "corrected"): 5.0, ("mc0", "uncorrected"): 0.0}
    (reading, *_) = [r for r in readings if r.instrument == "hw.errors"]
    assert reading.attributes["hw.name"] == "i5000"


def test_edac_absent() -> None:
    assert EdacCollector(BARE / "sys").collect() == [
        Reading(
            "continuum.hw.source.available",
            0.0,
            {"continuum.hw.source": "edac", "continuum.hw.source.state": "absent"},
        )
    ]


def test_mce_sums_the_cpus_of_its_line() -> None:
    readings = MceCollector(PROC).collect()
    assert state(readings) == ("ok", 1.0)
    assert errors(readings) == {("mce", "uncorrected"): 3.0}
    assert machine_check_exceptions(" MCE:  4  5  6  Machine check exceptions\n") == 15


def test_mce_absent_on_kernels_without_the_line(tmp_path: Path) -> None:
    assert MceCollector(BARE / "proc").collect() == [
        Reading(
            "continuum.hw.source.available",
            0.0,
            {"continuum.hw.source": "mce", "continuum.hw.source.state": "absent"},
        )
    ]
    assert state(MceCollector(tmp_path).collect()) == ("absent", 0.0)


def test_block_io_errors_are_hexadecimal_and_skip_loop_devices() -> None:
    readings = BlockErrorsCollector(SYS).collect()
    assert state(readings) == ("ok", 1.0)
    assert errors(readings) == {("sda", "io"): 31.0, ("sdb", "io"): 0.0}
    sda = next(r for r in readings if r.attributes.get("hw.id") == "sda")
    assert sda.attributes["hw.name"] == "Samsung SSD 860"
    assert sda.attributes["hw.type"] == "physical_disk"


def test_block_io_errors_absent_on_virtio_disks() -> None:
    assert state(BlockErrorsCollector(BARE / "sys").collect()) == ("absent", 0.0)


def test_smart_health_and_media_errors() -> None:
    readings = SmartCollector(FakeSmartctl()).collect()
    assert state(readings) == ("ok", 1.0)
    status = {
        (r.attributes["hw.id"], r.attributes["hw.state"]): r.value
        for r in readings
        if r.instrument == "hw.status"
    }
    assert status == {
        ("sda", "ok"): 1.0,
        ("sda", "failed"): 0.0,
        ("nvme0", "ok"): 0.0,
        ("nvme0", "failed"): 1.0,
    }
    media = {
        r.attributes["hw.id"]: r.value
        for r in readings
        if r.instrument == "continuum.disk.smart.media_errors"
    }
    assert media == {"sda": 2.0, "nvme0": 17.0}  # the disk in standby gives nothing this time
    sda = next(r for r in readings if r.attributes.get("hw.id") == "sda")
    assert sda.attributes["hw.name"] == "Samsung SSD 860 EVO 500GB"


def test_smart_asks_again_only_after_its_interval() -> None:
    smartctl = FakeSmartctl()
    collector = SmartCollector(smartctl, interval_s=3600)
    first = collector.collect()
    assert collector.collect() == first
    assert len(smartctl.calls) == 4  # one scan and three disks, once
    assert all("--nocheck=standby" in call for call in smartctl.calls[1:])
    assert smartctl.calls[2][-3:-1] == ["-d", "nvme"]


@pytest.mark.parametrize(
    ("smartctl", "expected"),
    [
        (FakeSmartctl(error=FileNotFoundError("smartctl")), "not_installed"),
        (FakeSmartctl(error=TimeoutError("smartctl")), "timeout"),
        (FakeSmartctl(scan="scan-open-denied.json"), "not_permitted"),
    ],
    ids=["not-installed", "timeout", "not-permitted"],
)
def test_smart_unavailable_says_why(smartctl: FakeSmartctl, expected: str) -> None:
    readings = SmartCollector(smartctl).collect()
    assert [r.instrument for r in readings] == ["continuum.hw.source.available"]
    assert state(readings) == (expected, 0.0)


def test_smart_no_disks_and_switched_off() -> None:
    assert SmartCollector(FakeSmartctl(scan="scan-open-none.json")).collect() == [
        Reading(
            "continuum.hw.source.available",
            1.0,
            {"continuum.hw.source": "smart", "continuum.hw.source.state": "ok"},
        )
    ]
    smartctl = FakeSmartctl()
    assert state(SmartCollector(smartctl, enabled=False).collect()) == ("disabled", 0.0)
    assert smartctl.calls == []


def _fake_program(directory: Path, body: str) -> None:
    program = directory / "smartctl"
    program.write_text("#!/bin/sh\n" + body)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def test_real_smartctl_process_its_output_and_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real program on PATH answers like smartctl, so the subprocess path itself is tested.
    _fake_program(
        tmp_path,
        f'case "$*" in *--scan-open*) cat {SMARTCTL / "scan-open-none.json"};; esac\nexit 0\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    status, text = run_smartctl(["--json", "--scan-open"], 5.0)
    assert status == 0
    assert '"devices": []' in text
    assert state(SmartCollector().collect()) == ("ok", 1.0)
    _fake_program(tmp_path, "sleep 5\n")
    with pytest.raises(TimeoutError):
        run_smartctl(["--json", "--scan-open"], 0.2)
    assert state(SmartCollector(timeout_s=0.2).collect()) == ("timeout", 0.0)


def test_missing_smartctl_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    if shutil.which("smartctl", path="/usr/sbin:/sbin"):
        pytest.skip("smartmontools is installed on this machine")
    assert state(SmartCollector().collect()) == ("not_installed", 0.0)


def test_filesystem_state_read_only_and_ext4_errors() -> None:
    readings = FilesystemStateCollector(PROC, SYS).collect()
    assert state(readings) == ("ok", 1.0)
    read_only = {
        r.attributes["system.filesystem.mountpoint"]: r.value
        for r in readings
        if r.instrument == "continuum.filesystem.read_only"
    }
    assert read_only == {"/": 0.0, "/run": 0.0, "/mnt/nfs": 0.0, "/mnt/my data": 1.0}
    assert [
        (r.attributes["system.device"], r.value)
        for r in readings
        if r.instrument == "continuum.filesystem.errors"
    ] == [("/dev/sda1", 3.0)]


def test_filesystem_state_all_clear_and_absent(tmp_path: Path) -> None:
    readings = FilesystemStateCollector(BARE / "proc", BARE / "sys").collect()
    assert [(r.instrument, r.value) for r in readings] == [
        ("continuum.hw.source.available", 1.0),
        ("continuum.filesystem.read_only", 0.0),
    ]
    assert state(FilesystemStateCollector(tmp_path, tmp_path).collect()) == ("absent", 0.0)


def test_gpu_ecc_volatile_aggregate_and_retired_pages() -> None:
    readings = GpuCollector(FakeNvml()).collect()
    assert state(readings) == ("ok", 1.0)
    assert errors(readings) == {
        ("GPU-00000000", "corrected"): 4.0,
        ("GPU-00000000", "uncorrected"): 1.0,
    }
    aggregate = {
        r.attributes["error.type"]: r.value
        for r in readings
        if r.instrument == "continuum.gpu.ecc.aggregate_errors"
    }
    assert aggregate == {"corrected": 40.0, "uncorrected": 2.0}
    retired = {
        r.attributes["continuum.gpu.retirement.cause"]: r.value
        for r in readings
        if r.instrument == "continuum.gpu.retired_pages"
    }
    assert retired == {"multiple_single_bit": 3.0, "double_bit": 0.0}
    assert [r.value for r in readings if r.instrument == "continuum.gpu.retired_pages.pending"] == [
        1.0
    ]
    # The board with ECC switched off reports no ECC series at all.
    assert all(
        r.attributes.get("hw.id") != "GPU-00000001" for r in readings if "ecc" in r.instrument
    )


def test_gpu_ecc_absent_without_nvml() -> None:
    assert state(GpuCollector(MissingNvml()).collect()) == ("absent", 0.0)
