"""PNG preview from Prometheus answers (a fake Prometheus over httpx.MockTransport)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from continuum.cli import cli
from dashboards import DASHBOARDS, PrometheusClient, PrometheusQueryError
from dashboards._preview import render, resolve_variables

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOW_S = 1_800_000_000.0


def _prometheus(request: httpx.Request, seen: list[str]) -> httpx.Response:
    """Answers like Prometheus: two nodes, data for every query but those naming hw_*."""
    path = request.url.path
    if path.startswith("/api/v1/label/"):
        return httpx.Response(200, json={"status": "success", "data": ["edge-02", "edge-01"]})
    query = request.url.params["query"]
    seen.append(query)
    if "hw_" in query:
        data: dict[str, object] = {"resultType": "matrix", "result": []}
    elif path == "/api/v1/query":
        result = [{"metric": {"node": n}, "value": [NOW_S, "0.25"]} for n in ("a", "b")]
        data = {"resultType": "vector", "result": result}
    else:
        values = [[NOW_S - 60 * i, str(0.1 * i)] for i in range(10, 0, -1)]
        result = [{"metric": {"node": n, "cpu_mode": "user"}, "values": values} for n in "ab"]
        data = {"resultType": "matrix", "result": result}
    return httpx.Response(200, json={"status": "success", "data": data})


@pytest.fixture
def seen() -> list[str]:
    return []


@pytest.fixture
def client(seen: list[str]) -> PrometheusClient:
    transport = httpx.MockTransport(lambda request: _prometheus(request, seen))
    return PrometheusClient("http://prometheus.test", transport=transport)


@pytest.mark.parametrize("spec", DASHBOARDS, ids=lambda s: s.uid)
def test_render_writes_a_png_with_every_query_filled_in(
    client: PrometheusClient, seen: list[str], spec: object, tmp_path: Path
) -> None:
    result = render(client, spec, tmp_path / "out.png", end_s=NOW_S)  # type: ignore[arg-type]
    assert result.path.read_bytes()[:8] == PNG_MAGIC
    # The fake Prometheus has no hw_* series: exactly the GPU panels come out empty.
    gpu_panels = {p.title for p in spec.panels() if any("hw_" in q.expr for q in p.queries)}  # type: ignore[attr-defined]
    assert set(result.empty_panels) == gpu_panels
    assert len(seen) == sum(1 for _ in spec.queries())  # type: ignore[attr-defined]
    for query in seen:
        assert "$" not in query, query
    if spec.variables:  # type: ignore[attr-defined]
        assert any('node="edge-01"' in q for q in seen), "first node offered, sorted"


def test_variables_given_win_over_offered(client: PrometheusClient) -> None:
    spec = next(s for s in DASHBOARDS if s.uid == "continuum-containers")
    values = resolve_variables(client, spec, {"node": "edge-02"})
    assert values == {"node": "edge-02", "pod": "edge-01"}


def test_query_errors_are_drawn_not_raised(tmp_path: Path) -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v1/label/"):
            return httpx.Response(200, json={"status": "success", "data": []})
        body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
        return httpx.Response(400, content=json.dumps(body))

    client = PrometheusClient("http://p.test", transport=httpx.MockTransport(failing))
    result = render(client, DASHBOARDS[0], tmp_path / "x.png", end_s=NOW_S)
    assert result.path.read_bytes()[:8] == PNG_MAGIC
    assert len(result.empty_panels) == sum(1 for _ in DASHBOARDS[0].panels())
    with pytest.raises(PrometheusQueryError, match="parse error"):
        client.instant("up", NOW_S)


def test_cli_build_writes_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["dashboards", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s.uid}.json" for s in DASHBOARDS)


def test_cli_preview_fails_clearly_without_prometheus(tmp_path: Path) -> None:
    from continuum.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        cli, ["dashboards", "preview", "--out", str(tmp_path), "--prometheus", url]
    )
    assert result.exit_code != 0
    assert f"Prometheus at {url}" in result.output


def test_cli_preview_rejects_a_malformed_variable(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["dashboards", "preview", "--out", str(tmp_path), "--var", "novalue"]
    )
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.output
