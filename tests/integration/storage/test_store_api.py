"""The API on each store: a node's history is the points written, exactly; the point bound
holds against a real query API; and a shipped alert rule, evaluated by the store's rule engine
(Prometheus, or vmalert), reaches Alertmanager and marks the node unhealthy in the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from continuum._victoria import VmAlert
from continuum.services import (
    AlertmanagerServer,
    PrometheusServer,
    _Service,
    free_port,
    wait_until,
)
from tests.integration.api.conftest import ApiDaemon
from tests.integration.storage.conftest import BACKENDS, RULES, Store
from tests.integration.storage.series import node_aggregates, remote_write

_HISTORY_NODE = "history-node"
_ALERTED_NODE = "alerted-node"
# Long enough for a series VictoriaMetrics has never seen (about 10 s) and one evaluation.
_DEADLINE_S = 60.0


def _rule_without_wait(tmp: Path, alert: str) -> Path:
    """The shipped rule ``alert``, alone and with ``for: 0s``: a test cannot wait 5 minutes."""
    document = yaml.safe_load((RULES / "continuum-alerts-nodes.yml").read_text())
    rules = [r for g in document["groups"] for r in g["rules"] if r.get("alert") == alert]
    assert rules, f"no alert {alert} in the shipped rules"
    path = tmp / "rules.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "t", "rules": [{**rules[0], "for": "0s"}]}]})
    )
    return path


@dataclass
class StoreApi:
    store: Store
    api: ApiDaemon
    now_s: float


@pytest.fixture(scope="module", params=BACKENDS)
def store_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreApi]:
    tmp = tmp_path_factory.mktemp(f"store-api-{request.param}")
    rules = [str(_rule_without_wait(tmp, "ContinuumNodeMemoryLow"))]
    store: Store
    if request.param == "prometheus":
        store = PrometheusServer("127.0.0.1", free_port(), tmp / "prometheus", rule_files=rules)
    else:
        store = request.getfixturevalue("victoria_metrics")
    api = ApiDaemon(tmp, store.url)
    alertmanager = AlertmanagerServer(
        "127.0.0.1",
        free_port(),
        tmp / "alertmanager",
        webhook_url=f"{api.url}/v1/alerts",
        bearer_token_file=api.token_file,
    )
    engine: _Service
    if isinstance(store, PrometheusServer):
        store.alertmanager_urls = [alertmanager.url]
        engine = store
    else:
        engine = VmAlert(
            "127.0.0.1",
            free_port(),
            tmp / "vmalert",
            store=store,
            rule_files=rules,
            alertmanager_urls=[alertmanager.url],
        )
    started: list[_Service] = []
    try:
        for service in (alertmanager, engine):
            service.start()
            started.append(service)
        api.start()
        # On a whole minute: VictoriaMetrics aligns a range's start and end to its step, so an
        # unaligned end would move the last point of a 30 s or 60 s step by up to a step.
        now_s = float(int(time.time()) // 60 * 60)
        # Ten minutes of one point a minute, values 0..10, and a node short of memory.
        stamps = [int((now_s - 600 + 60 * i) * 1000) for i in range(11)]
        history = node_aggregates(_HISTORY_NODE, cpu_cores=8, memory_bytes=16e9, at_ms=stamps)
        for key in history:
            if dict(key)["__name__"] == "continuum:node_cpu_utilization:avg1m":
                history[key] = [(ts, i / 10) for i, ts in enumerate(stamps)]
        short = node_aggregates(_ALERTED_NODE, cpu_cores=2, memory_bytes=4e9)
        for key in short:
            if dict(key)["__name__"] == "continuum:node_memory_available_bytes:min1m":
                short[key] = [(ts, 4e7) for ts, _ in short[key]]  # 1 % free
        written = remote_write(store.remote_write_url, {**history, **short})
        assert written.status_code == 204, written.text
        yield StoreApi(store, api, now_s)
    finally:
        api.process.stop()
        for service in reversed(started):
            service.stop()


def _history(target: StoreApi, **params: Any) -> Any:
    return target.api.get(
        f"/v1/nodes/{_HISTORY_NODE}/history?" + "&".join(f"{k}={v}" for k, v in params.items())
    )


def test_the_history_is_the_points_written(store_api: StoreApi) -> None:
    end = store_api.now_s
    expected = pytest.approx([i / 10 for i in range(11)])

    def series() -> list[Any]:
        query = {"metric": "cpu_utilization", "start": end - 600, "end": end, "step": 60}
        found: list[Any] = _history(store_api, **query).json()["series"]
        return found

    # Rows become searchable in batches: wait for all eleven.
    wait_until(
        lambda: [v for _, v in (series() or [{"points": []}])[0]["points"]] == expected,
        _DEADLINE_S,
        "the node's history",
    )
    (only,) = series()
    assert only["series"] == "continuum:node_cpu_utilization:avg1m"
    assert [round(t - (end - 600)) for t, _ in only["points"]] == list(range(0, 601, 60))
    # A finer step carries each value until the next one, on both stores alike.
    fine = _history(store_api, metric="cpu_utilization", start=end - 600, end=end, step=30).json()
    values = [v for _, v in fine["series"][0]["points"]]
    assert values == pytest.approx([i // 2 / 10 for i in range(21)])


def test_the_point_bound_holds_against_the_store(store_api: StoreApi) -> None:
    end = store_api.now_s
    widest = _history(store_api, metric="cpu_cores", start=end - 10_999, end=end, step=1)
    assert widest.status_code == 200, widest.text
    assert len(widest.json()["series"][0]["points"]) <= 11_000
    beyond = _history(store_api, metric="cpu_cores", start=end - 11_000, end=end, step=1)
    assert beyond.status_code == 400
    assert "11,000" in beyond.json()["message"]


def test_a_shipped_alert_rule_marks_the_node_through_alertmanager(store_api: StoreApi) -> None:
    def unhealthy() -> dict[str, list[str]]:
        marks: dict[str, list[str]] = store_api.api.get("/v1/alerts").json()["unhealthy"]
        return marks

    wait_until(
        lambda: unhealthy().get(_ALERTED_NODE) == ["ContinuumNodeMemoryLow"],
        _DEADLINE_S,
        "the memory alert in the API",
        interval_s=0.5,
    )
    (event,) = [
        e for e in store_api.api.get("/v1/alerts").json()["active"] if e["node"] == _ALERTED_NODE
    ]
    assert event["severity"] == "critical"
