"""Series of the Prometheus recording rules in deploy/prometheus (fleet roll-ups)."""

from __future__ import annotations

from pipeline.catalogue._series import Series

RULE_SERIES: tuple[Series, ...] = ()
