"""The core path on both metric stores: a node agent's data through Kafka and the pipeline into
the store, the shipped rules evaluated on it (Prometheus's own, or vmalert), and the API's
nodes, rankings and history read from it. One stack per backend, the same tests on each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from continuum.services import TansuBroker, wait_until
from tests.integration.conftest import LiveStack
from tests.integration.storage.conftest import BACKENDS, Store

_DEADLINE_S = 45.0


@pytest.fixture(scope="module", params=BACKENDS)
def backend_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tansu: TansuBroker
) -> Iterator[tuple[LiveStack, Store]]:
    """Node agent, pipeline worker and API writing to and reading from one backend."""
    name = "ruled_prometheus" if request.param == "prometheus" else "victoria_metrics"
    store: Store = request.getfixturevalue(name)
    stack = LiveStack(tmp_path_factory.mktemp(f"stack-{request.param}"), tansu, store)  # type: ignore[arg-type]
    try:
        stack.start()
        yield stack, store
    finally:
        stack.stop()


def _get(stack: LiveStack, path: str, **params: Any) -> Any:
    response = httpx.get(
        f"{stack.api_url}{path}", params=params, headers=stack.headers(), timeout=10
    )
    response.raise_for_status()
    return response.json()


def test_the_pipeline_writes_the_nodes_series_and_the_rules_run_on_them(
    backend_stack: tuple[LiveStack, Store],
) -> None:
    stack, store = backend_stack
    node = f'node="{stack.node_id}"'
    # Raw series and the pipeline's own aggregates, as written by remote write.
    store.wait_for(f"system_cpu_time_seconds_total{{{node}}}", timeout_s=_DEADLINE_S)
    cores = store.wait_for(f"continuum:node_cpu_cores{{{node}}}", timeout_s=_DEADLINE_S)
    assert float(cores[0]["value"][1]) >= 1
    assert cores[0]["metric"]["tier"] == "edge"
    # A recording rule of deploy/prometheus/rules, evaluated by the backend's rule engine.
    store.wait_for(f"continuum:node_up{{{node}}} == 1", timeout_s=_DEADLINE_S)


def test_the_api_lists_and_ranks_the_node_from_the_store(
    backend_stack: tuple[LiveStack, Store],
) -> None:
    stack, store = backend_stack

    def listed() -> list[dict[str, Any]]:
        return [n for n in _get(stack, "/v1/nodes")["nodes"] if n["id"] == stack.node_id]

    # Fresh once its freshness series is in too: the node may first be listed from its
    # capacity alone, before the store answers for its latest sample (on a loaded host).
    wait_until(
        lambda: any(n["health"] == "healthy" for n in listed()),
        _DEADLINE_S,
        f"{stack.node_id} in /v1/nodes, healthy",
    )
    (entry,) = listed()
    cores = store.query(f'continuum:node_cpu_cores{{node="{stack.node_id}"}}')
    assert entry["capacity"]["cpu_cores"] == float(cores[0]["value"][1])
    # Fresh: the store answers "now" with the newest sample (VictoriaMetrics' latency offset
    # is set down to a second), so the node's data is seconds old, not stale.
    assert entry["health"] == "healthy", entry
    assert entry["age_s"] < 15, entry
    answer = httpx.post(
        f"{stack.api_url}/v1/rankings",
        # The suite keeps this host's cores busy: free capacity is not what is tested here.
        json={"cpu_cores": 1, "allow_oversubscribe": True},
        headers=stack.headers(),
        timeout=10,
    ).json()
    assert stack.node_id in [n["node"] for n in answer["ranked"]], answer


def test_the_nodes_history_comes_from_the_store(backend_stack: tuple[LiveStack, Store]) -> None:
    stack, store = backend_stack
    cores = float(
        store.wait_for(f'continuum:node_cpu_cores{{node="{stack.node_id}"}}', _DEADLINE_S)[0][
            "value"
        ][1]
    )

    def history() -> list[dict[str, Any]]:
        end = time.time()
        body = _get(
            stack,
            f"/v1/nodes/{stack.node_id}/history",
            metric=["cpu_cores", "cpu_utilization"],
            start=end - 120,
            end=end,
            step=1,
        )
        series: list[dict[str, Any]] = body["series"]
        return series

    wait_until(
        lambda: len(history()) == 2 and all(len(s["points"]) >= 3 for s in history()),
        _DEADLINE_S,
        "three seconds of history",
    )
    by_metric = {s["metric"]: s for s in history()}
    assert {v for _, v in by_metric["cpu_cores"]["points"]} == {cores}
    assert all(0.0 <= v <= 1.0 for _, v in by_metric["cpu_utilization"]["points"])
    assert by_metric["cpu_cores"]["labels"]["node"] == stack.node_id
