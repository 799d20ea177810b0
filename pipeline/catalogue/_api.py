"""Series of the scheduler API's self-metrics."""

from __future__ import annotations

from pipeline.catalogue._series import Series

API_SERIES: tuple[Series, ...] = ()
