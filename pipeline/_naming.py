"""OpenTelemetry to Prometheus naming, as the OpenTelemetry Prometheus exporter does it.

The rules follow the OTel "Prometheus and OpenMetrics compatibility" specification as implemented
by ``opentelemetry-exporter-prometheus`` 0.66b2 (a test pins the two against each other)::

    >>> metric_name("system.cpu.time", "s", MetricKind.COUNTER)
    'system_cpu_time_seconds_total'
    >>> label_name("cpu.mode")
    'cpu_mode'

Before naming, :func:`normalise_unit` turns scaled units into base units (``ms`` to ``s``,
``KiBy`` to ``By``), so a sample lands under one name whatever scale its producer chose.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

__all__ = [
    "MetricKind",
    "is_valid_label_name",
    "is_valid_metric_name",
    "label_name",
    "map_unit",
    "metric_name",
    "normalise_unit",
]

_SANITIZE_NAME_RE = re.compile(r"[^a-zA-Z0-9:]+")
_SANITIZE_LABEL_RE = re.compile(r"[^a-zA-Z0-9]+")
_ANNOTATION_RE = re.compile(r"{.*}")
_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

# UCUM units to the Prometheus suffix (the OTel spec's table).
_UNIT_SUFFIXES = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}
_PER_UNIT_SUFFIXES = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}

# Scaled units to (base unit, factor): value_in_base = value * factor.
_TO_BASE_UNIT: dict[str, tuple[str, float]] = {
    "ms": ("s", 1e-3),
    "us": ("s", 1e-6),
    "ns": ("s", 1e-9),
    "min": ("s", 60.0),
    "h": ("s", 3600.0),
    "d": ("s", 86400.0),
    "KiBy": ("By", 1024.0),
    "MiBy": ("By", 1024.0**2),
    "GiBy": ("By", 1024.0**3),
    "TiBy": ("By", 1024.0**4),
    "KBy": ("By", 1e3),
    "MBy": ("By", 1e6),
    "GBy": ("By", 1e9),
    "TBy": ("By", 1e12),
    "kJ": ("J", 1e3),
    "kW": ("W", 1e3),
    "mW": ("W", 1e-3),
    "kHz": ("Hz", 1e3),
    "MHz": ("Hz", 1e6),
    "GHz": ("Hz", 1e9),
}


class MetricKind(Enum):
    """How a metric is exposed: counters get ``_total``, the rest keep their name."""

    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"


def normalise_unit(unit: str) -> tuple[str, float]:
    """Return the base unit for ``unit`` and the factor that converts values into it.

    Units already in base form (or unknown) come back unchanged with factor 1.
    """
    return _TO_BASE_UNIT.get(unit, (unit, 1.0))


def _sanitize_name(name: str) -> str:
    return _SANITIZE_NAME_RE.sub("_", name)


def map_unit(unit: str) -> str:
    """Map a UCUM unit to its Prometheus name suffix (``""`` for none)."""
    unit = _ANNOTATION_RE.sub("", unit)
    if unit in _UNIT_SUFFIXES:
        return _UNIT_SUFFIXES[unit]
    top_bottom = unit.split("/", maxsplit=1)
    if len(top_bottom) == 2:
        bottom = _sanitize_name(top_bottom[1])
        if bottom:
            top = _sanitize_name(top_bottom[0])
            top = _UNIT_SUFFIXES.get(top, top)
            bottom = _PER_UNIT_SUFFIXES.get(bottom, bottom)
            return f"{top}_per_{bottom}" if top else f"per_{bottom}"
    return _sanitize_name(unit).strip("_")


@lru_cache(maxsize=4096)
def metric_name(name: str, unit: str, kind: MetricKind) -> str:
    """Translate an OTel instrument name and unit into the Prometheus family name.

    Counters carry ``_total``; histograms and summaries return the family name their
    ``_bucket``/``_sum``/``_count`` series extend.
    """
    if name and name[0].isdigit():
        name = "_" + name[1:]
    prom = _sanitize_name(name)
    if kind is MetricKind.COUNTER and prom.endswith("_total"):
        # The exporter strips ``_total`` before adding the unit and puts it back at the end.
        prom = prom[:-6]
    suffix = map_unit(unit)
    if suffix and not prom.endswith("_" + suffix):
        prom = f"{prom}_{suffix}"
    if kind is MetricKind.COUNTER:
        prom += "_total"
    return prom


@lru_cache(maxsize=8192)
def label_name(key: str) -> str:
    """Translate an attribute key into a Prometheus label name (dots to underscores)."""
    if key and key[0].isdigit():
        key = "_" + key[1:]
    return _SANITIZE_LABEL_RE.sub("_", key)


@lru_cache(maxsize=65536)
def is_valid_metric_name(name: str) -> bool:
    """Tell whether ``name`` is a legal Prometheus metric name."""
    return _METRIC_NAME_RE.fullmatch(name) is not None


@lru_cache(maxsize=8192)
def is_valid_label_name(name: str) -> bool:
    """Tell whether ``name`` is a legal, non-reserved Prometheus label name."""
    return _LABEL_NAME_RE.fullmatch(name) is not None and not name.startswith("__")
