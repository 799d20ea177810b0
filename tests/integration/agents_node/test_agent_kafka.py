"""The node agent on this machine against a real Tansu broker: what lands in Kafka, and /metrics."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from agents.node import build_agent
from continuum.services import TansuBroker, free_port, http_ok, wait_until
from tests.integration.agents_node.conftest import consume_all, write_config


def test_agent_exports_decodable_otlp_keyed_by_node(tansu: TansuBroker, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "continuum.yaml", tansu.bootstrap, port, tmp_path / "spool")
    agent = build_agent(config)
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        wait_until(
            lambda: agent.sender is not None and agent.sender.delivered_messages >= 3,
            30,
            "3 deliveries",
        )
        records = consume_all(
            tansu.bootstrap,
            "otlp_metrics",
            lambda got: sum(r.key == b"itest-node" for r in got) >= 3,
            timeout_s=30,
        )
        mine = [r for r in records if r.key == b"itest-node"]
        assert all(r.headers["content-type"] == b"application/x-protobuf" for r in mine)
        request = mine[-1].request
        resource = {
            kv.key: kv.value.string_value for kv in request.resource_metrics[0].resource.attributes
        }
        assert resource["continuum.node.id"] == "itest-node"
        assert resource["continuum.tier"] == "edge"
        assert resource["host.arch"]
        names = {m.name for sm in request.resource_metrics[0].scope_metrics for m in sm.metrics}
        assert {
            "system.cpu.time",
            "system.cpu.utilization",
            "continuum.node.logical_cpus",
            "system.memory.usage",
            "system.memory.limit",
            "system.linux.memory.available",
            "continuum.pressure.stall.time",
            "continuum.node.gpus",
            "system.cpu.load_average.1m",
            "continuum.agent.collector.duration",
        } <= names
        cores = next(
            m
            for sm in request.resource_metrics[0].scope_metrics
            for m in sm.metrics
            if m.name == "continuum.node.logical_cpus"
        )
        assert cores.gauge.data_points[0].as_double == os.cpu_count()
        assert all(s.failures == 0 for s in agent.stats.values()), dict(agent.stats)

        # Pull: the same machine's series with identity labels, in OpenMetrics.
        request_om = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Accept": "application/openmetrics-text"}
        )
        with urllib.request.urlopen(request_om, timeout=5) as response:
            families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
        sample = families["system_memory_limit_bytes"].samples[0]
        assert sample.labels == {"node": "itest-node", "tier": "edge", "site": "itest"}

        # The text rendering of this machine's series passes promtool's lint without a word.
        if shutil.which("promtool") is not None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
            lint = subprocess.run(
                ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
            )
            assert lint.returncode == 0, lint.stdout + lint.stderr
            assert not (lint.stdout + lint.stderr).strip()
    finally:
        agent.stop()
        runner.join(15)
    assert not runner.is_alive()


def test_cli_daemon_serves_and_stops_cleanly_on_sigterm(tansu: TansuBroker, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "continuum.yaml", tansu.bootstrap, port, tmp_path / "spool")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "continuum", "agent", "node", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/metrics"), 30, "agent /metrics")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
