"""Measured node power and its idle-to-busy line, against figures computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline._aggregate import Aggregator
from pipeline._power import NodePower, PowerFit

NOW_MS = 1_800_000_000_000
_ID = (("node", "n1"), ("site", "s"), ("tier", "cloud"))


@given(
    st.floats(0.0, 500.0),
    st.floats(-100.0, 400.0),
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=60, unique=True),
)
def test_the_fit_is_ordinary_least_squares(idle: float, slope: float, xs: list[float]) -> None:
    rng = np.random.default_rng(len(xs))
    ys = [idle + slope * x + float(rng.normal(0, 3.0)) for x in xs]
    fit = PowerFit()
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        fit.add(NOW_MS + i * 10_000, x, y)
    line = fit.line()
    if np.var(xs) < 1e-9:
        return
    assert line is not None
    want_slope, want_idle = np.polyfit(xs, ys, 1)
    assert line.slope_watts == pytest.approx(want_slope, rel=1e-6, abs=1e-6)
    assert line.idle_watts == pytest.approx(want_idle, rel=1e-6, abs=1e-6)
    residual = np.sqrt(np.mean((np.array(ys) - (want_idle + want_slope * np.array(xs))) ** 2))
    assert line.residual_watts == pytest.approx(residual, rel=1e-4, abs=1e-4)
    assert line.samples == len(xs)


def test_the_fit_forgets_samples_older_than_an_hour() -> None:
    fit = PowerFit()
    fit.add(NOW_MS, 0.0, 1000.0)  # an outlier that falls out of the window
    for i in range(1, 40):
        fit.add(NOW_MS + 3_600_000 + i * 10_000, i / 40, 50.0 + 100.0 * i / 40)
    line = fit.line()
    assert line is not None
    assert line.samples == 39
    assert (line.idle_watts, line.slope_watts) == (pytest.approx(50.0), pytest.approx(100.0))
    assert PowerFit().line() is None


def _energy(power: NodePower, zone: str, name: str, ts_ms: int, joules: float) -> None:
    power.observe("hw_energy_joules_total", {"hw_id": zone, "hw_name": name}, ts_ms, joules)


def test_rapl_packages_and_dram_count_and_their_cores_do_not() -> None:
    power = NodePower()
    for ts_ms, scale in ((NOW_MS, 0.0), (NOW_MS + 10_000, 1.0)):
        _energy(power, "intel-rapl:0", "package-0", ts_ms, 800.0 * scale)  # 80 W
        _energy(power, "intel-rapl:0:0", "core", ts_ms, 500.0 * scale)  # inside the package
        _energy(power, "intel-rapl:0:1", "dram", ts_ms, 100.0 * scale)  # 10 W beside it
        gpu = {"hw_id": "GPU-1", "hw_type": "gpu"}
        power.observe("hw_power_watts", gpu, ts_ms, 30.0)
    assert power.power_at(NOW_MS) == (30.0, "gpu")  # no counter rate yet at the first reading
    assert power.power_at(NOW_MS + 10_000) == (pytest.approx(120.0), "rapl+gpu")


def test_psys_covers_the_platform_alone_and_hwmon_or_a_battery_stand_in_without_rapl() -> None:
    power = NodePower()
    for ts_ms, scale in ((NOW_MS, 0.0), (NOW_MS + 10_000, 1.0)):
        _energy(power, "intel-rapl:0", "package-0", ts_ms, 800.0 * scale)
        _energy(power, "intel-rapl:1", "psys", ts_ms, 1500.0 * scale)
    assert power.power_at(NOW_MS + 10_000) == (pytest.approx(150.0), "rapl")
    hwmon = NodePower()
    hwmon.observe("hw_power_watts", {"hw_id": "a", "hw_type": "power"}, NOW_MS, 7.0)
    hwmon.observe("hw_power_watts", {"hw_id": "b", "hw_type": "power"}, NOW_MS, 3.0)
    hwmon.observe("hw_power_watts", {"hw_id": "BAT0", "hw_type": "power_supply"}, NOW_MS, 9.0)
    assert hwmon.power_at(NOW_MS) == (10.0, "hwmon")
    battery = NodePower()
    battery.observe("hw_power_watts", {"hw_id": "BAT0", "hw_type": "power_supply"}, NOW_MS, 9.0)
    assert battery.power_at(NOW_MS) == (9.0, "power_supply")
    assert NodePower().power_at(NOW_MS) is None


def test_the_aggregator_writes_power_and_its_line_beside_utilisation() -> None:
    agg = Aggregator()
    out: dict[str, float] = {}
    for i in range(35):
        ts_ms = NOW_MS + i * 10_000
        busy = (i % 7) / 7
        for mode, value in (("idle", 1.0 - busy), ("user", busy)):
            series = (("__name__", "system_cpu_utilization"), ("cpu_mode", mode))
            agg.observe("n1", _ID, "system_cpu_utilization", series, ts_ms, value)
        labels = (("__name__", "hw_power_watts"), ("hw_id", "hwmon0"), ("hw_type", "power"))
        agg.observe("n1", _ID, "hw_power_watts", labels, ts_ms, 20.0 + 60.0 * busy)
        out = {}
        for key, _ts, value in agg.collect("n1"):
            labels_of = dict(key)
            out[labels_of["__name__"]] = value
            if labels_of["__name__"] == "continuum:node_power_watts":
                assert labels_of["power_source"] == "hwmon"
    assert out["continuum:node_power_idle_watts:fit1h"] == pytest.approx(20.0)
    assert out["continuum:node_power_slope_watts:fit1h"] == pytest.approx(60.0)
    assert out["continuum:node_power_fit_samples:fit1h"] == 35
    assert out["continuum:node_power_residual_watts:fit1h"] == pytest.approx(0.0, abs=1e-3)
