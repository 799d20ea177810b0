"""Every PromQL expression of every dashboard returns data on a running stack.

A panel that would show "No data" on a healthy stack fed by the real agents is a failing test.
Each expression runs as Grafana would run it (a range query over the last minutes, or an instant
query for current-state panels) with the dashboard variables set to the stack's node and pod.
The one exception is hardware this host lacks: GPU queries are skipped when the node reports no
GPU, and say so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboards import DASHBOARDS, DashboardSpec, Panel, Query, substitute

RULES_DIR = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "rules"
_DATA_DEADLINE_S = 60.0
_RANGE_S = 120.0

_CASES = [
    pytest.param(spec, panel, query, id=f"{spec.uid}:{panel.title}:{index}")
    for spec in DASHBOARDS
    for panel in spec.panels()
    for index, query in enumerate(panel.queries)
]


def _run(url: str, expr: str, instant: bool) -> list[dict[str, Any]]:
    now = time.time()
    if instant:
        params: dict[str, Any] = {"query": expr, "time": now}
        path = "/api/v1/query"
    else:
        params = {"query": expr, "start": now - _RANGE_S, "end": now, "step": 2}
        path = "/api/v1/query_range"
    body = httpx.get(url + path, params=params, timeout=10).json()
    assert body["status"] == "success", f"{expr!r}: {body.get('error')}"
    return list(body["data"]["result"])


def _has_gpu(url: str, node: str) -> bool:
    result = _run(url, f'continuum:node_gpus{{node="{node}"}}', instant=True)
    return bool(result) and float(result[0]["value"][1]) > 0


@pytest.mark.parametrize(("spec", "panel", "query"), _CASES)
def test_expression_returns_data(
    dashboard_stack: Any, spec: DashboardSpec, panel: Panel, query: Query
) -> None:
    url = dashboard_stack.prometheus.url
    variables = dashboard_stack.variables
    if query.needs == "gpu" and not _has_gpu(url, variables["node"]):
        pytest.skip("this host has no GPU (continuum:node_gpus is 0)")
    expr = substitute(query.expr, variables)
    instant = panel.evaluates_instantly(query)
    deadline = time.monotonic() + _DATA_DEADLINE_S
    result: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        result = _run(url, expr, instant)
        if result:
            break
        time.sleep(0.5)
    assert result, (
        f"{spec.title} / {panel.title}: no data for {expr!r} within {_DATA_DEADLINE_S:.0f} s\n"
        f"{dashboard_stack.log_tails()}"
    )


def test_preview_renders_every_dashboard(dashboard_stack: Any, tmp_path: Path) -> None:
    from dashboards import preview

    url, variables = dashboard_stack.prometheus.url, dashboard_stack.variables
    # Once the slowest series are in (throughput tests run every 5 s), every panel has data.
    for expr in (
        f'continuum_probe_throughput_bytes_per_second{{node="{variables["node"]}"}}',
        f'container_network_io_bytes_total{{pod="{variables["pod"]}"}}',
        "continuum_pipeline_dead_letters_total",
        "continuum_api_alerts_received_total",
    ):
        dashboard_stack.prometheus.wait_for(expr, timeout_s=_DATA_DEADLINE_S)
    results = preview(tmp_path, url, variables=variables, range_s=300)
    assert [r.path.name for r in results] == [f"{s.uid}.png" for s in DASHBOARDS]
    gpu_panels = {
        p.title for s in DASHBOARDS for p in s.panels() if any(q.needs == "gpu" for q in p.queries)
    }
    for result in results:
        assert result.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if not _has_gpu(url, variables["node"]):
            assert set(result.empty_panels) <= gpu_panels, result.empty_panels
        else:
            assert not result.empty_panels


def test_every_rule_evaluates_cleanly_on_live_data(dashboard_stack: Any) -> None:
    """The rules of deploy/prometheus load and evaluate without errors against real series."""
    url = dashboard_stack.prometheus.url
    deadline = time.monotonic() + _DATA_DEADLINE_S
    rules: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(r.get("lastEvaluation", "").startswith("2") for r in rules):
            break
        time.sleep(0.5)
    files = {Path(g["file"]).name for g in groups}
    assert files == {p.name for p in RULES_DIR.glob("*.yml")}
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken, broken
    # The node-level recording rules see the stack's node.
    node = dashboard_stack.variables["node"]
    result = _run(url, f'continuum:node_up{{node="{node}"}}', instant=True)
    assert result
    assert float(result[0]["value"][1]) == 1.0
