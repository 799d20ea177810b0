"""OTel instrument names, units and attribute keys as Prometheus names.

The translation of the OTel "Prometheus and OpenMetrics compatibility" specification as
``opentelemetry-exporter-prometheus`` 0.66b2 implements it (docs/contracts.md §3.2: both
delivery paths give identical names, and tests pin this against that exporter).
prometheus_client's metric families then append the unit suffix and ``_total``, as they do for
the exporter. The pipeline's ``pipeline/_naming.py`` holds the same tables: docs/contracts.md §2
lets neither package import the other, and each is pinned to the exporter by its own test::

    family_name("system.cpu.time")     # "system_cpu_time"
    unit_suffix("s")                   # "seconds" -> system_cpu_time_seconds_total
    label_name("cpu.mode")             # "cpu_mode"
    label_value(3)                     # "3"
"""

from __future__ import annotations

import json
import re

__all__ = ["family_name", "label_name", "label_value", "unit_suffix"]

_NAME_INVALID = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL_INVALID = re.compile(r"[^a-zA-Z0-9]+")
# UCUM annotations ({packet}, {cpu}) say what is counted; they add no suffix.
_ANNOTATION = re.compile(r"{.*}")

# UCUM units to Prometheus suffixes. "1" maps to nothing: the spec's "_ratio" is still an open
# question (opentelemetry-specification#4058), and the exporter we match leaves it out.
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


def _leading_digit_to_underscore(text: str) -> str:
    return "_" + text[1:] if text and text[0].isdigit() else text


def family_name(instrument: str) -> str:
    """The Prometheus family name of an instrument, before unit suffix and ``_total``."""
    return _NAME_INVALID.sub("_", _leading_digit_to_underscore(instrument))


def label_name(key: str) -> str:
    """The Prometheus label name of an attribute key (``cpu.mode`` -> ``cpu_mode``)."""
    return _LABEL_INVALID.sub("_", _leading_digit_to_underscore(key))


def label_value(value: object) -> str:
    """A label value: strings as they are, anything else as JSON (``3``, ``true``)."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def unit_suffix(unit: str) -> str:
    """The Prometheus suffix of a UCUM unit (``By`` -> ``bytes``, ``By/s`` ->
    ``bytes_per_second``); ``""`` for none."""
    unit = _ANNOTATION.sub("", unit)
    if unit in _UNIT_SUFFIXES:
        return _UNIT_SUFFIXES[unit]
    top, slash, bottom = unit.partition("/")
    if slash:
        bottom = _NAME_INVALID.sub("_", bottom)
        if bottom:
            top = _NAME_INVALID.sub("_", top)
            top = _UNIT_SUFFIXES.get(top, top)
            bottom = _PER_UNIT_SUFFIXES.get(bottom, bottom)
            return f"{top}_per_{bottom}" if top else f"per_{bottom}"
    return _NAME_INVALID.sub("_", unit).strip("_")
