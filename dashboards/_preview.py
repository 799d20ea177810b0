"""Render dashboards to PNG from live Prometheus data, for a look without a Grafana server.

Each dashboard becomes one image laid out like Grafana's grid: time series as lines, heatmaps as
a node-by-time colour map, stats as a big number, bar gauges as horizontal bars and tables as
text. A panel whose query fails or returns nothing says so in place of the plot::

    for result in preview(Path("/tmp/preview"), "http://127.0.0.1:9090"):
        print(result.path, result.empty_panels)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dashboards._layout import GRID_COLUMNS, layout
from dashboards._promql import substitute
from dashboards._spec import DashboardSpec, Panel, PanelKind, Query, Row

__all__ = [
    "Preview",
    "PrometheusClient",
    "PrometheusQueryError",
    "QueryResult",
    "preview",
    "render",
]

log = logging.getLogger(__name__)

_COLUMN_INCHES = 0.75
_GRID_ROW_INCHES = 0.32
_DPI = 90
_MAX_POINTS = 240
_LEGEND = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class PrometheusQueryError(RuntimeError):
    """Prometheus answered with an error or could not be reached."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One series of a query result: its legend and its (unix time, value) points."""

    legend: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Preview:
    """A rendered dashboard: the PNG, and the titles of the panels that showed no data."""

    path: Path
    empty_panels: tuple[str, ...]


@dataclass
class PrometheusClient:
    """A minimal Prometheus HTTP API client (instant, range and label-values queries).

    Args:
        url: Prometheus base URL.
        timeout_s: per-request timeout.
        transport: an httpx transport (tests inject a mock one).
    """

    url: str
    timeout_s: float = 10.0
    transport: httpx.BaseTransport | None = None
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.url.rstrip("/"), timeout=self.timeout_s, transport=self.transport
        )

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: Mapping[str, Any]) -> Any:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as err:
            raise PrometheusQueryError(f"{self.url}: {err}") from err
        try:
            body = response.json()
        except ValueError as err:
            raise PrometheusQueryError(f"{path}: HTTP {response.status_code}, not JSON") from err
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def label_values(self, label: str, selector: str) -> list[str]:
        """Values of ``label`` on the series matching ``selector``, sorted."""
        data = self._get(f"/api/v1/label/{label}/values", {"match[]": selector})
        return sorted(str(v) for v in data)

    def instant(self, expr: str, at_s: float) -> list[dict[str, Any]]:
        """Run an instant query at ``at_s``; a scalar comes back as one unlabelled sample."""
        data = self._get("/api/v1/query", {"query": expr, "time": at_s})
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def range(self, expr: str, start_s: float, end_s: float, step_s: float) -> list[dict[str, Any]]:
        """Run a range query; every series comes with its ``values``."""
        params = {"query": expr, "start": start_s, "end": end_s, "step": step_s}
        return list(self._get("/api/v1/query_range", params)["result"])


def _legend(template: str, labels: Mapping[str, str], expr: str) -> str:
    filled = _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template).strip()
    # Like Grafana: a legend that comes out empty shows the label set instead.
    return filled or ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or expr


def run_query(
    client: PrometheusClient,
    query: Query,
    variables: Mapping[str, str],
    *,
    end_s: float,
    range_s: float,
    instant: bool,
) -> list[QueryResult]:
    """Run one panel query as Grafana would, with variables filled in.

    Args:
        client: the Prometheus client.
        query: the panel query.
        variables: dashboard variable values.
        end_s: the end of the time range (unix seconds).
        range_s: the length of the time range.
        instant: evaluate at ``end_s`` only.

    Raises:
        PrometheusQueryError: Prometheus rejected the query or was unreachable.
    """
    expr = substitute(query.expr, variables)
    if instant:
        rows = client.instant(expr, end_s)
        return [
            QueryResult(
                _legend(query.legend, r["metric"], expr),
                ((float(r["value"][0]), float(r["value"][1])),),
            )
            for r in rows
        ]
    step_s = max(1.0, range_s / _MAX_POINTS)
    rows = client.range(expr, end_s - range_s, end_s, step_s)
    return [
        QueryResult(
            _legend(query.legend, r["metric"], expr),
            tuple((float(t), float(v)) for t, v in r["values"]),
        )
        for r in rows
    ]


def resolve_variables(
    client: PrometheusClient, spec: DashboardSpec, given: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Pick a value for each dashboard variable: the given one, else the first one offered.

    A variable with no value offered gets ``""`` so its panels come out empty, not broken.
    """
    values: dict[str, str] = dict(given or {})
    for variable in spec.variables:
        if variable.name in values:
            continue
        try:
            offered = client.label_values(variable.label, substitute(variable.selector, values))
        except PrometheusQueryError as err:
            log.warning("no values for $%s: %s", variable.name, err)
            offered = []
        values[variable.name] = offered[0] if offered else ""
    return values


def _format(value: float, unit: str) -> str:
    if unit == "percentunit":
        return f"{value:.2%}" if abs(value) < 0.01 else f"{value:.1%}"
    if unit in ("bytes", "Bps"):
        suffix = "/s" if unit == "Bps" else ""
        for prefix in ("", "Ki", "Mi", "Gi", "Ti"):
            if abs(value) < 1024 or prefix == "Ti":
                return f"{value:.1f} {prefix}B{suffix}"
            value /= 1024
    if unit == "s":
        for size_s, suffix in ((86400.0, "d"), (3600.0, "h"), (60.0, "min")):
            if abs(value) >= size_s:
                return f"{value / size_s:.1f} {suffix}"
        return f"{value:.3g} s"
    return f"{value:.4g}"


def _draw_message(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, color="#a33", wrap=True)
    axes.set_axis_off()


def _draw(axes: Axes, panel: Panel, series: Sequence[QueryResult]) -> None:
    if panel.kind is PanelKind.STAT:
        text = "  ".join(_format(s.points[-1][1], panel.unit) for s in series[:4])
        axes.text(0.5, 0.45, text, ha="center", va="center", fontsize=22, weight="bold")
        axes.set_axis_off()
    elif panel.kind is PanelKind.BARGAUGE:
        values = [s.points[-1][1] for s in series][::-1]
        axes.barh(range(len(values)), values, color="#3274d9", alpha=0.8)
        # Labels inside the plot: long legends would be clipped as tick labels.
        for index, (result, value) in enumerate(zip(series[::-1], values, strict=True)):
            text = f" {result.legend}: {_format(value, panel.unit)}"
            axes.text(0, index, text, va="center", fontsize=8)
        axes.set_yticks([])
        axes.tick_params(labelsize=7)
    elif panel.kind is PanelKind.TABLE:
        lines = [f"{s.legend}: {_format(s.points[-1][1], panel.unit)}" for s in series[:12]]
        axes.text(0.01, 0.98, "\n".join(lines), va="top", family="monospace", fontsize=7)
        axes.set_axis_off()
    elif panel.kind is PanelKind.HEATMAP:
        times = sorted({t for s in series for t, _ in s.points})
        column = {t: i for i, t in enumerate(times)}
        grid = [[float("nan")] * len(times) for _ in series]
        for row, s in enumerate(series):
            for t, v in s.points:
                grid[row][column[t]] = v
        image = axes.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis")
        axes.set_yticks(range(len(series)), [s.legend for s in series], fontsize=7)
        axes.set_xticks([])
        axes.figure.colorbar(image, ax=axes, fraction=0.04)
    else:
        for s in series[:12]:
            xs = [t for t, _ in s.points]
            axes.plot(xs, [v for _, v in s.points], label=s.legend, linewidth=1.2)
        axes.xaxis.set_major_formatter(lambda v, _pos: time.strftime("%H:%M:%S", time.localtime(v)))
        axes.legend(fontsize=6, loc="upper left", ncol=2)
        axes.tick_params(labelsize=7)
        axes.yaxis.set_major_formatter(lambda v, _pos: _format(v, panel.unit))
        axes.grid(alpha=0.3)


def render(
    client: PrometheusClient,
    spec: DashboardSpec,
    path: Path,
    *,
    variables: Mapping[str, str] | None = None,
    range_s: float = 3600.0,
    end_s: float | None = None,
) -> Preview:
    """Render one dashboard to a PNG file.

    Args:
        client: the Prometheus client.
        spec: the dashboard.
        path: the PNG to write.
        variables: values for the dashboard variables (default: the first offered).
        range_s: the time range shown.
        end_s: the end of the range (default now).

    Returns:
        The PNG and the panels that had nothing to show.
    """
    end = time.time() if end_s is None else end_s
    values = resolve_variables(client, spec, variables)
    placed = layout(spec)
    height_units = max(p.y + p.h for p in placed)
    width_in = GRID_COLUMNS * _COLUMN_INCHES
    top_in = 0.9  # room for the dashboard title above the first row
    height_in = height_units * _GRID_ROW_INCHES + top_in + 0.3
    figure = Figure(figsize=(width_in, height_in), dpi=_DPI)
    FigureCanvasAgg(figure)
    shown = ", ".join(f"{v.name}={values[v.name]}" for v in spec.variables)
    figure.suptitle(
        f"{spec.title}" + (f"  ({shown})" if shown else ""),
        fontsize=14,
        x=0.01,
        y=1 - 0.3 / height_in,
        ha="left",
        va="top",
    )
    empty: list[str] = []
    for item in placed:
        left = item.x / GRID_COLUMNS
        bottom = 1 - (top_in + (item.y + item.h) * _GRID_ROW_INCHES) / height_in
        width = item.w / GRID_COLUMNS
        height = item.h * _GRID_ROW_INCHES / height_in
        if isinstance(item.item, Row):
            title = substitute(item.title, values)
            figure.text(left + 0.005, bottom + height / 2, title, fontsize=12, weight="bold")
            continue
        panel = item.item
        # Margins inside the panel's cell leave room for tick labels and the title.
        axes = figure.add_axes((left + 0.035, bottom + 0.1 * height, width - 0.05, height * 0.72))
        axes.set_title(panel.title, fontsize=9, loc="left")
        series: list[QueryResult] = []
        try:
            for query in panel.queries:
                series += run_query(
                    client,
                    query,
                    values,
                    end_s=end,
                    range_s=range_s,
                    instant=panel.evaluates_instantly(query),
                )
        except PrometheusQueryError as err:
            _draw_message(axes, f"query failed: {err}")
            empty.append(panel.title)
            continue
        if not series:
            _draw_message(axes, "No data")
            empty.append(panel.title)
            continue
        _draw(axes, panel, series)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return Preview(path, tuple(empty))


def preview(
    out_dir: Path,
    prometheus_url: str,
    *,
    dashboards: Sequence[DashboardSpec] | None = None,
    variables: Mapping[str, str] | None = None,
    range_s: float = 3600.0,
) -> list[Preview]:
    """Render every dashboard to ``out_dir/<uid>.png`` from live Prometheus data.

    Args:
        out_dir: where the PNGs go (created if missing).
        prometheus_url: the Prometheus to query.
        dashboards: which dashboards (default all).
        variables: dashboard variable values (default: the first value each offers).
        range_s: the time range shown, ending now.

    Returns:
        One :class:`Preview` per dashboard.

    Raises:
        PrometheusQueryError: Prometheus cannot be reached.
    """
    from dashboards._build import DASHBOARDS

    client = PrometheusClient(prometheus_url)
    try:
        # Fail once, clearly, rather than draw "query failed" in every panel.
        client.instant("vector(1)", time.time())
        return [
            render(client, spec, out_dir / f"{spec.uid}.png", variables=variables, range_s=range_s)
            for spec in (dashboards if dashboards is not None else DASHBOARDS)
        ]
    finally:
        client.close()
