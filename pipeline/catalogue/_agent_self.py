"""Series of the every agent's self-telemetry (collector durations, queue, spool)."""

from __future__ import annotations

from pipeline.catalogue._series import Series

AGENT_SELF_SERIES: tuple[Series, ...] = ()
