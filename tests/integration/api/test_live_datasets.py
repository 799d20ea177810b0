"""The dataset catalogue on the live API: list, storage kinds and delete, over real HTTP."""

from __future__ import annotations

import httpx

from tests.integration.conftest import LiveStack


def test_catalogue_lists_records_storage_kinds_and_deletes(live_stack: LiveStack) -> None:
    url = f"{live_stack.api_url}/v1/datasets"
    with httpx.Client(headers=live_stack.headers(), timeout=10) as http:
        for name, kind in (("itest-hot", "memory"), ("itest-cold", "object")):
            body = {"size_bytes": 2**20, "nodes": [live_stack.node_id], "storage": kind}
            assert http.put(f"{url}/{name}", json=body).status_code == 200
        listed = {d["id"]: d["storage"] for d in http.get(url).json()["datasets"]}
        assert (listed["itest-hot"], listed["itest-cold"]) == ("memory", "object")
        # A catalogued dataset still feeds the ranking, whatever store holds it.
        ranking = http.post(
            f"{live_stack.api_url}/v1/rankings",
            json={"cpu_cores": 1, "memory_bytes": 2**20, "datasets": [{"id": "itest-hot"}]},
        )
        assert ranking.status_code == 200
        assert http.delete(f"{url}/itest-hot").status_code == 204
        assert http.delete(f"{url}/itest-hot").status_code == 404
        remaining = [d["id"] for d in http.get(url).json()["datasets"]]
        assert "itest-hot" not in remaining
        assert "itest-cold" in remaining
        assert http.delete(f"{url}/itest-cold").status_code == 204
