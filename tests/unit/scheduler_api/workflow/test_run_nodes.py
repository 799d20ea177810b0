"""`continuum run` takes node snapshots from the API, and says so when it cannot."""

from __future__ import annotations

from continuum._cmd_run import fetch_nodes


def test_nodes_come_from_the_api(served_api: str) -> None:
    nodes, why = fetch_nodes(served_api, "all-token")
    assert why is None
    by_id = {n.node_id: n for n in nodes}
    assert set(by_id) == {"edge-1", "edge-2", "cloud-1"}
    assert by_id["cloud-1"].cpu_cores == 16
    assert by_id["cloud-1"].gpus == 2
    assert by_id["edge-1"].cpu_utilization == 0.5
    assert by_id["edge-1"].tier == "edge"
    assert all(n.healthy for n in nodes)


def test_unreachable_or_refused_api_gives_a_reason(served_api: str) -> None:
    nodes, why = fetch_nodes("http://127.0.0.1:9", "all-token")
    assert nodes == []
    assert why is not None
    assert "did not answer" in why
    nodes, why = fetch_nodes(served_api, "wrong-token")
    assert nodes == []
    assert why is not None
    assert "HTTPStatusError" in why
