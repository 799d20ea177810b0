"""Render a :class:`DashboardSpec` to Grafana dashboard JSON with grafanalib.

Panels query the provisioned Prometheus datasource by uid (``deploy/grafana/provisioning``), so
the JSON imports without a datasource prompt::

    text = to_json(OVERVIEW)
"""

from __future__ import annotations

import json
from typing import Any

from grafanalib import core
from grafanalib._gen import DashboardEncoder

from dashboards._layout import layout
from dashboards._spec import DashboardSpec, Panel, PanelKind, Row, Variable

__all__ = ["DATASOURCE_UID", "to_grafanalib", "to_json"]

#: The uid the provisioned Prometheus datasource carries.
DATASOURCE_UID = "continuum-prometheus"
_DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}


def _targets(panel: Panel) -> list[core.Target]:
    return [
        core.Target(
            expr=query.expr,
            legendFormat=query.legend,
            instant=query.instant,
            refId=chr(ord("A") + index),
            datasource=_DATASOURCE,
            format="table" if panel.kind is PanelKind.TABLE else "time_series",
        )
        for index, query in enumerate(panel.queries)
    ]


def _field_defaults(panel: Panel, *, unit: bool) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit} if unit else {}
    if panel.no_value:
        # Shown instead of "No data" where the panel's whole source is absent from the node.
        defaults["noValue"] = panel.no_value
    return {"fieldConfig": {"defaults": defaults}} if defaults else {}


def _panel(panel: Panel, grid: core.GridPos) -> Any:
    common: dict[str, Any] = {
        "title": panel.title,
        "description": panel.description,
        "dataSource": _DATASOURCE,
        "targets": _targets(panel),
        "gridPos": grid,
    }
    if panel.kind is PanelKind.TIMESERIES:
        return core.TimeSeries(
            unit=panel.unit,
            legendDisplayMode="table",
            legendCalcs=["mean", "max"],
            extraJson=_field_defaults(panel, unit=False),
            **common,
        )
    if panel.kind is PanelKind.STAT:
        return core.Stat(
            format=panel.unit,
            reduceCalc="lastNotNull",
            graphMode="area",
            extraJson=_field_defaults(panel, unit=False),
            **common,
        )
    if panel.kind is PanelKind.HEATMAP:
        # One row per series (node), coloured by value: Grafana's "time series buckets" mode.
        return core.Heatmap(
            dataFormat="tsbuckets",
            hideZeroBuckets=False,
            extraJson=_field_defaults(panel, unit=True),
            **common,
        )
    if panel.kind is PanelKind.TABLE:
        return core.Table(
            unit=panel.unit,
            transformations=[{"id": "merge", "options": {}}],
            extraJson=_field_defaults(panel, unit=False),
            **common,
        )
    return core.BarGauge(
        format=panel.unit,
        calc="lastNotNull",
        displayMode="gradient",
        orientation="horizontal",
        max=None,
        extraJson=_field_defaults(panel, unit=True),
        **common,
    )


def _template(variable: Variable) -> core.Template:
    return core.Template(
        name=variable.name,
        label=variable.title,
        query=variable.grafana_query,
        dataSource=_DATASOURCE,
        refresh=2,  # on time range change: nodes and pods come and go
        includeAll=variable.include_all,
        allValue=".*" if variable.include_all else None,
        sort=1,
    )


def _panels(spec: DashboardSpec) -> list[Any]:
    panels: list[Any] = []
    for placed in layout(spec):
        grid = core.GridPos(h=placed.h, w=placed.w, x=placed.x, y=placed.y)
        if isinstance(placed.item, Row):
            panels.append(core.RowPanel(title=placed.item.title, gridPos=grid))
        else:
            panels.append(_panel(placed.item, grid))
    return panels


def to_grafanalib(spec: DashboardSpec) -> core.Dashboard:
    """Build the grafanalib dashboard of a spec, with stable panel ids."""
    dashboard = core.Dashboard(
        title=spec.title,
        uid=spec.uid,
        description=spec.description,
        tags=list(spec.tags),
        timezone="browser",
        refresh="30s",
        time=core.Time("now-1h", "now"),
        graphTooltip=core.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        panels=_panels(spec),
        templating=core.Templating(list=[_template(v) for v in spec.variables]),
    )
    return dashboard.auto_panel_ids()


def to_json(spec: DashboardSpec) -> str:
    """Return the dashboard's Grafana JSON text (stable key order, trailing newline)."""
    data = to_grafanalib(spec).to_json_data()
    return json.dumps(data, cls=DashboardEncoder, sort_keys=True, indent=2) + "\n"
