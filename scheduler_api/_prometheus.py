"""A small Prometheus query client (instant queries over the HTTP API).

    client = PrometheusClient("http://127.0.0.1:9090", timeout_s=5)
    for sample in client.query("continuum:node_cpu_cores"):
        print(sample.labels["node"], sample.value)

Errors::

    PrometheusError
     ├── PrometheusUnavailableError   (connection refused, timeout, 5xx)
     └── PrometheusQueryError    (4xx, error status, unexpected body)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "PrometheusClient",
    "PrometheusError",
    "PrometheusQueryError",
    "PrometheusUnavailableError",
    "Sample",
]


class PrometheusError(RuntimeError):
    """A query did not produce a result."""


class PrometheusUnavailableError(PrometheusError):
    """Prometheus could not be reached or answered 5xx."""


class PrometheusQueryError(PrometheusError):
    """Prometheus refused the query or answered something unexpected."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector."""

    labels: dict[str, str]
    value: float
    timestamp_s: float


class PrometheusClient:
    """Instant queries against one Prometheus."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def query(self, expr: str) -> list[Sample]:
        """Evaluate ``expr`` now; return the instant vector.

        Raises:
            PrometheusUnavailableError: not reachable, timed out, or 5xx.
            PrometheusQueryError: the query was refused or the answer is not a vector.
        """
        try:
            response = self._client.post("/api/v1/query", data={"query": expr})
        except httpx.HTTPError as err:
            raise PrometheusUnavailableError(
                f"{self.base_url}: {type(err).__name__}: {err}"
            ) from err
        if response.status_code >= 500:
            raise PrometheusUnavailableError(f"{self.base_url}: HTTP {response.status_code}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as err:
            raise PrometheusQueryError(f"{self.base_url}: answer is not JSON") from err
        if response.status_code >= 400 or body.get("status") != "success":
            raise PrometheusQueryError(
                f"{expr!r}: {body.get('errorType', response.status_code)}: {body.get('error', '')}"
            )
        data = body.get("data") or {}
        if data.get("resultType") != "vector":
            raise PrometheusQueryError(f"{expr!r}: expected a vector, got {data.get('resultType')}")
        return [_sample(item) for item in data.get("result", [])]

    def close(self) -> None:
        self._client.close()


def _sample(item: dict[str, Any]) -> Sample:
    timestamp, text = item["value"]
    value = float(text)
    return Sample(dict(item["metric"]), value if math.isfinite(value) else math.nan, timestamp)
