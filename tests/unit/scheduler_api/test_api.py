"""The HTTP API through the app, Prometheus faked with httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.scheduler_api.conftest import FakeNode

HeadersOf = Callable[..., dict[str, str]]


def _alert(
    status: str, node: str, severity: str = "critical", name: str = "NodeDown"
) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "status": status,
        "receiver": "continuum-api",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "node": node, "severity": severity},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"fp-{node}-{name}",
            }
        ],
    }


def test_health_routes_are_open(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "message": ""}
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/nodes", None),
        ("GET", "/v1/nodes/edge-1", None),
        ("POST", "/v1/rankings", {}),
        ("GET", "/v1/datasets", None),
        ("GET", "/v1/datasets/d", None),
        ("PUT", "/v1/datasets/d", {"size_bytes": 1}),
        ("DELETE", "/v1/datasets/d", None),
        ("POST", "/v1/alerts", {"alerts": []}),
        ("GET", "/v1/alerts", None),
        ("POST", "/v1/extender/filter", {"Pod": {}}),
    ],
)
def test_every_v1_route_needs_a_token(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    missing = client.request(method, path, json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in missing.json()["message"]
    wrong = client.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "unauthorized"


def test_scopes_are_enforced(client: TestClient, auth: HeadersOf) -> None:
    assert client.get("/v1/nodes", headers=auth("read-token")).status_code == 200
    refused = client.post("/v1/rankings", json={}, headers=auth("read-token"))
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "forbidden",
        "message": "this token lacks the 'schedule' scope",
    }
    assert (
        client.post("/v1/alerts", json={"alerts": []}, headers=auth("read-token")).status_code
        == 403
    )
    assert (
        client.post("/v1/alerts", json={"alerts": []}, headers=auth("alerts-token")).status_code
        == 200
    )
    assert client.get("/v1/nodes", headers=auth("alerts-token")).status_code == 403


def test_nodes_lists_inventory_with_health_and_freshness(
    client: TestClient, auth: HeadersOf
) -> None:
    body = client.get("/v1/nodes", headers=auth()).json()
    assert body["degraded"] is False
    nodes = {n["id"]: n for n in body["nodes"]}
    assert set(nodes) == {"edge-1", "edge-2", "cloud-1"}
    cloud = nodes["cloud-1"]
    assert cloud["tier"] == "cloud"
    assert cloud["site"] == "dc"
    assert cloud["arch"] == "amd64"
    assert cloud["capacity"] == {"cpu_cores": 16.0, "memory_bytes": 8 * 2**30, "gpus": 2}
    assert cloud["usage"]["cpu_utilization"] == pytest.approx(0.2)
    assert cloud["health"] == "healthy"
    assert cloud["age_s"] == 0
    one = client.get("/v1/nodes/edge-2", headers=auth()).json()
    assert one["id"] == "edge-2"


def test_unknown_node_is_a_json_404(client: TestClient, auth: HeadersOf) -> None:
    response = client.get("/v1/nodes/nope", headers=auth())
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "nope" in response.json()["message"]


def test_stale_nodes_are_marked_and_not_ranked(
    client: TestClient, auth: HeadersOf, api_clock: Any
) -> None:
    api_clock.now_s += 45  # past the 30 s stale bound, within the 60 s snapshot bound
    nodes = client.get("/v1/nodes", headers=auth()).json()["nodes"]
    assert {n["health"] for n in nodes} == {"stale"}
    ranking = client.post("/v1/rankings", json={}, headers=auth()).json()
    assert ranking["ranked"] == []
    assert all(r["reasons"][0].startswith("stale:") for r in ranking["rejected"])


def test_ranking_breakdown_and_filter_reasons(client: TestClient, auth: HeadersOf) -> None:
    body = client.post(
        "/v1/rankings", json={"cpu_cores": 2, "memory_bytes": 2**30, "gpus": 1}, headers=auth()
    ).json()
    assert [r["node"] for r in body["ranked"]] == ["cloud-1"]
    entry = body["ranked"][0]
    assert set(entry["components"]) >= {"cpu_headroom", "memory_headroom", "variability"}
    assert entry["capacity"]["cpu_cores"] == 16
    assert entry["cpu_free_cores_after"] == pytest.approx(16 * 0.8 - 2)
    assert {r["node"]: r["reasons"] for r in body["rejected"]} == {
        "edge-1": ["gpu: needs 1, 0 free"],
        "edge-2": ["gpu: needs 1, 0 free"],
    }
    assert body["weights"]["cpu_headroom"] == 1.0


def test_ranking_orders_by_measured_load(client: TestClient, auth: HeadersOf) -> None:
    body = client.post("/v1/rankings", json={"tier": "edge"}, headers=auth()).json()
    assert [r["node"] for r in body["ranked"]] == ["edge-2", "edge-1"]


def test_a_reserving_burst_spreads_over_equal_nodes(
    make_client: Callable[..., TestClient], fake_prometheus: Any, auth: HeadersOf
) -> None:
    for node in fake_prometheus.nodes:
        node.cores, node.cpu, node.tier = 4, 0.0, "edge"
    client = make_client()
    request = {"cpu_cores": 2, "reserve": True}
    chosen = [
        client.post("/v1/rankings", json=request, headers=auth()).json()["reserved"]
        for _ in range(3)
    ]
    assert sorted(chosen) == ["cloud-1", "edge-1", "edge-2"]


def test_invalid_requests_name_the_field(client: TestClient, auth: HeadersOf) -> None:
    response = client.post("/v1/rankings", json={"cpu_cores": -1}, headers=auth())
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert response.json()["message"].startswith("body.cpu_cores:")
    unknown = client.post("/v1/rankings", json={"cpus": 1}, headers=auth())
    assert "body.cpus" in unknown.json()["message"]


def test_datasets_round_trip_and_feed_locality(
    make_client: Callable[..., TestClient], auth: HeadersOf
) -> None:
    client = make_client()
    assert client.get("/v1/datasets/genome", headers=auth()).status_code == 404
    put = client.put(
        "/v1/datasets/genome",
        json={"size_bytes": 100 * 2**30, "nodes": ["edge-1"], "sites": []},
        headers=auth(),
    )
    assert put.status_code == 200
    got = client.get("/v1/datasets/genome", headers=auth()).json()
    assert got["size_bytes"] == 100 * 2**30
    assert got["nodes"] == ["edge-1"]
    ranking = client.post(
        "/v1/rankings",
        json={"tier": "edge", "datasets": [{"id": "genome"}], "duration_s": 10},
        headers=auth(),
    ).json()
    # edge-1 is busier but holds the 100 GiB a short task reads: locality wins.
    assert ranking["ranked"][0]["node"] == "edge-1"
    assert ranking["ranked"][0]["transfer_bytes"] == 0
    assert ranking["ranked"][1]["transfer_bytes"] == 100 * 2**30
    missing = client.post("/v1/rankings", json={"datasets": [{"id": "nope"}]}, headers=auth())
    assert missing.status_code == 404
    assert "PUT /v1/datasets/nope" in missing.json()["message"]
    # Persisted: a new app over the same database still knows it.
    again = make_client().get("/v1/datasets/genome", headers=auth())
    assert again.json()["size_bytes"] == 100 * 2**30


def test_firing_critical_alerts_mark_nodes_unhealthy_and_resolved_clear(
    make_client: Callable[..., TestClient], auth: HeadersOf
) -> None:
    client = make_client()
    receipt = client.post("/v1/alerts", json=_alert("firing", "edge-2"), headers=auth())
    assert receipt.json() == {"received": 1, "unhealthy_nodes": ["edge-2"]}
    warning = client.post(
        "/v1/alerts", json=_alert("firing", "edge-1", "warning", "CPUBusy"), headers=auth()
    )
    assert warning.json()["unhealthy_nodes"] == ["edge-2"]
    node = client.get("/v1/nodes/edge-2", headers=auth()).json()
    assert node["health"] == "unhealthy"
    assert node["alerts"] == ["NodeDown"]
    ranking = client.post("/v1/rankings", json={"tier": "edge"}, headers=auth()).json()
    assert [r["node"] for r in ranking["ranked"]] == ["edge-1"]
    reasons = {r["node"]: r["reasons"] for r in ranking["rejected"]}
    assert reasons["edge-2"] == ["unhealthy: firing NodeDown"]
    # A restarted API remembers the firing alert.
    assert make_client().get("/v1/nodes/edge-2", headers=auth()).json()["health"] == "unhealthy"
    client.post("/v1/alerts", json=_alert("resolved", "edge-2"), headers=auth())
    assert client.get("/v1/nodes/edge-2", headers=auth()).json()["health"] == "healthy"
    history = client.get("/v1/alerts", headers=auth()).json()
    assert [e["status"] for e in history["history"] if e["node"] == "edge-2"] == [
        "resolved",
        "firing",
    ]
    assert history["unhealthy"] == {}


def test_firing_hardware_alerts_mark_nodes_unhealthy_with_the_component(
    client: TestClient, auth: HeadersOf
) -> None:
    payload = _alert("firing", "edge-1", "warning", "ContinuumNodeCorrectedHardwareErrors")
    payload["alerts"][0]["labels"].update(
        {"category": "hardware", "hw_type": "memory", "hw_id": "mc0_dimm0"}
    )
    receipt = client.post("/v1/alerts", json=payload, headers=auth())
    assert receipt.json()["unhealthy_nodes"] == ["edge-1"]
    node = client.get("/v1/nodes/edge-1", headers=auth()).json()
    assert node["health"] == "unhealthy"
    assert node["alerts"] == ["ContinuumNodeCorrectedHardwareErrors (memory mc0_dimm0)"]
    ranking = client.post("/v1/rankings", json={"tier": "edge"}, headers=auth()).json()
    assert [r["node"] for r in ranking["ranked"]] == ["edge-2"]
    reasons = {r["node"]: r["reasons"] for r in ranking["rejected"]}
    assert reasons["edge-1"] == [
        "unhealthy: firing ContinuumNodeCorrectedHardwareErrors (memory mc0_dimm0)"
    ]
    payload["alerts"][0]["status"] = "resolved"
    client.post("/v1/alerts", json=payload, headers=auth())
    assert client.get("/v1/nodes/edge-1", headers=auth()).json()["health"] == "healthy"


def test_prometheus_outage_serves_the_last_snapshot_then_503(
    client: TestClient, auth: HeadersOf, fake_prometheus: Any, api_clock: Any
) -> None:
    fake_prometheus.down = True
    api_clock.now_s += 20
    assert client.app.state.context.cluster.refresh() is False  # type: ignore[attr-defined]
    body = client.get("/v1/nodes", headers=auth()).json()
    assert body["degraded"] is True
    assert body["snapshot_age_s"] == 20
    assert "Prometheus unavailable" in body["warning"]
    api_clock.now_s += 50  # 70 s old: past the 60 s bound
    response = client.post("/v1/rankings", json={}, headers=auth())
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert "70 s old" in response.json()["message"]
    assert "Prometheus unavailable" in response.json()["message"]
    assert client.get("/readyz").status_code == 503
    fake_prometheus.down = False
    client.app.state.context.cluster.refresh()  # type: ignore[attr-defined]
    assert client.post("/v1/rankings", json={}, headers=auth()).status_code == 200


def test_no_snapshot_yet_is_503_with_the_reason(
    make_client: Callable[..., TestClient], fake_prometheus: Any, auth: HeadersOf
) -> None:
    fake_prometheus.down = True
    client = make_client()
    response = client.get("/v1/nodes", headers=auth())
    assert response.status_code == 503
    assert response.json()["message"].startswith("no cluster snapshot yet: Prometheus unavailable")


def test_extender_filter_and_prioritize(client: TestClient, auth: HeadersOf) -> None:
    pod = {
        "metadata": {"name": "p", "annotations": {"continuum.io/tier": "edge"}},
        "spec": {"containers": [{"resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}]},
    }
    names = ["edge-1", "edge-2", "cloud-1", "k8s-only"]
    result = client.post(
        "/v1/extender/filter", json={"Pod": pod, "NodeNames": names}, headers=auth()
    ).json()
    assert result["NodeNames"] == ["edge-1", "edge-2", "k8s-only"]
    assert result["FailedNodes"] == {"cloud-1": "tier: needs edge, node is cloud"}
    assert result["Error"] == ""
    nodes = {"items": [{"metadata": {"name": n}} for n in names]}
    full = client.post("/v1/extender/filter", json={"Pod": pod, "Nodes": nodes}, headers=auth())
    assert [i["metadata"]["name"] for i in full.json()["Nodes"]["items"]] == [
        "edge-1",
        "edge-2",
        "k8s-only",
    ]
    priorities = client.post(
        "/v1/extender/prioritize", json={"Pod": pod, "NodeNames": names}, headers=auth()
    ).json()
    scores = {p["Host"]: p["Score"] for p in priorities}
    assert scores["edge-2"] > scores["edge-1"] > 0
    assert scores["cloud-1"] == scores["k8s-only"] == 0
    assert all(0 <= s <= 10 for s in scores.values())


def test_extender_filter_reasons_name_free_capacity_and_utilization(
    client: TestClient, auth: HeadersOf
) -> None:
    # edge-1 has 4 cores, half busy: 3 cores are not free there.
    pod = {
        "metadata": {"name": "p", "annotations": {"continuum.io/max-utilization": "0.4"}},
        "spec": {"containers": [{"resources": {"requests": {"cpu": "3"}}}]},
    }
    result = client.post(
        "/v1/extender/filter", json={"Pod": pod, "NodeNames": ["edge-1"]}, headers=auth()
    ).json()
    reason = result["FailedNodes"]["edge-1"]
    assert "cpu: needs 3 free cores, 2.00 free of 4" in reason
    assert "utilization: 5-minute mean 0.50 above max_utilization 0.40" in reason


def test_extender_filter_leaves_out_a_node_without_free_disk_for_the_pod(
    make_client: Callable[..., TestClient], fake_prometheus: Any, auth: HeadersOf
) -> None:
    # edge-1's data path has 2 GiB free, edge-2's 50 GiB: the pod asks for 10Gi of scratch.
    fake_prometheus.nodes[0].disk_available_bytes = 2 * 2**30
    fake_prometheus.nodes[0].data_path = "/var/lib/continuum"
    fake_prometheus.nodes[1].disk_available_bytes = 50 * 2**30
    client = make_client()
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"resources": {"requests": {"ephemeral-storage": "10Gi"}}}]},
    }
    result = client.post(
        "/v1/extender/filter", json={"Pod": pod, "NodeNames": ["edge-1", "edge-2"]}, headers=auth()
    ).json()
    assert result["NodeNames"] == ["edge-2"]
    assert result["FailedNodes"] == {
        "edge-1": "disk: needs 10.00 GiB on /var/lib/continuum (task data and inputs to stage), "
        "2.00 GiB free"
    }


def test_extender_filter_leaves_out_nodes_the_placement_policy_cordons(
    make_client: Callable[..., TestClient], fake_prometheus: Any, auth: HeadersOf
) -> None:
    # A VM whose hypervisor steals 90 % of its 4 cores, 95 % busy: 0.2 cores idle, enough for
    # the ranking's 100m, but one more task would get a third of a core there.
    fake_prometheus.nodes.append(
        FakeNode("vm-1", cores=4, cpu=0.95, steal=0.9, tier="cloud", site="dc")
    )
    client = make_client()
    pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]}}
    result = client.post(
        "/v1/extender/filter", json={"Pod": pod, "NodeNames": ["vm-1", "edge-2"]}, headers=auth()
    ).json()
    assert result["NodeNames"] == ["edge-2"]
    assert result["FailedNodes"]["vm-1"] == (
        "cordoned: one more task would get 0.33 of a core (the placement policy's min_share is 0.5)"
    )


def test_extender_reports_a_malformed_pod_in_the_body(client: TestClient, auth: HeadersOf) -> None:
    pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "lots"}}}]}}
    result = client.post(
        "/v1/extender/filter", json={"Pod": pod, "NodeNames": ["edge-1"]}, headers=auth()
    ).json()
    assert "not a Kubernetes quantity" in result["Error"]


def test_extender_can_be_opened_for_kube_scheduler(
    make_client: Callable[..., TestClient], api_settings: Any
) -> None:
    client = make_client(api_settings.model_copy(update={"extender_requires_token": False}))
    response = client.post("/v1/extender/prioritize", json={"Pod": {}, "NodeNames": ["edge-1"]})
    assert response.status_code == 200
    assert client.get("/v1/nodes").status_code == 401


def test_metrics_exposes_the_catalogued_self_metrics(client: TestClient, auth: HeadersOf) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from pipeline.catalogue import is_catalogued

    client.post("/v1/rankings", json={}, headers=auth())
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for family in families.values():
        for sample in family.samples:
            # `_created` is an exposition artefact of counters, not a series of its own.
            if not sample.name.endswith("_created"):
                assert is_catalogued(sample.name), sample.name
    requests = families["continuum_api_requests"].samples
    assert any(
        s.labels == {"route": "/v1/rankings", "method": "POST", "code": "200"} for s in requests
    )
    assert families["continuum_api_snapshot_nodes"].samples[0].value == 3


def test_openapi_documents_every_route_and_error(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/nodes",
        "/v1/nodes/{node_id}",
        "/v1/rankings",
        "/v1/datasets/{dataset_id}",
        "/v1/alerts",
        "/v1/extender/filter",
        "/v1/extender/prioritize",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
    ranking = paths["/v1/rankings"]["post"]
    assert {"200", "401", "403", "404", "422", "503"} <= set(ranking["responses"])
    assert ranking["security"] == [{"HTTPBearer": []}]
    error_ref = ranking["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorBody")


def test_unknown_routes_answer_json(client: TestClient) -> None:
    response = client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_ranking_answer_matches_its_documented_schema(client: TestClient, auth: HeadersOf) -> None:
    from scheduler_api._schemas import RankingOut

    body = client.post(
        "/v1/rankings", json={"cpu_cores": 1, "gpus": 1, "duration_s": 5}, headers=auth()
    ).json()
    assert RankingOut.model_validate(body).model_dump(mode="json") == body


def test_a_node_that_stops_reporting_stays_listed_as_stale(
    client: TestClient, auth: HeadersOf, fake_prometheus: Any, api_clock: Any
) -> None:
    fake_prometheus.nodes = [n for n in fake_prometheus.nodes if n.id != "edge-1"]
    api_clock.now_s += 40
    for node in fake_prometheus.nodes:
        node.last_seen_s = api_clock.now_s
    client.app.state.context.cluster.refresh()  # type: ignore[attr-defined]
    nodes = {n["id"]: n for n in client.get("/v1/nodes", headers=auth()).json()["nodes"]}
    assert nodes["edge-1"]["health"] == "stale"
    assert nodes["edge-1"]["age_s"] == 40
    assert nodes["edge-2"]["health"] == "healthy"


def test_extender_filter_names_a_deadline_no_node_meets(
    client: TestClient, auth: HeadersOf
) -> None:
    from tests.unit.scheduler_api.conftest import NOW_S

    pod = {
        "metadata": {
            "annotations": {
                "continuum.io/duration-s": "100",
                "continuum.io/deadline": str(NOW_S + 10),
            }
        },
        "spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]},
    }
    result = client.post(
        "/v1/extender/filter", json={"Pod": pod, "NodeNames": ["edge-2", "cloud-1"]}, headers=auth()
    ).json()
    assert result["NodeNames"] == []
    for reason in result["FailedNodes"].values():
        assert reason.startswith("deadline: estimated finish")
        assert "after the deadline" in reason


def _request_counts(client: TestClient) -> dict[tuple[str, str, str], float]:
    metrics = client.app.state.context.metrics  # type: ignore[attr-defined]
    return {
        (s.labels["route"], s.labels["method"], s.labels["code"]): s.value
        for family in metrics.registry.collect()
        if family.name == "continuum_api_requests"
        for s in family.samples
        if s.name == "continuum_api_requests_total"
    }


def test_request_counters_start_at_zero_for_every_route(
    client: TestClient, auth: HeadersOf
) -> None:
    counts = _request_counts(client)
    assert counts[("/v1/placements", "POST", "200")] == 0
    assert counts[("/v1/extender/filter", "POST", "200")] == 0
    assert counts[("/v1/datasets/{dataset_id}", "DELETE", "204")] == 0
    # The first answer counts on the same series, not a second one beside it.
    client.post("/v1/rankings", json={"cpu_cores": 1}, headers=auth())
    assert _request_counts(client)[("/v1/rankings", "POST", "200")] == 1
