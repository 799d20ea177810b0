"""Series of the container agent (cgroups)."""

from __future__ import annotations

from pipeline.catalogue._series import Series

CONTAINER_SERIES: tuple[Series, ...] = ()
