"""Scheduler API security: every /v1 operation from the OpenAPI spec refuses bad tokens.

The operations are read from ``app.openapi()``, so a route added later is covered without
touching this file. Health and metrics routes stay open.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from scheduler_api import create_app, load_settings
from tests.unit.scheduler_api.conftest import FakeNode, FakePrometheus

SCOPES = ("read", "schedule", "alerts")
TOKENS = {f"{scope}-token": [scope] for scope in SCOPES}
OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = load_settings(
        None,
        tokens=[{"token": t, "scopes": s} for t, s in TOKENS.items()],
        database=tmp_path_factory.mktemp("api") / "continuum.db",
    )
    prometheus = FakePrometheus(nodes=[FakeNode("n1")])
    return create_app(
        settings,
        prometheus_transport=httpx.MockTransport(prometheus.handler),
        refresh_in_background=False,
    )


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        app.state.context.cluster.refresh()
        yield test_client


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in _METHODS
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _call(client: TestClient, method: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body: dict[str, object] | None = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, _concrete(path), headers=headers, json=body).status_code


def test_the_spec_lists_the_designed_v1_operations(app: FastAPI) -> None:
    operations = _operations(app.openapi())
    v1 = [op for op in operations if op[1].startswith("/v1/")]
    assert len(v1) >= 9, operations
    for expected in [("GET", "/v1/nodes"), ("POST", "/v1/rankings"), ("POST", "/v1/alerts")]:
        assert expected in operations


def test_every_v1_operation_rejects_missing_wrong_and_wrong_scope_tokens(
    app: FastAPI, client: TestClient
) -> None:
    failures = []
    for method, path in _operations(app.openapi()):
        if not path.startswith("/v1/"):
            continue
        for label, token in (("missing", None), ("wrong", "not-a-token"), ("empty", "")):
            status = _call(client, method, path, token)
            if status != 401:
                failures.append(f"{method} {path} with a {label} token: {status}")
        by_scope = {scope: _call(client, method, path, f"{scope}-token") for scope in SCOPES}
        allowed = [s for s, status in by_scope.items() if status not in (401, 403)]
        refused = [s for s, status in by_scope.items() if status == 403]
        if len(allowed) != 1 or len(refused) != len(SCOPES) - 1:
            failures.append(f"{method} {path}: one scope must pass, others 403: {by_scope}")
    assert not failures, "\n".join(failures)


def test_a_token_in_another_scheme_or_the_query_is_not_accepted(client: TestClient) -> None:
    assert client.get("/v1/nodes", headers={"Authorization": "Basic read-token"}).status_code == 401
    assert client.get("/v1/nodes", params={"token": "read-token"}).status_code == 401
    assert (
        client.get("/v1/nodes", headers={"Authorization": "Bearer read-token"}).status_code == 200
    )


@pytest.mark.parametrize("path", OPEN_PATHS)
def test_health_and_metrics_routes_are_open(client: TestClient, path: str) -> None:
    assert client.get(path).status_code not in (401, 403)


# -- config files holding secrets --------------------------------------------------------------

_SECRET_CONFIG = """\
kafka:
  bootstrap_servers: 127.0.0.1:1
  security_protocol: SASL_PLAINTEXT
  sasl_mechanism: PLAIN
  sasl_username: continuum
  sasl_password: kafka-secret-password
api:
  tokens:
    - {token: inline-secret-token, scopes: [read]}
"""


def _load_api(path: Path) -> object:
    return load_settings(path)


def _load_pipeline(path: Path) -> object:
    import pipeline

    return pipeline.load_settings(path)


def _load_agent(path: Path) -> object:
    from agents._otel._settings import KafkaSettings, load_section

    return load_section(KafkaSettings, "kafka", path)


_LOADERS = {"api": _load_api, "pipeline": _load_pipeline, "agent": _load_agent}


@pytest.mark.parametrize("name", list(_LOADERS))
def test_a_world_readable_config_with_secrets_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "continuum.yaml"
    path.write_text(_SECRET_CONFIG)
    path.chmod(0o600)
    _LOADERS[name](path)  # private: loads
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod"):
        _LOADERS[name](path)
