"""Series of the probe agent (links and services)."""

from __future__ import annotations

from pipeline.catalogue._series import Series

PROBE_SERIES: tuple[Series, ...] = ()
