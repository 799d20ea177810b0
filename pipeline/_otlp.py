"""OTLP ``ExportMetricsServiceRequest`` to Prometheus samples.

Gauges, sums of both temporalities (delta sums are accumulated into cumulative counters),
histograms, exponential histograms (as classic ``le`` buckets) and summaries. Resource
attributes ``continuum.node.id``, ``continuum.tier`` and ``continuum.site`` become the labels
``node``, ``tier`` and ``site`` on every series (container attributes add ``container_id``,
``container``, ``pod``, ``namespace``); the rest of the resource goes to ``target_info``.
Without ``continuum.node.id`` the node is the record key (a stock Collector's export)::

    decoder = OtlpDecoder(builder)
    groups = decoder.decode(value_bytes, record_key="node-1")

Raises :class:`RecordError` when the record as a whole is unusable (dead-lettered by the worker).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from pipeline._clean import COUNTER, FINITE, GAUGE
from pipeline._errors import RecordError
from pipeline._naming import MetricKind, metric_name, normalise_unit
from pipeline._samples import NodeSamples, SampleBuilder
from pipeline._template import PointPlan, ResourcePlan, Template, TemplateCache

__all__ = ["IDENTITY_ATTRIBUTES", "OtlpDecoder", "any_value"]

#: Resource attributes that become labels on every series, and their label names.
IDENTITY_ATTRIBUTES = {
    "continuum.node.id": "node",
    "continuum.tier": "tier",
    "continuum.site": "site",
    "container.id": "container_id",
    "container.name": "container",
    "k8s.pod.name": "pod",
    "k8s.namespace.name": "namespace",
}
_DELTA = 1  # AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
_NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_TARGET_INFO = "target_info"


def any_value(value: Any) -> str:
    """Render an OTLP ``AnyValue`` as a label value, as the Prometheus exporter does (JSON)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return str(value.string_value)
    if which is None:
        return ""
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        return json.dumps(value.double_value)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return json.dumps(_plain(value))


def _plain(value: Any) -> object:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if which is None:
        return None
    return getattr(value, which) if which != "bytes_value" else any_value(value)


def _attributes(attributes: Sequence[Any]) -> tuple[tuple[str, str], ...]:
    """Raw ``(key, value)`` pairs; keys are translated with the series, once per series."""
    pairs = tuple([(kv.key, kv.value.string_value) for kv in attributes])
    for _key, value in pairs:
        if not value:
            # Not a (non-empty) string: render it as the exporter does.
            return tuple([(kv.key, any_value(kv.value)) for kv in attributes])
    return pairs


def _bound(value: float) -> str:
    # The exporter renders bucket bounds with Python's float formatting.
    return f"{float(value)}"


class OtlpDecoder:
    """Decodes OTLP protobuf records into clean samples through a :class:`SampleBuilder`.

    Records with a key are matched against the template of that key's previous record of the
    same length (:mod:`pipeline._template`): a steady node's export then skips the protobuf
    walk, and every sample still passes the cleaner.

    Args:
        builder: where samples go.
        templates: the template cache (a fresh one by default).
    """

    def __init__(self, builder: SampleBuilder, templates: TemplateCache | None = None):
        self.builder = builder
        self.templates = TemplateCache() if templates is None else templates
        #: Records decoded, by path: ``template`` (one struct unpack) or ``full`` (protobuf).
        self.decoded: dict[str, int] = {"template": 0, "full": 0}

    def decode(self, payload: bytes, record_key: str | None) -> list[NodeSamples]:
        """Decode one record value; ``record_key`` names the node when the resource does not.

        Raises:
            RecordError: the payload is not an OTLP metrics request, or names no node.
        """
        builder = self.builder
        templates = self.templates
        if record_key is not None:
            matched = templates.match(record_key, payload, builder.generation)
            if matched is not None:
                self.decoded["template"] += 1
                return self._replay(*matched)
        self.decoded["full"] += 1
        request = ExportMetricsServiceRequest()
        try:
            request.ParseFromString(payload)
        except DecodeError as err:
            reason = "invalid_utf8" if "UTF-8" in str(err) or "utf-8" in str(err) else "decode"
            raise RecordError(reason, f"not an OTLP ExportMetricsServiceRequest: {err}") from err
        plans: list[ResourcePlan] | None = None
        if record_key is not None and templates.wants_plans(record_key, payload):
            plans = []
        builder.begin_record()
        for rm in request.resource_metrics:
            self._resource(rm, record_key, plans)
        if plans is not None:
            templates.store(record_key, payload, plans)
        return builder.finish()

    def _replay(self, template: Template, fields: tuple[Any, ...]) -> list[NodeSamples]:
        """Decode a record that matches ``template``: its decisions, the record's numbers.

        Mirrors :meth:`_resource` and the gauge/sum branch of :meth:`_metric`.
        """
        builder = self.builder
        cleaner = builder.cleaner
        add_series = builder.add_series
        builder.begin_record()
        for node, identity, info, entries in template.resources:
            builder.start(node, identity)
            for series, name, kind, delta, factor, ts_index, value_index in entries:
                if isinstance(series, str):
                    cleaner.drop(series)
                    continue
                value = float(fields[value_index])
                if factor != 1.0:
                    value *= factor
                    cleaner.adjust("unit_normalised")
                add_series(series, name, fields[ts_index] // 1_000_000, value, kind, delta=delta)
            self._add_target_info(info)
        return builder.finish()

    def _resource(self, rm: Any, record_key: str | None, plans: list[ResourcePlan] | None) -> None:
        builder = self.builder
        identity: dict[str, str] = {}
        info: list[tuple[str, str]] = []
        for kv in rm.resource.attributes:
            label = IDENTITY_ATTRIBUTES.get(kv.key)
            if label is not None:
                identity[label] = any_value(kv.value)
            else:
                info.append((kv.key, any_value(kv.value)))
        if not identity.get("node"):
            # Every series must carry its node: without the attribute the record key (the
            # node id, docs/contracts.md §3.3) names it; without either the record is unusable.
            if not record_key:
                raise RecordError(
                    "missing_identity", "resource has no continuum.node.id and the record no key"
                )
            identity["node"] = record_key
        node = identity["node"]
        identity_labels = tuple(sorted(identity.items()))
        builder.start(node, identity_labels)
        points: list[PointPlan] | None = None
        if plans is not None:
            plans.append(ResourcePlan(node, identity_labels, info))
            points = plans[-1].points
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                self._metric(metric, points)
        self._add_target_info(info)

    def _add_target_info(self, info: list[tuple[str, str]]) -> None:
        """Close a resource: its ``target_info`` at the newest timestamp it gave (if any)."""
        newest = self.builder.newest_ts_ms()
        if newest:
            self.builder.add(_TARGET_INFO, info, newest, 1.0, GAUGE)

    def _metric(self, metric: Any, points_plan: list[PointPlan] | None = None) -> int:
        """Add one metric's points; return the newest timestamp seen (ms).

        With ``points_plan``, each gauge or sum point's decision is appended to it.
        """
        builder = self.builder
        unit, factor = normalise_unit(metric.unit)
        data = metric.WhichOneof("data")
        newest = 0
        if data == "gauge" or data == "sum":
            if data == "sum":
                monotonic = metric.sum.is_monotonic
                delta = metric.sum.aggregation_temporality == _DELTA
                points = metric.sum.data_points
                # Cumulative non-monotonic sums are gauges (OTel Prometheus compatibility spec).
                counter = monotonic or delta
            else:
                delta = counter = False
                points = metric.gauge.data_points
            kind = COUNTER if counter else GAUGE
            name = metric_name(
                metric.name, unit, MetricKind.COUNTER if counter else MetricKind.GAUGE
            )
            add_series = builder.add_series
            for dp in points:
                if dp.flags & _NO_RECORDED_VALUE:
                    if points_plan is not None:
                        points_plan.append(None)
                    continue
                series = builder.resolve(name, _attributes(dp.attributes))
                if points_plan is not None:
                    points_plan.append((series, name, kind, delta and monotonic, factor))
                if isinstance(series, str):
                    builder.cleaner.drop(series)
                    continue
                # Only one of the two is set; the other reads as zero.
                value = dp.as_double or dp.as_int
                if factor != 1.0:
                    value *= factor
                    builder.cleaner.adjust("unit_normalised")
                ts_ms = dp.time_unix_nano // 1_000_000
                if ts_ms > newest:
                    newest = ts_ms
                add_series(series, name, ts_ms, float(value), kind, delta=delta and monotonic)
        elif data == "histogram":
            hist = metric.histogram
            name = metric_name(metric.name, unit, MetricKind.HISTOGRAM)
            for dp in hist.data_points:
                if dp.flags & _NO_RECORDED_VALUE:
                    continue
                bounds = [_bound(b * factor) for b in dp.explicit_bounds]
                bounds.append("+Inf")
                buckets = list(zip(bounds, dp.bucket_counts, strict=False))
                newest = max(newest, self._histogram(name, dp, buckets, factor, hist))
        elif data == "exponential_histogram":
            hist = metric.exponential_histogram
            name = metric_name(metric.name, unit, MetricKind.HISTOGRAM)
            for dp in hist.data_points:
                if dp.flags & _NO_RECORDED_VALUE:
                    continue
                newest = max(
                    newest, self._histogram(name, dp, _exp_buckets(dp, factor), factor, hist)
                )
        elif data == "summary":
            name = metric_name(metric.name, unit, MetricKind.SUMMARY)
            for dp in metric.summary.data_points:
                if dp.flags & _NO_RECORDED_VALUE:
                    continue
                labels = _attributes(dp.attributes)
                ts_ms = dp.time_unix_nano // 1_000_000
                newest = max(newest, ts_ms)
                for q in dp.quantile_values:
                    builder.add(
                        name,
                        (*labels, ("quantile", f"{q.quantile}")),
                        ts_ms,
                        q.value * factor,
                        FINITE,
                    )
                builder.add(name + "_sum", labels, ts_ms, dp.sum * factor, FINITE)
                builder.add(name + "_count", labels, ts_ms, float(dp.count), COUNTER)
        else:
            builder.cleaner.drop("unsupported")
        return newest

    def _histogram(
        self,
        name: str,
        dp: Any,
        buckets: list[tuple[str, int]],
        factor: float,
        hist: Any,
    ) -> int:
        builder = self.builder
        delta = hist.aggregation_temporality == _DELTA
        labels = _attributes(dp.attributes)
        ts_ms: int = dp.time_unix_nano // 1_000_000
        cumulative = 0
        for le, count in buckets:
            cumulative += count
            builder.add(
                name + "_bucket",
                (*labels, ("le", le)),
                ts_ms,
                float(cumulative),
                COUNTER,
                delta=delta,
            )
        builder.add(name + "_count", labels, ts_ms, float(dp.count), COUNTER, delta=delta)
        if dp.HasField("sum"):
            builder.add(name + "_sum", labels, ts_ms, dp.sum * factor, FINITE, delta=delta)
        return ts_ms


def _exp_buckets(dp: Any, factor: float) -> list[tuple[str, int]]:
    """Exponential buckets as classic ``le`` buckets (upper bound of each positive bucket)."""
    base = 2.0 ** (2.0**-dp.scale)
    negative = sum(dp.negative.bucket_counts)
    buckets = [(_bound(dp.zero_threshold * factor), negative + dp.zero_count)]
    offset = dp.positive.offset
    for i, count in enumerate(dp.positive.bucket_counts):
        buckets.append((_bound(base ** (offset + i + 1) * factor), count))
    buckets.append(("+Inf", 0))
    return buckets


def decoded_samples(groups: Sequence[NodeSamples]) -> int:
    """Samples (raw and aggregate) in decoded groups."""
    return sum(len(g.samples) + len(g.aggregates) for g in groups)
