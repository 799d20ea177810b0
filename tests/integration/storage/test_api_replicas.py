"""Two API processes on one PostgreSQL: what one replica reserves or learns from Alertmanager,
the other counts. A node's aggregates are written into the session's Prometheus; both replicas
read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from continuum.services import PrometheusServer, wait_until
from tests.integration.api.conftest import ApiDaemon
from tests.integration.storage.series import node_aggregates, remote_write

_NODE = "replica-node"


@pytest.fixture
def replicas(
    tmp_path: Path, prometheus: PrometheusServer, postgres_url: str
) -> Iterator[tuple[ApiDaemon, ApiDaemon]]:
    daemons = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        daemons.append(ApiDaemon(workdir, prometheus.url, database=postgres_url, pending_ttl_s=600))
    try:
        for daemon in daemons:
            daemon.start()
        yield daemons[0], daemons[1]
    finally:
        for daemon in daemons:
            daemon.process.stop()


def _ranked(api: ApiDaemon, **request: object) -> dict[str, object]:
    answer = api.post("/v1/rankings", {"cpu_cores": 1, "limit": 10, **request})
    assert answer.status_code == 200, answer.text
    return {entry["node"]: entry for entry in answer.json()["ranked"]}


def test_a_reservation_through_one_replica_is_counted_by_the_other(
    replicas: tuple[ApiDaemon, ApiDaemon], prometheus: PrometheusServer
) -> None:
    a, b = replicas
    written = remote_write(
        prometheus.remote_write_url,
        node_aggregates(_NODE, cpu_cores=4, memory_bytes=8e9, cpu_utilization=0.0),
    )
    assert written.status_code < 300, written.text
    wait_until(lambda: _NODE in _ranked(a) and _NODE in _ranked(b), 30, "node in both replicas")
    free_before = _ranked(b)[_NODE]["cpu_free_cores_after"]

    reserved = a.post("/v1/rankings", {"cpu_cores": 3, "reserve": True, "tier": "edge"}).json()
    assert reserved["reserved"] == _NODE

    # Replica b never saw the request, yet counts the three cores against the node.
    after = _ranked(b)[_NODE]["cpu_free_cores_after"]
    assert after == pytest.approx(free_before - 3)
    # Two more cores do not fit on b any more: the node is rejected for want of cores.
    answer = b.post("/v1/rankings", {"cpu_cores": 2, "tier": "edge"}).json()
    assert _NODE not in {entry["node"] for entry in answer["ranked"]}
    assert any(r["node"] == _NODE for r in answer["rejected"])


def test_an_alert_received_by_one_replica_marks_the_node_on_the_other(
    replicas: tuple[ApiDaemon, ApiDaemon], prometheus: PrometheusServer
) -> None:
    a, b = replicas
    node = "replica-alerted"
    remote_write(prometheus.remote_write_url, node_aggregates(node, cpu_cores=2, memory_bytes=4e9))
    wait_until(lambda: node in _ranked(b), 30, "node ranked by replica b")
    alert = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "ContinuumNodeDown", "node": node, "severity": "critical"},
                "fingerprint": "replica-fp",
            }
        ],
    }
    assert a.post("/v1/alerts", alert).status_code == 200
    # b's alert view reads the database: the mark is there at once.
    assert b.get("/v1/alerts").json()["unhealthy"] == {node: ["ContinuumNodeDown"]}
    # b's rankings apply it from its next snapshot refresh.
    wait_until(lambda: node not in _ranked(b), 10, "node filtered out by replica b")
