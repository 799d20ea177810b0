"""``GET /v1/nodes/{node}/history``: one range query over the node's aggregates, the point
bound, the read scope and the store's errors, against a store behind httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from scheduler_api import ApiSettings, create_app
from scheduler_api.routes.history import HISTORY_METRICS, history_query, points_in
from tests.unit.scheduler_api.conftest import NOW_S, FakeClock, FakePrometheus


class RangeStore:
    """Answers ``query_range`` with two points per requested series; records each request."""

    def __init__(self, snapshot: FakePrometheus):
        self.snapshot = snapshot
        self.requests: list[dict[str, str]] = []
        self.status = 200
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/v1/query_range":
            return self.snapshot.handler(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        form = dict(httpx.QueryParams(request.content.decode()))
        self.requests.append(form)
        if self.status != 200:
            body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
            return httpx.Response(self.status, json=body)
        names = form["query"].split('"')[1].split("|")
        start, step = float(form["start"]), float(form["step"])
        result = [
            {
                "metric": {"__name__": name, "node": "edge-1", "tier": "edge", "site": "lab"},
                "values": [[start, "0.5"], [start + step, "NaN" if "pressure" in name else "1"]],
            }
            for name in reversed(names)  # the store's order is not the answer's
        ]
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
        )


@pytest.fixture
def store(fake_prometheus: FakePrometheus) -> RangeStore:
    return RangeStore(fake_prometheus)


@pytest.fixture
def history_client(
    api_settings: ApiSettings, store: RangeStore, api_clock: FakeClock
) -> Iterator[TestClient]:
    app = create_app(
        api_settings,
        prometheus_transport=httpx.MockTransport(store.handler),
        clock=api_clock,
        refresh_in_background=False,
    )
    with TestClient(app) as client:
        yield client


def test_history_reads_the_asked_inputs_in_one_range_query(
    history_client: TestClient, store: RangeStore, auth: Callable[..., dict[str, str]]
) -> None:
    answer = history_client.get(
        "/v1/nodes/edge-1/history",
        params=[
            ("metric", "cpu_utilization"),
            ("metric", "pressure_cpu"),
            ("start", NOW_S - 600),
            ("end", NOW_S),
            ("step", 30),
        ],
        headers=auth("read-token"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["node"], body["start"], body["end"], body["step"]) == (
        "edge-1",
        NOW_S - 600,
        NOW_S,
        30,
    )
    assert [s["metric"] for s in body["series"]] == ["cpu_utilization", "pressure_cpu"]
    assert body["series"][0]["series"] == "continuum:node_cpu_utilization:avg1m"
    assert body["series"][0]["labels"] == {"node": "edge-1", "tier": "edge", "site": "lab"}
    assert body["series"][0]["points"] == [[NOW_S - 600, 0.5], [NOW_S - 570, 1.0]]
    assert body["series"][1]["points"][1] == [NOW_S - 570, None]  # NaN is null
    (request,) = store.requests
    assert request["query"] == history_query(
        "edge-1", [HISTORY_METRICS["cpu_utilization"], HISTORY_METRICS["pressure_cpu"]]
    )
    assert (float(request["start"]), float(request["end"]), request["step"]) == (
        NOW_S - 600,
        NOW_S,
        "30",
    )


def test_history_defaults_to_every_input_over_the_last_hour(
    history_client: TestClient, store: RangeStore, auth: Callable[..., dict[str, str]]
) -> None:
    body = history_client.get("/v1/nodes/edge-1/history", headers=auth()).json()
    assert {s["metric"] for s in body["series"]} == set(HISTORY_METRICS)
    assert (body["start"], body["end"], body["step"]) == (NOW_S - 3600, NOW_S, 60)


def test_history_node_ids_are_quoted_in_promql() -> None:
    assert history_query('a"b\\c', ["x"]) == '{__name__=~"x",node="a\\"b\\\\c"}'


@pytest.mark.parametrize(
    ("start", "end", "step", "points"),
    [
        (0, 0, 1, 1),
        (0, 10, 1, 11),
        (0, 10, 3, 4),
        (0, 10_999, 1, 11_000),
        (0, 1e11, 5e-324, float("inf")),
    ],
)
def test_points_count_both_ends(start: float, end: float, step: float, points: float) -> None:
    assert points_in(start, end, step) == points


def test_more_than_eleven_thousand_points_is_a_400_naming_the_step_that_fits(
    history_client: TestClient, store: RangeStore, auth: Callable[..., dict[str, str]]
) -> None:
    fits = {"start": NOW_S - 10_999, "end": NOW_S, "step": 1}
    assert history_client.get("/v1/nodes/edge-1/history", params=fits, headers=auth()).is_success
    too_many = {"start": NOW_S - 11_000, "end": NOW_S, "step": 1}
    answer = history_client.get("/v1/nodes/edge-1/history", params=too_many, headers=auth())
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"
    assert "11,001 points per series exceed the limit of 11,000" in answer.json()["message"]
    assert "step of at least 2 s" in answer.json()["message"]
    assert len(store.requests) == 1  # the refused one never reached the store


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metric": "cpu_temperature"}, "unknown metric 'cpu_temperature'"),
        ({"start": NOW_S, "end": NOW_S - 1}, "must not be after end"),
        # A step so small that the point count overflows a float.
        ({"start": 0, "end": NOW_S, "step": 5e-324}, "more points per series exceed"),
    ],
)
def test_bad_history_requests_are_400s(
    history_client: TestClient,
    auth: Callable[..., dict[str, str]],
    params: dict[str, Any],
    message: str,
) -> None:
    answer = history_client.get("/v1/nodes/edge-1/history", params=params, headers=auth())
    assert answer.status_code == 400
    assert message in answer.json()["message"]


@pytest.mark.parametrize("query", ["step=0", "start=-1", "end=1e308", "start=-1e308&end=1e308"])
def test_history_times_and_step_are_bounded(
    history_client: TestClient, auth: Callable[..., dict[str, str]], query: str
) -> None:
    answer = history_client.get(f"/v1/nodes/edge-1/history?{query}", headers=auth())
    assert answer.status_code == 422


def test_history_needs_the_read_scope(
    history_client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    assert history_client.get("/v1/nodes/edge-1/history").status_code == 401
    answer = history_client.get("/v1/nodes/edge-1/history", headers=auth("alerts-token"))
    assert answer.status_code == 403


def test_store_errors_are_503_and_400(
    history_client: TestClient, store: RangeStore, auth: Callable[..., dict[str, str]]
) -> None:
    store.down = True
    answer = history_client.get("/v1/nodes/edge-1/history", headers=auth())
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    store.down = False
    store.status = 400
    answer = history_client.get("/v1/nodes/edge-1/history", headers=auth())
    assert answer.status_code == 400
    assert "the store refused the query" in answer.json()["message"]


def test_history_is_in_the_openapi_document(
    history_client: TestClient,
) -> None:
    document = history_client.get("/openapi.json").json()
    operation = document["paths"]["/v1/nodes/{node_id}/history"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "node_id",
        "metric",
        "start",
        "end",
        "step",
    }
    assert "11,000" in operation["description"]
    assert "400" in operation["responses"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/NodeHistoryOut")
