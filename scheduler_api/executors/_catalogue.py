"""The data catalogue as the pull executor uses it: where inputs are, and where outputs went.

Behind ``/v1/datasets`` of the scheduler API::

    catalogue = ApiCatalogue("http://10.213.0.1:8080", token)
    catalogue.locate("reads")        # DatasetRecord, or None when not catalogued
    catalogue.record(produced)       # a published output, with its node and URLs

The catalogue is where data lives, not a dependency of the run: a failed lookup leaves the
dataset as the workflow gave it, a failed record is logged once and counted.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from scheduler_api._datasets import DatasetRecord
from scheduler_api.workflow._dsl import Dataset

__all__ = ["ApiCatalogue", "Catalogue"]

_log = logging.getLogger(__name__)
_TIMEOUT_S = 5.0


class Catalogue(Protocol):
    """Where datasets live, as the executor asks and tells it."""

    def locate(self, dataset_id: str) -> DatasetRecord | None: ...
    def record(self, dataset: Dataset) -> None: ...


class ApiCatalogue:
    """The scheduler API's data catalogue over HTTP (``read`` and ``schedule`` scopes)."""

    def __init__(self, api_url: str, token: str) -> None:
        self._url = api_url.rstrip("/") + "/v1/datasets/"
        self._headers = {"Authorization": f"Bearer {token}"}
        self.failures = 0

    def _failed(self, what: str, err: Exception) -> None:
        self.failures += 1
        if self.failures == 1:
            _log.warning("the data catalogue at %s: %s failed: %s", self._url, what, err)

    def locate(self, dataset_id: str) -> DatasetRecord | None:
        try:
            response = httpx.get(self._url + dataset_id, headers=self._headers, timeout=_TIMEOUT_S)
            if response.status_code == 404:
                return None
            response.raise_for_status()
            body = response.json()
            return DatasetRecord(
                dataset_id,
                int(body["size_bytes"]),
                tuple(body["nodes"]),
                tuple(body["sites"]),
                bool(body["residency"]),
                float(body["updated_at_s"]),
                body["storage"],
                tuple(body.get("urls", ())),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            self._failed(f"looking up {dataset_id}", err)
            return None

    def record(self, dataset: Dataset) -> None:
        body = {
            "size_bytes": dataset.size_bytes,
            "nodes": list(dataset.nodes),
            "sites": list(dataset.sites),
            "storage": dataset.storage,
            "urls": list(dataset.urls),
        }
        try:
            response = httpx.put(
                self._url + dataset.dataset_id,
                json=body,
                headers=self._headers,
                timeout=_TIMEOUT_S,
            )
            response.raise_for_status()
        except httpx.HTTPError as err:
            self._failed(f"recording {dataset.dataset_id}", err)
