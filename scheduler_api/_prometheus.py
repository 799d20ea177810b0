"""A small Prometheus query client (instant and range queries over the HTTP API); any store
with Prometheus's query API answers it (VictoriaMetrics does).

    client = PrometheusClient("http://127.0.0.1:9090", timeout_s=5)
    client = PrometheusClient("https://prometheus:9090", auth=settings.prometheus_auth)
    for sample in client.query("continuum:node_cpu_cores"):
        print(sample.labels["node"], sample.value)
    for series in client.query_range("continuum:node_cpu_cores", start_s, end_s, step_s=60):
        print(series.labels, series.points)

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

from continuum._http_auth import HttpAuth

__all__ = [
    "PrometheusClient",
    "PrometheusError",
    "PrometheusQueryError",
    "PrometheusUnavailableError",
    "RangeSeries",
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


@dataclass(frozen=True, slots=True)
class RangeSeries:
    """One series of a range query: its labels and ``(unix seconds, value)`` points, where a
    value that is not finite is NaN."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class PrometheusClient:
    """Instant and range queries against one Prometheus.

    Args:
        base_url: the query API's base URL.
        timeout_s: per-query timeout.
        transport: an httpx transport (tests inject ``httpx.MockTransport``).
        auth: basic auth or a bearer token, and TLS options (``api.prometheus_auth``); its
            secret files are read here, once.

    Raises:
        HttpAuthError: a secret, CA or certificate file of ``auth`` cannot be read.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        auth: HttpAuth | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        auth = auth or HttpAuth()
        authorization = auth.authorization("api.prometheus_auth")
        context = auth.ssl_context("api.prometheus_auth")
        # The header stays in the client: errors name the URL and the status, never headers.
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout_s,
            transport=transport,
            headers={"Authorization": authorization} if authorization is not None else None,
            verify=context if context is not None else True,
        )

    def query(self, expr: str) -> list[Sample]:
        """Evaluate ``expr`` now; return the instant vector.

        Raises:
            PrometheusUnavailableError: not reachable, timed out, or 5xx.
            PrometheusQueryError: the query was refused or the answer is not a vector.
        """
        data = self._post("/api/v1/query", {"query": expr}, expr)
        if data.get("resultType") != "vector":
            raise PrometheusQueryError(f"{expr!r}: expected a vector, got {data.get('resultType')}")
        return [_sample(item) for item in data.get("result", [])]

    def query_range(
        self, expr: str, start_s: float, end_s: float, step_s: float
    ) -> list[RangeSeries]:
        """Evaluate ``expr`` every ``step_s`` from ``start_s`` to ``end_s``; return the matrix.

        Raises:
            PrometheusUnavailableError: not reachable, timed out, or 5xx.
            PrometheusQueryError: the query was refused or the answer is not a matrix.
        """
        form = {
            "query": expr,
            "start": f"{start_s:.3f}",
            "end": f"{end_s:.3f}",
            "step": f"{step_s:g}",
        }
        data = self._post("/api/v1/query_range", form, expr)
        if data.get("resultType") != "matrix":
            raise PrometheusQueryError(f"{expr!r}: expected a matrix, got {data.get('resultType')}")
        return [
            RangeSeries(
                dict(item["metric"]), [(float(t), _finite(text)) for t, text in item["values"]]
            )
            for item in data.get("result", [])
        ]

    def _post(self, path: str, form: dict[str, str], expr: str) -> dict[str, Any]:
        try:
            response = self._client.post(path, data=form)
        except httpx.HTTPError as err:
            raise PrometheusUnavailableError(
                f"{self.base_url}: {type(err).__name__}: {err}"
            ) from err
        if response.status_code >= 500:
            raise PrometheusUnavailableError(f"{self.base_url}: HTTP {response.status_code}")
        if response.status_code in (401, 403):
            # Refused credentials: the store is there, but unusable until configuration changes.
            raise PrometheusUnavailableError(
                f"{self.base_url}: HTTP {response.status_code}: credentials refused "
                "(api.prometheus_auth)"
            )
        try:
            body: dict[str, Any] = response.json()
        except ValueError as err:
            raise PrometheusQueryError(f"{self.base_url}: answer is not JSON") from err
        if response.status_code >= 400 or body.get("status") != "success":
            raise PrometheusQueryError(
                f"{expr!r}: {body.get('errorType', response.status_code)}: {body.get('error', '')}"
            )
        data: dict[str, Any] = body.get("data") or {}
        return data

    def close(self) -> None:
        self._client.close()


def _finite(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else math.nan


def _sample(item: dict[str, Any]) -> Sample:
    timestamp, text = item["value"]
    return Sample(dict(item["metric"]), _finite(text), timestamp)
