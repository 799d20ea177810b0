"""Per-node sliding windows: the ``continuum:node_*`` series the scheduler ranks on.

Windows are incremental (running sums and monotonic deques), so each new raw sample costs O(1)
amortised whatever the window length. The worker that owns a node's partition owns its windows.
Each aggregate is written with the timestamp of the raw sample that updated it, so
``timestamp(continuum:node_cpu_cores)`` tells how fresh a node's data is::

    agg = Aggregator()
    agg.observe("n1", identity, "continuum_node_logical_cpus", series, ts_ms, 8.0)
    for series, ts_ms, value in agg.collect("n1"):
        ...

A sample older than the newest one a window holds is ignored by that window (replays after a
restart do not rewind it).
"""

from __future__ import annotations

import math
from collections import deque

from pipeline._power import POWER_NAMES, NodePower
from pipeline._remote_write import SeriesKey

__all__ = ["INPUT_NAMES", "Aggregator", "MeanWindow", "MinMaxWindow", "RateWindow"]

_MINUTE_MS = 60_000
_FIVE_MINUTES_MS = 300_000

CPU_UTILIZATION = "system_cpu_utilization"
CPU_COUNT = "continuum_node_logical_cpus"
MEMORY_LIMIT = "system_memory_limit_bytes"
MEMORY_AVAILABLE = "system_linux_memory_available_bytes"
GPU_COUNT = "continuum_node_gpus"
#: The semantic-convention name a stock Collector's hostmetrics receiver sends for the same fact
#: (``system.cpu.logical.count``); the agents send CPU_COUNT, which promtool's lint accepts.
SEMCONV_CPU_COUNT = "system_cpu_logical_count"
NETWORK_IO = "system_network_io_bytes_total"
PRESSURE = "continuum_pressure_stall_time_seconds_total"
DATA_PATH_AVAILABLE = "continuum_node_data_path_available_bytes"

#: Raw series names the aggregator reads.
INPUT_NAMES = frozenset(
    {
        CPU_UTILIZATION,
        CPU_COUNT,
        SEMCONV_CPU_COUNT,
        MEMORY_LIMIT,
        MEMORY_AVAILABLE,
        GPU_COUNT,
        NETWORK_IO,
        PRESSURE,
        DATA_PATH_AVAILABLE,
        *POWER_NAMES,
    }
)
_CAPACITY = {
    CPU_COUNT: "continuum:node_cpu_cores",
    MEMORY_LIMIT: "continuum:node_memory_bytes",
    GPU_COUNT: "continuum:node_gpus",
}
_IDENTITY = ("node", "site", "tier")


class MeanWindow:
    """Mean and standard deviation over the last ``span_ms`` (running sums)."""

    __slots__ = ("_points", "_sum", "_sumsq", "span_ms")

    def __init__(self, span_ms: int):
        self.span_ms = span_ms
        self._points: deque[tuple[int, float]] = deque()
        self._sum = 0.0
        self._sumsq = 0.0

    def push(self, ts_ms: int, value: float) -> None:
        points = self._points
        points.append((ts_ms, value))
        self._sum += value
        self._sumsq += value * value
        horizon = ts_ms - self.span_ms
        while points[0][0] <= horizon:
            _, old = points.popleft()
            self._sum -= old
            self._sumsq -= old * old
        if len(points) == 1:
            # Reset the running sums to the one value left, so rounding never accumulates.
            self._sum, self._sumsq = value, value * value

    def mean(self) -> float:
        return self._sum / len(self._points)

    def stddev(self) -> float:
        n = len(self._points)
        mean = self._sum / n
        return math.sqrt(max(self._sumsq / n - mean * mean, 0.0))


class MinMaxWindow:
    """Minimum or maximum over the last ``span_ms`` (monotonic deque)."""

    __slots__ = ("_points", "_sign", "span_ms")

    def __init__(self, span_ms: int, *, maximum: bool):
        self.span_ms = span_ms
        self._sign = -1.0 if maximum else 1.0
        self._points: deque[tuple[int, float]] = deque()

    def push(self, ts_ms: int, value: float) -> None:
        key = value * self._sign
        points = self._points
        while points and points[-1][1] >= key:
            points.pop()
        points.append((ts_ms, key))
        horizon = ts_ms - self.span_ms
        while points[0][0] <= horizon:
            points.popleft()

    def value(self) -> float:
        return self._points[0][1] * self._sign


class RateWindow:
    """Per-second increase of a counter over the last ``span_ms``, resets handled."""

    __slots__ = ("_points", "span_ms")

    def __init__(self, span_ms: int):
        self.span_ms = span_ms
        self._points: deque[tuple[int, float]] = deque()

    def push(self, ts_ms: int, total: float) -> None:
        """Add a point of a reset-adjusted running total."""
        points = self._points
        points.append((ts_ms, total))
        horizon = ts_ms - self.span_ms
        while points[0][0] < horizon:
            points.popleft()

    def newest_ts_ms(self) -> int:
        """Timestamp of the newest point (0 when empty)."""
        return self._points[-1][0] if self._points else 0

    def rate(self) -> float | None:
        """Increase per second between the oldest and newest point, or None with one point."""
        if len(self._points) < 2:
            return None
        (t0, v0), (t1, v1) = self._points[0], self._points[-1]
        return (v1 - v0) * 1000.0 / (t1 - t0)


class _Counters:
    """Several counter series summed into one reset-adjusted running total."""

    __slots__ = ("last", "total", "ts_ms", "updated", "window")

    def __init__(self) -> None:
        self.last: dict[SeriesKey, float] = {}
        self.total = 0.0
        self.ts_ms = 0
        self.updated = False
        self.window = RateWindow(_MINUTE_MS)

    def observe(self, series: SeriesKey, ts_ms: int, value: float) -> None:
        last = self.last.get(series)
        self.last[series] = value
        if last is not None:
            # A decrease is a counter reset: everything counted since the reset is new.
            self.total += value - last if value >= last else value
        if ts_ms > self.ts_ms:
            self.ts_ms = ts_ms
        self.updated = True


class _NodeWindows:
    """Every window of one node."""

    def __init__(self, identity: tuple[tuple[str, str], ...]):
        self.identity = tuple(p for p in identity if p[0] in _IDENTITY)
        self.series: dict[str, SeriesKey] = {}
        self.capacity: dict[str, tuple[int, float]] = {}
        self.capacity_new: dict[str, tuple[int, float]] = {}
        self.cpu_modes: dict[int, dict[str, float]] = {}
        self.cpu_last_ts = 0
        self.cpu_avg1m = MeanWindow(_MINUTE_MS)
        self.cpu_avg5m = MeanWindow(_FIVE_MINUTES_MS)
        self.cpu_max1m = MinMaxWindow(_MINUTE_MS, maximum=True)
        self.cpu_steal1m = MeanWindow(_MINUTE_MS)
        self.mem_ts_ms = 0
        self.mem_pending: tuple[int, float] | None = None
        self.mem_min1m = MinMaxWindow(_MINUTE_MS, maximum=False)
        self.mem_avg5m = MeanWindow(_FIVE_MINUTES_MS)
        self.network = {"receive": _Counters(), "transmit": _Counters()}
        self.pressure = {"cpu": _Counters(), "memory": _Counters(), "io": _Counters()}
        self.power = NodePower()
        self.data_path: tuple[int, float, str] | None = None
        self.data_path_new = False
        self.last_seen_ms = 0

    def key(self, name: str) -> SeriesKey:
        series = self.series.get(name)
        if series is None:
            series = tuple(sorted((("__name__", name), *self.identity)))
            self.series[name] = series
        return series


def _label(series: SeriesKey, name: str) -> str:
    for label, value in series:
        if label == name:
            return value
    return ""


class Aggregator:
    """Keeps each node's windows and emits the aggregates its new samples updated."""

    input_names = INPUT_NAMES

    def __init__(self) -> None:
        self._nodes: dict[str, _NodeWindows] = {}

    def _node(self, node: str, identity: tuple[tuple[str, str], ...]) -> _NodeWindows:
        windows = self._nodes.get(node)
        if windows is None:
            windows = _NodeWindows(identity)
            self._nodes[node] = windows
        return windows

    def observe(
        self,
        node: str,
        identity: tuple[tuple[str, str], ...],
        name: str,
        series: SeriesKey,
        ts_ms: int,
        value: float,
    ) -> None:
        """Feed one clean raw sample of a name in :data:`INPUT_NAMES`."""
        w = self._node(node, identity)
        if ts_ms > w.last_seen_ms:
            w.last_seen_ms = ts_ms
        if name == SEMCONV_CPU_COUNT:
            name = CPU_COUNT
        if name in _CAPACITY:
            previous = w.capacity.get(name)
            if previous is None or ts_ms > previous[0]:
                w.capacity[name] = w.capacity_new[name] = (ts_ms, value)
        elif name == CPU_UTILIZATION:
            if ts_ms > w.cpu_last_ts:
                w.cpu_modes.setdefault(ts_ms, {})[_label(series, "cpu_mode")] = value
        elif name == MEMORY_AVAILABLE:
            if ts_ms > w.mem_ts_ms:
                w.mem_pending = (ts_ms, value)
        elif name == NETWORK_IO:
            if _label(series, "network_interface_name") != "lo":
                counters = w.network.get(_label(series, "network_io_direction"))
                if counters is not None:
                    counters.observe(series, ts_ms, value)
        elif name in POWER_NAMES:
            w.power.observe(name, dict(series), ts_ms, value)
        elif name == DATA_PATH_AVAILABLE:
            if w.data_path is None or ts_ms > w.data_path[0]:
                w.data_path = (ts_ms, value, _label(series, "continuum_data_path"))
                w.data_path_new = True
        elif name == PRESSURE and _label(series, "pressure_scope") == "some":
            counters = w.pressure.get(_label(series, "pressure_resource"))
            if counters is not None:
                counters.observe(series, ts_ms, value)

    def collect(self, node: str) -> list[tuple[SeriesKey, int, float]]:
        """Return the aggregates of ``node`` updated since the last call."""
        w = self._nodes.get(node)
        if w is None:
            return []
        out: list[tuple[SeriesKey, int, float]] = []
        for raw, agg in _CAPACITY.items():
            fresh = w.capacity_new.pop(raw, None)
            if fresh is not None:
                out.append((w.key(agg), fresh[0], fresh[1]))
        self._collect_cpu(w, out)
        if w.data_path_new and w.data_path is not None:
            # The path rides along, so the inventory can say which directory the space is on.
            ts_ms, value, path = w.data_path
            w.data_path_new = False
            key = tuple(
                sorted((*w.key("continuum:node_data_path_available_bytes"), ("data_path", path)))
            )
            out.append((key, ts_ms, value))
        if w.mem_pending is not None:
            ts_ms, value = w.mem_pending
            w.mem_pending = None
            w.mem_ts_ms = ts_ms
            w.mem_min1m.push(ts_ms, value)
            w.mem_avg5m.push(ts_ms, value)
            out.append(
                (w.key("continuum:node_memory_available_bytes:min1m"), ts_ms, w.mem_min1m.value())
            )
            out.append(
                (w.key("continuum:node_memory_available_bytes:avg5m"), ts_ms, w.mem_avg5m.mean())
            )
        for direction, counters in w.network.items():
            self._collect_rate(w, counters, f"continuum:node_network_{direction}_bytes:rate1m", out)
        for resource, counters in w.pressure.items():
            self._collect_rate(w, counters, f"continuum:node_pressure_{resource}:rate1m", out)
        return out

    @staticmethod
    def _collect_cpu(w: _NodeWindows, out: list[tuple[SeriesKey, int, float]]) -> None:
        for ts_ms in sorted(w.cpu_modes):
            modes = w.cpu_modes[ts_ms]
            if "idle" not in modes or ts_ms <= w.cpu_last_ts:
                continue
            busy = min(max(1.0 - modes["idle"] - modes.get("iowait", 0.0), 0.0), 1.0)
            w.cpu_last_ts = ts_ms
            w.cpu_avg1m.push(ts_ms, busy)
            w.cpu_avg5m.push(ts_ms, busy)
            w.cpu_max1m.push(ts_ms, busy)
            out.append((w.key("continuum:node_cpu_utilization:avg1m"), ts_ms, w.cpu_avg1m.mean()))
            out.append((w.key("continuum:node_cpu_utilization:avg5m"), ts_ms, w.cpu_avg5m.mean()))
            out.append(
                (w.key("continuum:node_cpu_utilization:stddev5m"), ts_ms, w.cpu_avg5m.stddev())
            )
            out.append((w.key("continuum:node_cpu_utilization:max1m"), ts_ms, w.cpu_max1m.value()))
            # Steal is busy time the node's own work could not have (a hypervisor's co-tenants):
            # a scheduler cannot count those cores as usable, however the load moves.
            steal = modes.get("steal")
            if steal is not None:
                w.cpu_steal1m.push(ts_ms, min(max(steal, 0.0), 1.0))
                out.append((w.key("continuum:node_cpu_steal:avg1m"), ts_ms, w.cpu_steal1m.mean()))
            Aggregator._collect_power(w, ts_ms, busy, out)
        w.cpu_modes.clear()

    @staticmethod
    def _collect_power(
        w: _NodeWindows, ts_ms: int, busy: float, out: list[tuple[SeriesKey, int, float]]
    ) -> None:
        measured = w.power.power_at(ts_ms)
        if measured is None:
            return
        watts, source = measured
        w.power.fit.add(ts_ms, busy, watts)
        key = tuple(sorted((*w.key("continuum:node_power_watts"), ("power_source", source))))
        out.append((key, ts_ms, watts))
        line = w.power.fit.line()
        if line is None:
            return
        for name, value in (
            ("continuum:node_power_idle_watts:fit1h", line.idle_watts),
            ("continuum:node_power_slope_watts:fit1h", line.slope_watts),
            ("continuum:node_power_fit_samples:fit1h", float(line.samples)),
            ("continuum:node_power_residual_watts:fit1h", line.residual_watts),
        ):
            out.append((w.key(name), ts_ms, value))

    @staticmethod
    def _collect_rate(
        w: _NodeWindows, counters: _Counters, name: str, out: list[tuple[SeriesKey, int, float]]
    ) -> None:
        if not counters.updated:
            return
        counters.updated = False
        window = counters.window
        if counters.ts_ms <= window.newest_ts_ms():
            return
        window.push(counters.ts_ms, counters.total)
        rate = window.rate()
        if rate is not None:
            out.append((w.key(name), counters.ts_ms, rate))

    def expire(self, horizon_ms: int) -> int:
        """Forget nodes whose newest sample is older than ``horizon_ms``; return how many."""
        stale = [n for n, w in self._nodes.items() if w.last_seen_ms < horizon_ms]
        for node in stale:
            del self._nodes[node]
        return len(stale)

    @property
    def tracked_nodes(self) -> int:
        """Nodes with windows."""
        return len(self._nodes)
