"""``GET /v1/nodes/{node_id}/history``: a node's ranking inputs over a time range, from the store.

The ranking reads the pipeline's per-node aggregates (docs/contracts.md §3.4) at one instant;
this route reads the same series over a range with one ``query_range``, so the orchestrator
and applications with the ``read`` scope see how a node's load, headroom and pressure moved.
Prometheus answers at most 11,000 points per series, and so does this route: a wider range or a
finer step is a 400 that says the largest step that fits.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from scheduler_api._deps import READ, Context
from scheduler_api._errors import ERROR_RESPONSES, ApiError, error_response
from scheduler_api._prometheus import PrometheusQueryError, PrometheusUnavailableError
from scheduler_api._snapshot import AGGREGATES

__all__ = ["HISTORY_METRICS", "MAX_POINTS_PER_SERIES", "router"]

#: Prometheus's own bound on a range query's points per series.
MAX_POINTS_PER_SERIES = 11_000
#: Ranking input (the field it fills) -> the aggregate series it is read from.
HISTORY_METRICS: dict[str, str] = {field: name for name, field in AGGREGATES.items()}
_DEFAULT_RANGE_S = 3600.0
_DEFAULT_STEP_S = 60.0
# Times are Unix seconds: anything past the year 5000 is a mistake, not a query.
_LATEST_S = 1e11

router = APIRouter(prefix="/v1", tags=["nodes"], dependencies=[READ], responses=ERROR_RESPONSES)


class HistorySeriesOut(BaseModel):
    """One ranking input of the node over the range."""

    metric: str = Field(description="The ranking input, e.g. `cpu_utilization`.")
    series: str = Field(description="The catalogued series it is read from.")
    labels: dict[str, str] = Field(description="The series' labels, its name left out.")
    points: list[tuple[float, float | None]] = Field(
        description="`[unix seconds, value]` pairs, oldest first; a non-finite value is null."
    )


class NodeHistoryOut(BaseModel):
    """A node's ranking inputs from ``start`` to ``end``, one point every ``step`` seconds."""

    node: str
    start: float
    end: float
    step: float
    series: list[HistorySeriesOut]


def points_in(start_s: float, end_s: float, step_s: float) -> float:
    """How many points a range query returns per series (both ends included); infinite when
    the range over the step overflows a float."""
    ratio = (end_s - start_s) / step_s
    return math.floor(ratio) + 1 if math.isfinite(ratio) else math.inf


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def history_query(node_id: str, series: list[str]) -> str:
    """The PromQL selector of ``series`` for one node (names are exact, so one alternation)."""
    return f'{{__name__=~"{"|".join(series)}",node="{_label_value(node_id)}"}}'


@router.get(
    "/nodes/{node_id}/history",
    summary="A node's ranking inputs over a time range",
    description=(
        "Reads the per-node aggregates the ranking uses (CPU use and its spread, free memory, "
        "capacity, network rates, pressure, power, ...) from the store with one range query. "
        "Without `metric`, every ranking input the node has. At most "
        f"{MAX_POINTS_PER_SERIES:,} points per series: `(end - start) / step + 1` beyond that "
        "is a 400. A node unknown to the store answers an empty `series` list."
    ),
    responses={
        400: error_response(
            "An unknown metric, an empty or reversed range, or more points than allowed."
        ),
        503: error_response("The store is unreachable."),
    },
)
def node_history(
    ctx: Context,
    node_id: Annotated[str, Path(max_length=253, description="continuum node id")],
    metric: Annotated[
        list[str] | None,
        Query(
            max_length=len(HISTORY_METRICS),
            description="Ranking inputs to return (repeat the parameter); the names are those "
            "of `usage` and `capacity` in `GET /v1/nodes`: "
            + ", ".join(f"`{m}`" for m in sorted(HISTORY_METRICS)),
        ),
    ] = None,
    start: Annotated[
        float | None,
        Query(ge=0, le=_LATEST_S, description="Unix seconds; default one hour before `end`."),
    ] = None,
    end: Annotated[
        float | None, Query(ge=0, le=_LATEST_S, description="Unix seconds; default now.")
    ] = None,
    step: Annotated[
        float, Query(gt=0, le=86400, description="Seconds between points.")
    ] = _DEFAULT_STEP_S,
) -> NodeHistoryOut:
    wanted = list(dict.fromkeys(metric or sorted(HISTORY_METRICS)))
    unknown = [m for m in wanted if m not in HISTORY_METRICS]
    if unknown:
        raise ApiError(
            400,
            f"unknown metric {', '.join(map(repr, unknown))}: one of "
            + ", ".join(sorted(HISTORY_METRICS)),
        )
    end_s = ctx.clock() if end is None else end
    start_s = end_s - _DEFAULT_RANGE_S if start is None else start
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or end_s < start_s:
        raise ApiError(400, f"start ({start_s:g}) must not be after end ({end_s:g})")
    points = points_in(start_s, end_s, step)
    if points > MAX_POINTS_PER_SERIES:
        finest = (end_s - start_s) / (MAX_POINTS_PER_SERIES - 1)
        count = f"{int(points):,}" if math.isfinite(points) else "more"
        raise ApiError(
            400,
            f"{count} points per series exceed the limit of {MAX_POINTS_PER_SERIES:,}: "
            f"use a step of at least {math.ceil(finest)} s or a shorter range",
        )
    names = [HISTORY_METRICS[m] for m in wanted]
    try:
        found = ctx.cluster.client.query_range(history_query(node_id, names), start_s, end_s, step)
    except PrometheusUnavailableError as err:
        raise ApiError(
            503, f"the store is unreachable: {err}", headers={"Retry-After": "5"}
        ) from err
    except PrometheusQueryError as err:
        raise ApiError(400, f"the store refused the query: {err}") from err
    order = {name: i for i, name in enumerate(names)}
    series = sorted(
        (
            HistorySeriesOut(
                metric=AGGREGATES[s.labels.get("__name__", "")],
                series=s.labels.get("__name__", ""),
                labels={k: v for k, v in s.labels.items() if k != "__name__"},
                points=[(t, None if math.isnan(v) else v) for t, v in s.points],
            )
            for s in found
            if s.labels.get("__name__") in order
        ),
        key=lambda out: (order[out.series], sorted(out.labels.items())),
    )
    return NodeHistoryOut(node=node_id, start=start_s, end=end_s, step=step, series=series)
