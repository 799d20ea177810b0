"""Grafana dashboards as code (grafanalib) and the builder that writes their JSON.

Each dashboard is a typed :class:`DashboardSpec`; the same spec yields the Grafana JSON, the PNG
preview and the list of PromQL expressions the live-data test runs::

    from dashboards import DASHBOARDS, build
    build(Path("deploy/grafana/dashboards"))
    for spec in DASHBOARDS:
        for panel, query in spec.queries():
            print(spec.title, panel.title, query.expr)
"""

from __future__ import annotations

from typing import Any

from dashboards._build import DASHBOARDS, build
from dashboards._grafana import DATASOURCE_UID, to_json
from dashboards._promql import PromQLSyntaxError, metric_names, substitute, variables_in
from dashboards._spec import DashboardSpec, Panel, PanelKind, Query, Row, Variable

__all__ = [
    "DASHBOARDS",
    "DATASOURCE_UID",
    "DashboardSpec",
    "Panel",
    "PanelKind",
    "Preview",
    "PromQLSyntaxError",
    "PrometheusClient",
    "PrometheusQueryError",
    "Query",
    "Row",
    "Variable",
    "build",
    "metric_names",
    "preview",
    "substitute",
    "to_json",
    "variables_in",
]


def __getattr__(name: str) -> Any:
    # The PNG preview pulls in matplotlib; load it only when asked for.
    if name in ("preview", "Preview", "PrometheusClient", "PrometheusQueryError"):
        from dashboards import _preview

        return getattr(_preview, name)
    raise AttributeError(f"module 'dashboards' has no attribute {name!r}")
