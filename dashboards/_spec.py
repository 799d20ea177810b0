"""A small typed description of a dashboard, rendered to Grafana JSON and to preview PNGs.

Dashboards are written as these specs rather than straight as grafanalib objects so that the
builder, the PNG preview and the tests that run every expression read one typed structure::

    busy = Query("continuum:node_cpu_utilization:avg1m", legend="{{node}}")
    Panel("CPU busy", (busy,), unit="percentunit")
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

#: What a panel says instead of "No data" when its whole source is absent from the node: the
#: series of a GPU, a container or a TLS probe only exist where there is one.
ABSENT_TEXT: dict[str, str] = {
    "gpu": "No GPUs on this node",
    "containers": "No containers on this node",
    "tls": "No TLS services probed from this node",
}

__all__ = [
    "ABSENT_TEXT",
    "DashboardSpec",
    "Panel",
    "PanelKind",
    "Query",
    "Row",
    "Variable",
    "needing",
    "stat",
    "timeseries",
    "top",
]


class PanelKind(StrEnum):
    """Grafana visualisations the dashboards use."""

    TIMESERIES = "timeseries"
    STAT = "stat"
    HEATMAP = "heatmap"
    TABLE = "table"
    BARGAUGE = "bargauge"


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL expression of a panel.

    Attributes:
        expr: PromQL, possibly with dashboard variables (``$node``) and ``$__rate_interval``.
        legend: Grafana legend template (``{{node}}``).
        instant: evaluate at the end of the range only (tables, stats of current state).
        needs: a source the series only exist with (``"gpu"``, ``"containers"``, ``"tls"``,
            keys of :data:`ABSENT_TEXT`); such a query is legitimately empty on a node without
            it, its panel says so, and the live-data tests allow it there.
    """

    expr: str
    legend: str = ""
    instant: bool = False
    needs: str = ""


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel: a title, what it shows, and how.

    Attributes:
        title: the panel title.
        queries: the expressions it plots.
        kind: the visualisation.
        unit: a Grafana unit id (``percentunit``, ``bytes``, ``Bps``, ``s``, ``short``).
        description: what the panel tells an operator, shown on hover.
        width: grid columns out of 24.
        height: grid rows.
    """

    title: str
    queries: tuple[Query, ...]
    kind: PanelKind = PanelKind.TIMESERIES
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8

    @property
    def no_value(self) -> str:
        """The text shown when there is no data: what is absent, when every query needs it."""
        needs = {query.needs for query in self.queries}
        (source,) = needs if len(needs) == 1 else ("",)
        return ABSENT_TEXT.get(source, "")

    def evaluates_instantly(self, query: Query) -> bool:
        """Whether Grafana evaluates the query at the range's end only (current-state panels)."""
        return query.instant or self.kind in (PanelKind.STAT, PanelKind.BARGAUGE, PanelKind.TABLE)


@dataclass(frozen=True, slots=True)
class Row:
    """A titled group of panels, laid out left to right and wrapped at 24 columns."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    """A dashboard variable whose values are a label's values on one series.

    Attributes:
        name: the variable name used in expressions as ``$name``.
        label: the Prometheus label whose values it offers.
        selector: the series selector the values come from (may use earlier variables).
        title: the name shown on the dashboard.
        include_all: offer "All" (expressions then match it with ``=~``).
    """

    name: str
    label: str
    selector: str
    title: str
    include_all: bool = False

    @property
    def grafana_query(self) -> str:
        """The Grafana Prometheus ``label_values`` query of this variable."""
        return f"label_values({self.selector}, {self.label})"


@dataclass(frozen=True, slots=True)
class DashboardSpec:
    """One dashboard.

    Attributes:
        uid: stable Grafana uid (links and provisioning rely on it).
        title: the dashboard title.
        description: what it is for.
        rows: panels grouped in rows.
        variables: template variables, in dependency order.
        tags: Grafana tags.
    """

    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = field(default=("continuum",))

    def panels(self) -> Iterator[Panel]:
        """Every panel, row by row."""
        for row in self.rows:
            yield from row.panels

    def queries(self) -> Iterator[tuple[Panel, Query]]:
        """Every query with its panel."""
        for panel in self.panels():
            for query in panel.queries:
                yield panel, query


def stat(
    title: str,
    expr: str,
    *,
    unit: str = "short",
    description: str = "",
    width: int = 4,
    needs: str = "",
) -> Panel:
    """A stat panel showing the latest value of one expression."""
    query = Query(expr, needs=needs)
    return Panel(title, (query,), PanelKind.STAT, unit, description, width=width, height=4)


def timeseries(
    title: str, *queries: Query, unit: str = "short", description: str = "", width: int = 12
) -> Panel:
    """A time-series panel of one or more expressions."""
    return Panel(title, queries, PanelKind.TIMESERIES, unit, description, width=width)


def top(title: str, expr: str, *, unit: str, description: str = "", width: int = 8) -> Panel:
    """A bar gauge of the ten highest series of an expression right now, by node."""
    query = Query(f"topk(10, {expr})", "{{node}}", instant=True)
    return Panel(title, (query,), PanelKind.BARGAUGE, unit, description, width=width)


def needing(source: str, spec: DashboardSpec) -> DashboardSpec:
    """``spec`` with every query marked as needing ``source`` (a dashboard of one source)."""
    rows = tuple(
        replace(
            row,
            panels=tuple(
                replace(panel, queries=tuple(replace(q, needs=source) for q in panel.queries))
                for panel in row.panels
            ),
        )
        for row in spec.rows
    )
    return replace(spec, rows=rows)
