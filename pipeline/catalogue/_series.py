"""The record type of the series catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SeriesType(StrEnum):
    """Prometheus metric family types, as in the exposition format."""

    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"
    INFO = "info"


#: Identity labels every series written by the stack carries (docs/contracts.md §3.1).
NODE_IDENTITY_LABELS: tuple[str, ...] = ("node", "tier", "site")
#: Identity labels container series carry in addition.
CONTAINER_IDENTITY_LABELS: tuple[str, ...] = ("container_id", "container", "pod", "namespace")


@dataclass(frozen=True, slots=True)
class Series:
    """One Prometheus series family the stack writes.

    Attributes:
        name: the Prometheus name as queried (counters include ``_total``).
        type: the metric family type.
        unit: the base unit (``seconds``, ``bytes``, ``ratio``, ``celsius``, ``watts``,
            ``joules``, or ``""`` for counts).
        help: one sentence that says what is measured.
        labels: the labels beyond the identity labels.
        otel_name: the OpenTelemetry instrument name it is translated from, when it has one.
        source: which component produces it (``agent``, ``containers``, ``probes``,
            ``pipeline``, ``api``, ``rules``).
    """

    name: str
    type: SeriesType
    unit: str
    help: str
    labels: tuple[str, ...] = ()
    otel_name: str | None = None
    source: str = "agent"
