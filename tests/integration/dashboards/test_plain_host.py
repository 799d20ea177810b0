"""The dashboards on a plain host: one VM with no GPU, no containers and no TLS service, traffic
driven through the API. Every panel shows something (a value, 0, or its own "not on this
node" text) except those whose source this host lacks, each declared below.

Unlike the full-stack test beside it, this one needs no root: node agent, probe agent (TCP, HTTP
and throughput probes that succeed; none fails), pipeline worker and API against the session's
broker and a Prometheus loading the shipped rules. A panel is "No data" when none of its queries
returns a series, as Grafana shows it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from continuum.services import ManagedProcess, PrometheusServer, TansuBroker, free_port
from dashboards import DASHBOARDS, Panel, substitute, to_json
from tests.conftest import LiveStack
from tests.integration.dashboards.conftest import api_traffic, task_metrics

RULES_GLOB = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "rules" / "*.yml"
NODE_ID = "plain-node"
TOPIC = "otlp_metrics_plain_host"
#: What this host lacks, so the panels that read only it may show "No data". Nothing else may.
ABSENT_SOURCES = frozenset({"gpu", "containers", "tls"})
_SETTLE_S = 90.0


def _panels() -> list[tuple[str, Panel]]:
    return [(spec.title, panel) for spec in DASHBOARDS for panel in spec.panels()]


def _has_data(url: str, panel: Panel, variables: dict[str, str]) -> bool:
    now = time.time()
    for query in panel.queries:
        expr = substitute(query.expr, variables)
        if panel.evaluates_instantly(query):
            params: dict[str, Any] = {"query": expr, "time": now}
            path = "/api/v1/query"
        else:
            params = {"query": expr, "start": now - 120, "end": now, "step": 5}
            path = "/api/v1/query_range"
        body = httpx.get(url + path, params=params, timeout=10).json()
        assert body["status"] == "success", f"{expr!r}: {body.get('error')}"
        if body["data"]["result"]:
            return True
    return False


def _absent_only(panel: Panel) -> bool:
    """Whether every query of the panel reads a source this host lacks."""
    return all(query.needs in ABSENT_SOURCES for query in panel.queries)


@pytest.fixture(scope="module")
def plain_stack(
    tmp_path_factory: pytest.TempPathFactory, tansu: TansuBroker
) -> Iterator[tuple[PrometheusServer, LiveStack]]:
    workdir = tmp_path_factory.mktemp("plain-host")
    prometheus = PrometheusServer(
        "127.0.0.1",
        free_port(),
        workdir / "prometheus",
        rule_files=[str(RULES_GLOB)],
        evaluation_interval_s=1.0,
        scrape_interval_s=1.0,
    )
    (workdir / "stack").mkdir()
    live = LiveStack(workdir / "stack", tansu, prometheus)
    prometheus.scrape_targets = {
        "pipeline": [f"127.0.0.1:{live.ports['pipeline']}"],
        "api": [f"127.0.0.1:{live.ports['api']}"],
    }
    config = yaml.safe_load(live.config_path.read_text())
    live.node_id = config["identity"]["node_id"] = NODE_ID
    config["kafka"].update({"topic": TOPIC, "dlq_topic": f"{TOPIC}.dlq"})
    api = f"127.0.0.1:{live.ports['api']}"
    responder = f"127.0.0.1:{free_port()}"
    config["probes"].update(
        {
            "interval_s": 1,
            "timeout_s": 0.8,
            "targets": [
                {"name": "api-link", "kind": "tcp", "address": api, "peer": NODE_ID},
                {"name": "api-health", "kind": "http", "address": f"http://{api}/healthz"},
                # The probe agent's own responder: a VM measures its link with no peer at all.
                {
                    "name": "self-bandwidth",
                    "kind": "throughput",
                    "address": responder,
                    "peer": NODE_ID,
                    "interval_s": 5,
                },
            ],
            "throughput": {"listen": responder, "interval_s": 5, "size_bytes": 65536},
        }
    )
    live.config_path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    argv = [sys.executable, "-m", "continuum", "agent", "probes", "--config", str(live.config_path)]
    live.processes["probes"] = ManagedProcess("probes", argv, live.workdir / "probes.log", env=env)
    try:
        prometheus.start()
        live.start(names=("pipeline", "api", "agent", "probes"))
        # A day's work through the API: rankings, an extender call, an alert, a workflow run
        # with its task attempts; and `continuum run`'s task metrics through Kafka.
        api_traffic(live)
        task_metrics(live)
        yield prometheus, live
    finally:
        live.stop()
        prometheus.stop()


def test_only_panels_of_absent_sources_show_no_data(
    plain_stack: tuple[PrometheusServer, LiveStack],
) -> None:
    prometheus, live = plain_stack
    variables = {"node": NODE_ID, "pod": ""}
    panels = _panels()
    empty = {(title, panel.title) for title, panel in panels}
    deadline = time.monotonic() + _SETTLE_S
    # Rates and recording rules need a few evaluations: wait until only the allowed are left.
    allowed = {(title, panel.title) for title, panel in panels if _absent_only(panel)}
    while time.monotonic() < deadline:
        empty = {
            (title, panel.title)
            for title, panel in panels
            if (title, panel.title) in empty and not _has_data(prometheus.url, panel, variables)
        }
        if empty <= allowed:
            break
        time.sleep(2)
    unexplained = sorted(empty - allowed)
    assert not unexplained, (
        f"{len(unexplained)} panels show No data:\n"
        + "\n".join(f"  {dashboard} / {panel}" for dashboard, panel in unexplained)
        + f"\n{live.log_tails()}"
    )
    # Each of those says what is absent instead of "No data" (Grafana's noValue).
    said = {
        (spec.title, item["title"]): item.get("fieldConfig", {}).get("defaults", {}).get("noValue")
        for spec in DASHBOARDS
        for item in json.loads(to_json(spec))["panels"]
    }
    texts = {key: said[key] for key in empty}
    assert all(texts.values()), texts
    assert texts == {(t, p.title): p.no_value for t, p in panels if (t, p.title) in empty}
    print(f"{len(panels)} panels, {len(empty)} No data, all of absent sources: {sorted(empty)}")
