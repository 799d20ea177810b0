"""An application instrumented with the plain OpenTelemetry SDK reaches Prometheus through Kafka.

examples/mining.py runs as its own process with ``continuum.otel.KafkaMetricExporter``; a real
pipeline worker reads the Tansu topic and remote-writes into a real Prometheus, where its series
carry the node's identity labels and its workflow and task sit on ``target_info``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from continuum.services import (
    ManagedProcess,
    PrometheusServer,
    TansuBroker,
    free_port,
    http_ok,
    wait_until,
)


@pytest.fixture
def pipeline(
    tmp_path: Path, tansu: TansuBroker, prometheus: PrometheusServer
) -> Iterator[dict[str, str]]:
    """A pipeline worker on a topic of this test's own; yields the settings an app needs."""
    tag = secrets.token_hex(4)
    topic = f"itest-app-{tag}"
    port = free_port()
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": {
                    "bootstrap_servers": tansu.bootstrap,
                    "topic": topic,
                    "dlq_topic": f"{topic}.dlq",
                },
                "pipeline": {
                    "listen": f"127.0.0.1:{port}",
                    "group_id": f"itest-app-{tag}",
                    "remote_write_url": prometheus.remote_write_url,
                    "batch_max_delay_s": 0.1,
                },
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    worker = ManagedProcess(
        "pipeline",
        [sys.executable, "-m", "continuum", "pipeline", "--config", str(config)],
        tmp_path / "pipeline.log",
        env=env,
    )
    worker.start()
    try:
        wait_until(
            lambda: worker.running() and http_ok(f"http://127.0.0.1:{port}/healthz"),
            30,
            "pipeline worker",
        )
        yield {
            "CONTINUUM_KAFKA__BOOTSTRAP_SERVERS": tansu.bootstrap,
            "CONTINUUM_KAFKA__TOPIC": topic,
            "CONTINUUM_IDENTITY__NODE_ID": f"app-node-{tag}",
            "CONTINUUM_IDENTITY__TIER": "edge",
            "CONTINUUM_IDENTITY__SITE": "itest",
        }
    finally:
        worker.stop()


def test_sdk_application_shows_up_in_prometheus_with_its_identity(
    tmp_path: Path, repo_root: Path, pipeline: dict[str, str], prometheus: PrometheusServer
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env.update(pipeline, XDG_STATE_HOME=str(tmp_path / "state"))
    run = subprocess.run(
        [
            sys.executable,
            str(repo_root / "examples" / "mining.py"),
            "--workflow",
            "wf-itest",
            "--task",
            "apriori",
            "--baskets",
            "500",
        ],
        env=env,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "frequent itemsets" in run.stdout
    # Delivered before the process ended: nothing was left in its spool.
    spool = tmp_path / "state" / "continuum" / "spool" / "app-mining"
    assert not list(spool.glob("*.msg"))

    node = pipeline["CONTINUUM_IDENTITY__NODE_ID"]
    found = prometheus.wait_for(f'mining_itemsets_total{{node="{node}"}}', timeout_s=60)
    labels = found[0]["metric"]
    assert (labels["tier"], labels["site"]) == ("edge", "itest")
    assert {r["metric"]["itemset_size"] for r in found} >= {"1", "2"}
    assert sum(float(r["value"][1]) for r in found) > 0
    assert prometheus.wait_for(f'mining_pass_duration_seconds_count{{node="{node}"}}', 30)
    (info,) = prometheus.wait_for(f'target_info{{node="{node}"}}', timeout_s=30)
    assert info["metric"]["continuum_workflow"] == "wf-itest"
    assert info["metric"]["continuum_task"] == "apriori"
    assert info["metric"]["service_name"] == "mining-example"
