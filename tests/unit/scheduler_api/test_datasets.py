"""The dataset catalogue: list, read, replace and delete, each dataset with its storage kind;
over real HTTP (uvicorn on a free port) and as plain functions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from scheduler_api._datasets import DatasetCatalogue, DatasetRecord
from scheduler_api._store import Database

HeadersOf = Callable[..., dict[str, str]]


def test_list_read_replace_and_delete_over_http(served_api: str, auth: HeadersOf) -> None:
    url = f"{served_api}/v1/datasets"
    with httpx.Client(headers=auth(), timeout=10) as http:
        assert http.get(url).json() == {"datasets": [], "total": 0, "limit": 100, "offset": 0}
        for name, kind in (("reads", "memory"), ("genome", "disk"), ("tiles", "object")):
            put = http.put(f"{url}/{name}", json={"size_bytes": 10, "storage": kind})
            assert put.status_code == 200
            assert put.json()["storage"] == kind
        default = http.put(f"{url}/plain", json={"size_bytes": 1, "nodes": ["edge-1"]})
        assert default.json()["storage"] == "disk"  # files on a node unless it says otherwise

        listed = http.get(url).json()
        assert [d["id"] for d in listed["datasets"]] == ["genome", "plain", "reads", "tiles"]
        assert {d["id"]: d["storage"] for d in listed["datasets"]}["reads"] == "memory"
        page = http.get(url, params={"limit": 2, "offset": 1}).json()
        assert [d["id"] for d in page["datasets"]] == ["plain", "reads"]
        assert page["total"] == 4

        assert http.delete(f"{url}/reads").status_code == 204
        assert http.get(f"{url}/reads").status_code == 404
        gone = http.delete(f"{url}/reads")
        assert gone.status_code == 404
        assert "not catalogued" in gone.json()["message"]
        assert [d["id"] for d in http.get(url).json()["datasets"]] == ["genome", "plain", "tiles"]


def test_storage_kinds_and_scopes_are_checked_over_http(served_api: str, auth: HeadersOf) -> None:
    url = f"{served_api}/v1/datasets"
    bad = httpx.put(f"{url}/d", json={"size_bytes": 1, "storage": "tape"}, headers=auth())
    assert bad.status_code == 422
    assert bad.json()["message"].startswith("body.storage:")
    reader = auth("read-token")
    assert httpx.get(url, headers=reader).status_code == 200
    refused = httpx.delete(f"{url}/d", headers=reader)
    assert refused.status_code == 403
    assert httpx.delete(f"{url}/d").status_code == 401
    assert httpx.get(url, params={"limit": 0}, headers=reader).status_code == 422


def test_catalogue_pages_counts_and_forgets(tmp_path: Path) -> None:
    catalogue = DatasetCatalogue(Database(tmp_path / "c.db"))
    for index in range(5):
        catalogue.put(DatasetRecord(f"d{index}", index, storage="object"))
    assert [r.id for r in catalogue.list(limit=2, offset=2)] == ["d2", "d3"]
    assert catalogue.count() == 5
    assert catalogue.delete("d0")
    assert not catalogue.delete("d0")
    assert catalogue.count() == 4
    stored = catalogue.get("d1")
    assert stored is not None
    assert stored.storage == "object"


def test_unknown_storage_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="storage 'tape' is not one of memory, disk, object"):
        DatasetRecord("d", 1, storage="tape")  # type: ignore[arg-type]


def test_catalogues_of_an_older_release_read_as_disk(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    old.ensure_schema(
        "CREATE TABLE datasets (id TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL, "
        "nodes TEXT NOT NULL, sites TEXT NOT NULL, residency INTEGER NOT NULL, "
        "updated_at_s REAL NOT NULL)"
    )
    with old.transaction() as conn:
        conn.execute("INSERT INTO datasets VALUES ('legacy', 7, '[\"n1\"]', '[]', 0, 1.0)")
    old.close()
    catalogue = DatasetCatalogue(Database(path))
    assert catalogue.get("legacy") == DatasetRecord("legacy", 7, ("n1",), (), False, 1.0, "disk")
    catalogue.put(DatasetRecord("fresh", 1, storage="memory"))
    assert [r.storage for r in catalogue.list()] == ["memory", "disk"]


def test_the_pull_executors_catalogue_client_records_and_locates_copies_over_http(
    served_api: str, auth: HeadersOf
) -> None:
    from scheduler_api.executors import ApiCatalogue
    from scheduler_api.workflow import Dataset

    token = auth()["Authorization"].removeprefix("Bearer ")
    catalogue = ApiCatalogue(served_api, token)
    assert catalogue.locate("counts") is None
    url = "http://10.213.0.1:9471/v1/data/counts"
    catalogue.record(Dataset("counts", 7, nodes=("edge-1",), urls=(url,)))
    found = catalogue.locate("counts")
    assert found is not None
    assert (found.size_bytes, found.nodes, found.urls) == (7, ("edge-1",), (url,))
    assert catalogue.failures == 0
    listed = httpx.get(f"{served_api}/v1/datasets/counts", headers=auth(), timeout=10).json()
    assert listed["urls"] == [url]
    bad = httpx.put(
        f"{served_api}/v1/datasets/x",
        json={"size_bytes": 1, "urls": ["file:///etc/passwd"]},
        headers=auth(),
        timeout=10,
    )
    assert bad.status_code == 422  # a location is an http(s) URL
    unreachable = ApiCatalogue("http://127.0.0.1:9", token)
    assert unreachable.locate("counts") is None  # advice, not a dependency of the run
    unreachable.record(Dataset("counts", 7))
    assert unreachable.failures == 2
