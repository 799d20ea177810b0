"""Sensors (hwmon, RAPL, power supplies) and the GPU collector with a fake NVML."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.node._gpu import GpuCollector, nvml_library_loads
from agents.node._sensors import SensorsCollector
from tests.unit.agents.node.fakes import SYS, FakeNvml, MissingNvml


def test_hwmon_temperatures_and_power() -> None:
    readings = SensorsCollector(SYS).collect()
    temps = {
        r.attributes["hw.id"]: (r.value, r.attributes["hw.name"])
        for r in readings
        if r.instrument == "hw.temperature"
    }
    assert temps == {
        "hwmon0_temp1": (45.0, "coretemp Package id 0"),
        "hwmon0_temp2": (52.5, "coretemp temp2"),
    }
    power = {r.attributes["hw.id"]: r.value for r in readings if r.instrument == "hw.power"}
    assert power == {"hwmon0_power1": 12.5, "BAT0": 9.5}


def test_power_supplies() -> None:
    readings = SensorsCollector(SYS).collect()
    assert [
        (r.attributes["hw.id"], r.value) for r in readings if r.instrument == "hw.battery.charge"
    ] == [("BAT0", 0.87)]
    assert [
        (r.attributes["hw.id"], r.value)
        for r in readings
        if r.instrument == "continuum.power_supply.online"
    ] == [("AC", 1.0)]


def test_rapl_energy_survives_wraparound(tmp_path: Path) -> None:
    sys_root = Path(shutil.copytree(SYS, tmp_path / "sys"))
    zone = sys_root / "class" / "powercap" / "intel-rapl:0"
    (zone / "max_energy_range_uj").write_text("10000000\n")
    (zone / "energy_uj").write_text("9000000\n")
    collector = SensorsCollector(sys_root)

    def energy() -> float:
        return next(r.value for r in collector.collect() if r.instrument == "hw.energy")

    assert energy() == 9.0
    (zone / "energy_uj").write_text("1000000\n")  # wrapped: 1 J to the top, 1 J after
    assert energy() == pytest.approx(11.0)
    (zone / "energy_uj").write_text("3000000\n")
    assert energy() == pytest.approx(13.0)


def test_no_sensors_at_all(tmp_path: Path) -> None:
    assert SensorsCollector(tmp_path).collect() == []


def test_gpu_per_device_with_unsupported_reading_skipped() -> None:
    readings = GpuCollector(FakeNvml()).collect()
    assert [r.value for r in readings if r.instrument == "continuum.node.gpus"] == [2]
    util = {
        r.attributes["hw.id"]: r.value for r in readings if r.instrument == "hw.gpu.utilization"
    }
    assert util == {"GPU-00000000": 0.40, "GPU-00000001": 0.41}
    mem = [r for r in readings if r.instrument == "hw.gpu.memory.limit"]
    assert {r.attributes["hw.model"] for r in mem} == {"NVIDIA H100 80GB HBM3"}
    power = [r for r in readings if r.instrument == "hw.power"]
    assert [(r.attributes["hw.id"], r.value, r.attributes["hw.type"]) for r in power] == [
        ("GPU-00000000", 300.0, "gpu")
    ]
    temps = [r for r in readings if r.instrument == "hw.temperature"]
    assert len(temps) == 2


def test_no_nvml_is_one_quiet_message_and_zero_gpus(caplog: pytest.LogCaptureFixture) -> None:
    nvml = MissingNvml()
    with caplog.at_level(logging.DEBUG, logger="agents.node._gpu"):
        collector = GpuCollector(nvml)
        for _ in range(5):
            assert [(r.instrument, r.value) for r in collector.collect()] == [
                ("continuum.node.gpus", 0.0),
                ("continuum.hw.source.available", 0.0),
            ]
    assert nvml.init_calls == 1
    messages = [r for r in caplog.records if "not available" in r.getMessage()]
    assert len(messages) == 1
    assert messages[0].levelno == logging.INFO


def test_switched_off_gpu_never_touches_nvml() -> None:
    nvml = FakeNvml()
    collector = GpuCollector(nvml, enabled=False)
    readings = collector.collect()
    assert [r.value for r in readings] == [0.0, 0.0]
    assert readings[1].attributes["continuum.hw.source.state"] == "disabled"
    assert nvml.init_calls == 0


def test_real_machine_reports_what_nvml_sees() -> None:
    # Without an NVIDIA driver the real path degrades quietly to zero GPUs; with one (a GPU
    # machine) it reports at least one.
    collector = GpuCollector()
    readings = collector.collect()
    assert readings[0].instrument == "continuum.node.gpus"
    assert collector.available == nvml_library_loads()
    assert (readings[0].value >= 1) == collector.available


def test_missing_library_is_told_without_importing_pynvml() -> None:
    assert not nvml_library_loads("libnvidia-ml-that-does-not-exist.so.1")
    code = (
        "import sys; from agents.node._gpu import GpuCollector, nvml_library_loads;"
        "c = GpuCollector(); print(c.available, nvml_library_loads(), 'pynvml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    available, loads, imported = out.stdout.split()
    assert imported == ("True" if loads == "True" else "False")
    assert available == loads
