"""Forwarded scrapes: OpenMetrics 1.0 or Prometheus 0.0.4 text to clean samples.

The forwarder agent scrapes an exporter and publishes the body as it came, with identity
headers (docs/architecture.md, "Kafka records")::

    content-type: application/openmetrics-text; version=1.0.0   (or text/plain; version=0.0.4)
    continuum.node.id, continuum.tier, continuum.site, scrape.timestamp_ms, scrape.target

Series get the ``node``, ``tier`` and ``site`` labels from the headers; a scraped label of the
same name is kept as ``exported_<name>``, as Prometheus does without ``honor_labels``. Samples
without a timestamp take the scrape time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families

from pipeline._clean import COUNTER, FINITE, GAUGE
from pipeline._errors import RecordError
from pipeline._samples import NodeSamples, SampleBuilder

__all__ = ["OPENMETRICS", "PROMETHEUS_TEXT", "TextDecoder", "is_text_content_type"]

OPENMETRICS = "application/openmetrics-text"
PROMETHEUS_TEXT = "text/plain"
_IDENTITY_HEADERS = {
    "continuum.node.id": "node",
    "continuum.tier": "tier",
    "continuum.site": "site",
}


def is_text_content_type(content_type: str) -> bool:
    """Tell whether a record's content type is a text exposition this decoder reads."""
    return content_type.startswith((OPENMETRICS, PROMETHEUS_TEXT))


def _kind(family_type: str, sample_name: str, family_name: str) -> int | None:
    """The sample kind, or None for series Prometheus would not store from a scrape."""
    suffix = sample_name[len(family_name) :]
    if suffix == "_created":
        return None
    if family_type == "counter" or sample_name.endswith("_total"):
        return COUNTER
    if family_type in ("histogram", "gaugehistogram", "summary"):
        if suffix in ("_bucket", "_count"):
            return COUNTER if family_type != "gaugehistogram" else GAUGE
        return FINITE
    return GAUGE


def _timestamp_ms(sample: Any, default_ms: int) -> int:
    ts = sample.timestamp
    if ts is None:
        return default_ms
    if hasattr(ts, "sec"):
        return int(ts.sec) * 1000 + int(ts.nsec) // 1_000_000
    return int(float(ts) * 1000)


class TextDecoder:
    """Decodes forwarded text expositions through a :class:`SampleBuilder`."""

    def __init__(self, builder: SampleBuilder):
        self.builder = builder

    def decode(
        self, payload: bytes, content_type: str, headers: Mapping[str, str], record_key: str | None
    ) -> list[NodeSamples]:
        """Decode one record value.

        Raises:
            RecordError: invalid UTF-8, unparsable text, or no node identity.
        """
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RecordError("invalid_utf8", f"exposition is not UTF-8: {err}") from err
        identity = {label: headers[h] for h, label in _IDENTITY_HEADERS.items() if headers.get(h)}
        if "node" not in identity:
            if not record_key:
                raise RecordError("missing_identity", "no continuum.node.id header or key")
            identity["node"] = record_key
        try:
            scrape_ms = int(headers.get("scrape.timestamp_ms") or 0)
        except ValueError as err:
            raise RecordError(
                "bad_header", f"scrape.timestamp_ms is not an integer: {err}"
            ) from err
        builder = self.builder
        builder.begin_record()
        scrape_ms = scrape_ms or builder.cleaner.now_ms()
        builder.start(identity["node"], tuple(sorted(identity.items())))
        try:
            families: Iterable[Any]
            if content_type.startswith(OPENMETRICS):
                families = list(openmetrics_parser.text_string_to_metric_families(text))  # type: ignore[no-untyped-call]
            else:
                families = list(text_string_to_metric_families(text))
        except (ValueError, KeyError, IndexError) as err:
            raise RecordError("parse", f"exposition does not parse: {err}") from err
        renamed = 0
        for family in families:
            for sample in family.samples:
                kind = _kind(family.type, sample.name, family.name)
                if kind is None:
                    continue
                labels = []
                for label, value in sample.labels.items():
                    if label in identity:
                        label = "exported_" + label
                        renamed += 1
                    labels.append((label, value))
                builder.add(
                    sample.name, labels, _timestamp_ms(sample, scrape_ms), float(sample.value), kind
                )
        if renamed:
            builder.cleaner.adjust("label_renamed", renamed)
        return builder.finish()
