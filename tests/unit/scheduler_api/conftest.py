"""Fakes for the scheduler API's unit tests: a Prometheus behind httpx.MockTransport, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from scheduler_api import ApiSettings, create_app, load_settings

TOKENS = {
    "all-token": ["read", "schedule", "alerts"],
    "read-token": ["read"],
    "alerts-token": ["alerts"],
}
NOW_S = 1_800_000_000.0


@dataclass
class FakeClock:
    now_s: float = NOW_S

    def __call__(self) -> float:
        return self.now_s


@dataclass
class FakeNode:
    """What the fake Prometheus reports about one node."""

    id: str
    cores: float = 4.0
    memory_bytes: float = 8 * 2**30
    cpu: float = 0.25
    memory_available_bytes: float = 6 * 2**30
    tier: str = "edge"
    site: str = "lab"
    gpus: float = 0.0
    last_seen_s: float = NOW_S
    arch: str = "amd64"
    labels: dict[str, str] = field(default_factory=dict)
    steal: float = 0.0
    #: Free bytes on the agent's data path (``node.data_path``); None: not reported.
    disk_available_bytes: float | None = None
    data_path: str = "/"


@dataclass
class FakePrometheus:
    """Answers the snapshot queries from a list of nodes; ``down`` makes it refuse connections."""

    nodes: list[FakeNode] = field(default_factory=list)
    down: bool = False
    queries: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        expr = dict(httpx.QueryParams(request.content.decode()))["query"]
        self.queries.append(expr)
        result: list[dict[str, Any]] = []
        for node in self.nodes:
            identity = {"node": node.id, "tier": node.tier, "site": node.site}
            if expr.startswith("{__name__"):
                values = {
                    "continuum:node_cpu_cores": node.cores,
                    "continuum:node_memory_bytes": node.memory_bytes,
                    "continuum:node_gpus": node.gpus,
                    "continuum:node_cpu_utilization:avg1m": node.cpu,
                    "continuum:node_cpu_utilization:avg5m": node.cpu,
                    "continuum:node_cpu_utilization:stddev5m": 0.0,
                    "continuum:node_memory_available_bytes:min1m": node.memory_available_bytes,
                    "continuum:node_cpu_steal:avg1m": node.steal,
                }
                result += [
                    {"metric": {"__name__": k, **identity}, "value": [NOW_S, str(v)]}
                    for k, v in values.items()
                ]
                if node.disk_available_bytes is not None:
                    disk = {"__name__": "continuum:node_data_path_available_bytes"}
                    result.append(
                        {
                            "metric": disk | identity | {"data_path": node.data_path},
                            "value": [NOW_S, str(node.disk_available_bytes)],
                        }
                    )
            elif expr.startswith("timestamp("):
                result.append({"metric": identity, "value": [NOW_S, str(node.last_seen_s)]})
            elif expr.startswith("target_info"):
                labels = {f"continuum_label_{k}": v for k, v in node.labels.items()}
                result.append(
                    {
                        "metric": {"__name__": "target_info", **identity, "host_arch": node.arch}
                        | labels,
                        "value": [NOW_S, "1"],
                    }
                )
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, json=body)


@pytest.fixture
def api_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_prometheus() -> FakePrometheus:
    return FakePrometheus(
        nodes=[
            FakeNode("edge-1", cores=4, cpu=0.5),
            FakeNode("edge-2", cores=4, cpu=0.1),
            FakeNode("cloud-1", cores=16, cpu=0.2, tier="cloud", site="dc", gpus=2),
        ]
    )


@pytest.fixture
def api_settings(tmp_path: Path) -> ApiSettings:
    return load_settings(
        None,
        tokens=[{"token": t, "scopes": s} for t, s in TOKENS.items()],
        database=tmp_path / "continuum.db",
        snapshot_max_age_s=60,
        stale_after_s=30,
    )


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(
    api_settings: ApiSettings, fake_prometheus: FakePrometheus, api_clock: FakeClock
) -> Iterator[AppFactory]:
    """Build a client over a fresh app; the snapshot is refreshed once before it is returned."""
    clients: list[TestClient] = []

    def make(settings: ApiSettings | None = None, refresh: bool = True) -> TestClient:
        app = create_app(
            settings or api_settings,
            prometheus_transport=httpx.MockTransport(fake_prometheus.handler),
            clock=api_clock,
            refresh_in_background=False,
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        if refresh:
            app.state.context.cluster.refresh()
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


@pytest.fixture
def auth() -> Callable[..., dict[str, str]]:
    """Headers carrying one of the test tokens."""

    def headers(token: str = "all-token") -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def served_api(
    api_settings: ApiSettings, fake_prometheus: FakePrometheus, api_clock: FakeClock
) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port (a real HTTP server); yields its URL."""
    import threading

    import uvicorn

    from continuum.services import free_port

    app = create_app(
        api_settings,
        prometheus_transport=httpx.MockTransport(fake_prometheus.handler),
        clock=api_clock,
        refresh_in_background=False,
    )
    app.state.context.cluster.refresh()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
