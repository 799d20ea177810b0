"""Series of the pipeline worker's self-metrics."""

from __future__ import annotations

from pipeline.catalogue._series import Series

PIPELINE_SELF_SERIES: tuple[Series, ...] = ()
