"""The series catalogue: every Prometheus series the stack writes.

It is the one contract for what lands in Prometheus. PromQL in ``scheduler_api``,
dashboards and alert rules name only catalogued series, and a test checks it.

Each producing component owns one module of entries; this package joins them::

    from pipeline.catalogue import CATALOGUE, lookup
    series = lookup("system_cpu_utilization")
    print(series.help)
"""

from __future__ import annotations

from pipeline.catalogue._agent_self import AGENT_SELF_SERIES
from pipeline.catalogue._aggregates import AGGREGATE_SERIES
from pipeline.catalogue._api import API_SERIES
from pipeline.catalogue._containers import CONTAINER_SERIES
from pipeline.catalogue._identity import IDENTITY_SERIES
from pipeline.catalogue._node import NODE_SERIES
from pipeline.catalogue._pipeline_self import PIPELINE_SELF_SERIES
from pipeline.catalogue._probes import PROBE_SERIES
from pipeline.catalogue._rules import RULE_SERIES
from pipeline.catalogue._series import (
    CONTAINER_IDENTITY_LABELS,
    NODE_IDENTITY_LABELS,
    Series,
    SeriesType,
)
from pipeline.catalogue._tasks import TASK_SERIES

__all__ = [
    "CATALOGUE",
    "CONTAINER_IDENTITY_LABELS",
    "NODE_IDENTITY_LABELS",
    "Series",
    "SeriesType",
    "is_catalogued",
    "lookup",
]


def _index(*groups: tuple[Series, ...]) -> dict[str, Series]:
    index: dict[str, Series] = {}
    for group in groups:
        for series in group:
            if series.name in index:
                raise ValueError(f"series {series.name!r} is catalogued twice")
            index[series.name] = series
    return index


#: Every catalogued series by Prometheus name.
CATALOGUE: dict[str, Series] = _index(
    NODE_SERIES,
    IDENTITY_SERIES,
    CONTAINER_SERIES,
    PROBE_SERIES,
    AGENT_SELF_SERIES,
    AGGREGATE_SERIES,
    PIPELINE_SELF_SERIES,
    API_SERIES,
    RULE_SERIES,
    TASK_SERIES,
)

# Histograms and summaries expose derived series under their family name.
_FAMILY_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def lookup(name: str) -> Series:
    """Return the catalogue entry for a Prometheus series name.

    Args:
        name: a series name as it appears in PromQL (``_bucket``/``_sum``/``_count``
            of a histogram resolve to the family).

    Raises:
        KeyError: the name is not catalogued.
    """
    if name in CATALOGUE:
        return CATALOGUE[name]
    for suffix in _FAMILY_SUFFIXES:
        if name.endswith(suffix):
            family = CATALOGUE.get(name.removesuffix(suffix))
            if family is not None and family.type in (SeriesType.HISTOGRAM, SeriesType.SUMMARY):
                return family
    raise KeyError(name)


def is_catalogued(name: str) -> bool:
    """Tell whether a Prometheus series name is in the catalogue."""
    try:
        lookup(name)
    except KeyError:
        return False
    return True
