"""Build OTLP ``ExportMetricsServiceRequest`` payloads with exact timestamps and values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1 import common_pb2

CUMULATIVE = 2
DELTA = 1

#: (cpu.mode, value) pairs of a node busy at 30 %.
CPU_MODES = (("idle", 0.6), ("iowait", 0.1), ("user", 0.2), ("system", 0.1))


def kv(key: str, value: Any) -> common_pb2.KeyValue:
    any_value = common_pb2.AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    else:
        any_value.string_value = value
    return common_pb2.KeyValue(key=key, value=any_value)


class Payload:
    """One request with one resource per node; add metrics, then ``bytes()``."""

    def __init__(self) -> None:
        self.request = ExportMetricsServiceRequest()
        self._scope: Any = None

    def resource(
        self,
        node: str | None = "n1",
        tier: str = "edge",
        site: str = "lab",
        extra: Mapping[str, Any] | None = None,
    ) -> Payload:
        rm = self.request.resource_metrics.add()
        attrs = {"continuum.tier": tier, "continuum.site": site, "host.name": "h1"}
        if node is not None:
            attrs["continuum.node.id"] = node
        attrs.update(extra or {})
        rm.resource.attributes.extend(kv(k, v) for k, v in attrs.items())
        self._scope = rm.scope_metrics.add()
        self._scope.scope.name = "test"
        return self

    def gauge(
        self,
        name: str,
        points: Iterable[tuple[int, float, Mapping[str, Any]]],
        unit: str = "1",
    ) -> Payload:
        metric = self._scope.metrics.add(name=name, unit=unit, description=name)
        for ts_ms, value, attrs in points:
            dp = metric.gauge.data_points.add(time_unix_nano=ts_ms * 1_000_000)
            _set_value(dp, value)
            dp.attributes.extend(kv(k, v) for k, v in attrs.items())
        return self

    def sum(
        self,
        name: str,
        points: Iterable[tuple[int, float, Mapping[str, Any]]],
        unit: str = "1",
        monotonic: bool = True,
        temporality: int = CUMULATIVE,
    ) -> Payload:
        metric = self._scope.metrics.add(name=name, unit=unit, description=name)
        metric.sum.is_monotonic = monotonic
        metric.sum.aggregation_temporality = temporality
        for ts_ms, value, attrs in points:
            dp = metric.sum.data_points.add(time_unix_nano=ts_ms * 1_000_000)
            _set_value(dp, value)
            dp.attributes.extend(kv(k, v) for k, v in attrs.items())
        return self

    def histogram(
        self,
        name: str,
        ts_ms: int,
        bounds: Sequence[float],
        counts: Sequence[int],
        total: float,
        unit: str = "s",
        temporality: int = CUMULATIVE,
    ) -> Payload:
        metric = self._scope.metrics.add(name=name, unit=unit, description=name)
        metric.histogram.aggregation_temporality = temporality
        dp = metric.histogram.data_points.add(
            time_unix_nano=ts_ms * 1_000_000, count=sum(counts), sum=total
        )
        dp.explicit_bounds.extend(bounds)
        dp.bucket_counts.extend(counts)
        return self

    def raw_metric(self) -> Any:
        """A bare metric message to fill by hand (exponential histograms, summaries)."""
        return self._scope.metrics.add()

    def __bytes__(self) -> bytes:
        return bytes(self.request.SerializeToString())


def _set_value(dp: Any, value: float) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        dp.as_int = value
    else:
        dp.as_double = value


def node_payload(node: str, ts_ms: int, *, cpu_cores: int = 8, busy: float = 0.3) -> bytes:
    """A node agent's export: capacity, CPU modes, memory, network and pressure counters."""
    idle = 1.0 - busy - 0.1
    return bytes(
        Payload()
        .resource(node)
        .gauge("continuum.node.logical_cpus", [(ts_ms, cpu_cores, {})], unit="{cpu}")
        .gauge(
            "system.cpu.utilization",
            [
                (ts_ms, v, {"cpu.mode": m})
                for m, v in (("idle", idle), ("iowait", 0.1), ("user", busy))
            ],
        )
        .gauge("system.memory.limit", [(ts_ms, 16 * 2**30, {})], unit="By")
        .gauge("system.linux.memory.available", [(ts_ms, 8 * 2**30, {})], unit="By")
        .gauge("continuum.node.gpus", [(ts_ms, 0, {})], unit="{gpu}")
        .sum(
            "system.network.io",
            [
                (
                    ts_ms,
                    ts_ms // 10,
                    {"network.io.direction": "receive", "network.interface.name": "eth0"},
                ),
                (
                    ts_ms,
                    ts_ms // 20,
                    {"network.io.direction": "transmit", "network.interface.name": "eth0"},
                ),
            ],
            unit="By",
        )
    )
