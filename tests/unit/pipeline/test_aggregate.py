"""Per-node sliding windows against values computed by hand."""

from __future__ import annotations

import math
import statistics

import pytest

from pipeline._aggregate import Aggregator, MeanWindow, MinMaxWindow, RateWindow
from pipeline._clean import Cleaner, CleaningRules
from pipeline._otlp import OtlpDecoder
from pipeline._samples import SampleBuilder
from tests.unit.pipeline.otlp_factory import Payload, node_payload

NOW_MS = 1_800_000_000_000


def test_mean_window_matches_statistics_over_its_span() -> None:
    window = MeanWindow(60_000)
    values = [0.1, 0.9, 0.4, 0.7, 0.3, 0.8, 0.2]
    for i, v in enumerate(values):
        window.push(i * 15_000, v)
    # Span 60 s at 15 s steps: the last four points (45 s back is inside, 60 s is not).
    tail = values[-4:]
    assert window.mean() == pytest.approx(statistics.fmean(tail))
    assert window.stddev() == pytest.approx(statistics.pstdev(tail))


def test_min_max_windows() -> None:
    high, low = MinMaxWindow(60_000, maximum=True), MinMaxWindow(60_000, maximum=False)
    for ts, v in [(0, 5.0), (20_000, 1.0), (40_000, 3.0), (70_000, 2.0)]:
        high.push(ts, v)
        low.push(ts, v)
    assert high.value() == 3.0  # 5.0 at t=0 fell out of the window
    assert low.value() == 1.0


def test_rate_window() -> None:
    rate = RateWindow(60_000)
    rate.push(0, 0.0)
    assert rate.rate() is None
    rate.push(10_000, 500.0)
    assert rate.rate() == pytest.approx(50.0)


def _decode_series(builder: SampleBuilder, payload: bytes) -> dict[str, float]:
    groups = OtlpDecoder(builder).decode(payload, None)
    return {dict(s.labels)["__name__"]: v for g in groups for s, _ts, v in g.aggregates}


def test_node_aggregates_from_raw_series() -> None:
    builder = SampleBuilder(Cleaner(CleaningRules(), clock=lambda: NOW_MS / 1000), Aggregator())
    busy = [0.2, 0.6, 0.4]
    out: dict[str, float] = {}
    for i, b in enumerate(busy):
        out = _decode_series(builder, node_payload("n1", NOW_MS - 30_000 + i * 10_000, busy=b))
    assert out["continuum:node_cpu_cores"] == 8.0
    assert out["continuum:node_memory_bytes"] == 16 * 2**30
    assert out["continuum:node_gpus"] == 0.0
    assert out["continuum:node_cpu_utilization:avg1m"] == pytest.approx(statistics.fmean(busy))
    assert out["continuum:node_cpu_utilization:max1m"] == pytest.approx(0.6)
    assert out["continuum:node_cpu_utilization:stddev5m"] == pytest.approx(statistics.pstdev(busy))
    assert out["continuum:node_memory_available_bytes:min1m"] == 8 * 2**30
    # node_payload's counters grow by ts/10 and ts/20 bytes per ms: 100 and 50 bytes/s.
    assert out["continuum:node_network_receive_bytes:rate1m"] == pytest.approx(100.0)
    assert out["continuum:node_network_transmit_bytes:rate1m"] == pytest.approx(50.0)
    groups = OtlpDecoder(builder).decode(node_payload("n1", NOW_MS - 1000), None)
    for series, ts, _ in groups[0].aggregates:
        assert ts == NOW_MS - 1000  # written with the raw data's own timestamp
        assert dict(series.labels).keys() == {"__name__", "node", "tier", "site"}


def test_a_stock_collectors_cpu_count_is_the_nodes_capacity() -> None:
    # hostmetrics sends system.cpu.logical.count; the agents send continuum.node.logical_cpus.
    agg = Aggregator()
    identity = (("node", "c1"), ("site", "s"), ("tier", "cloud"))
    series = (("__name__", "system_cpu_logical_count"), *identity)
    agg.observe("c1", identity, "system_cpu_logical_count", series, NOW_MS, 16.0)
    agg.observe("c1", identity, "continuum_node_logical_cpus", series, NOW_MS, 16.0)
    cores = [
        (ts, value)
        for key, ts, value in agg.collect("c1")
        if dict(key)["__name__"] == "continuum:node_cpu_cores"
    ]
    assert cores == [(NOW_MS, 16.0)]


def test_pressure_rate_handles_counter_resets_and_skips_lo() -> None:
    builder = SampleBuilder(Cleaner(CleaningRules(), clock=lambda: NOW_MS / 1000), Aggregator())
    stalls = [(NOW_MS - 30_000, 10.0), (NOW_MS - 20_000, 12.0), (NOW_MS - 10_000, 1.0)]
    out: dict[str, float] = {}
    for ts, v in stalls:
        payload = (
            Payload()
            .resource("n1")
            .sum(
                "continuum.pressure.stall.time",
                [
                    (ts, v, {"pressure.resource": "io", "pressure.scope": "some"}),
                    (ts, 100 * v, {"pressure.resource": "io", "pressure.scope": "full"}),
                ],
                unit="s",
            )
            .sum(
                "system.network.io",
                [
                    (
                        ts,
                        1e9 * v,
                        {"network.io.direction": "receive", "network.interface.name": "lo"},
                    )
                ],
                unit="By",
            )
        )
        out = _decode_series(builder, bytes(payload))
    # 10 -> 12 (+2), then a reset to 1 (+1): 3 s stalled over 20 s.
    assert out["continuum:node_pressure_io:rate1m"] == pytest.approx(3 / 20)
    assert "continuum:node_network_receive_bytes:rate1m" not in out


def test_replayed_samples_do_not_rewind_windows() -> None:
    builder = SampleBuilder(Cleaner(CleaningRules(), clock=lambda: NOW_MS / 1000), Aggregator())
    _decode_series(builder, node_payload("n1", NOW_MS - 5000))
    replay = OtlpDecoder(builder).decode(node_payload("n1", NOW_MS - 5000), None)
    assert all(not g.aggregates for g in replay)
    assert not math.isnan(sum(v for g in replay for _s, _t, v in g.samples))


def test_steal_is_averaged_over_a_minute_beside_utilisation() -> None:
    agg = Aggregator()
    identity = (("node", "vm-1"), ("site", "s"), ("tier", "cloud"))
    steals = [0.1, 0.3, 0.2]
    out: dict[str, float] = {}
    for i, steal in enumerate(steals):
        ts_ms = NOW_MS + i * 10_000
        for mode, value in (("idle", 0.5), ("steal", steal), ("user", 0.5 - steal)):
            series = (("__name__", "system_cpu_utilization"), ("cpu_mode", mode))
            agg.observe("vm-1", identity, "system_cpu_utilization", series, ts_ms, value)
        out = {dict(s)["__name__"]: v for s, _ts, v in agg.collect("vm-1")}
    assert out["continuum:node_cpu_steal:avg1m"] == pytest.approx(statistics.fmean(steals))
    assert out["continuum:node_cpu_utilization:avg1m"] == pytest.approx(0.5)


def test_a_node_without_a_steal_mode_gets_no_steal_series() -> None:
    agg = Aggregator()
    series = (("__name__", "system_cpu_utilization"), ("cpu_mode", "idle"))
    agg.observe("n", (("node", "n"),), "system_cpu_utilization", series, NOW_MS, 0.9)
    names = {dict(s)["__name__"] for s, _ts, _v in agg.collect("n")}
    assert "continuum:node_cpu_steal:avg1m" not in names
    assert "continuum:node_cpu_utilization:avg1m" in names


def test_the_data_paths_free_space_is_written_with_its_path() -> None:
    agg = Aggregator()
    identity = (("node", "edge-1"), ("site", "s"), ("tier", "edge"))
    name = "continuum_node_data_path_available_bytes"
    series = (("__name__", name), ("continuum_data_path", "/data"))
    agg.observe("edge-1", identity, name, series, NOW_MS, 5e9)
    [(key, ts_ms, value)] = agg.collect("edge-1")
    labels = dict(key)
    assert labels["__name__"] == "continuum:node_data_path_available_bytes"
    assert (labels["data_path"], labels["node"], ts_ms, value) == ("/data", "edge-1", NOW_MS, 5e9)
    # Written once per new sample, not at every collect.
    assert agg.collect("edge-1") == []
