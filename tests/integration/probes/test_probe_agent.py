"""`continuum agent probes` as a daemon: series on /metrics and, via Kafka, in Prometheus."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from continuum.services import (
    ManagedProcess,
    PrometheusServer,
    TansuBroker,
    free_port,
    http_ok,
    wait_until,
)

NODE_ID = "probe-itest"


def _daemon(name: str, args: list[str], config: Path, workdir: Path) -> ManagedProcess:
    argv = [sys.executable, "-m", "continuum", *args, "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    return ManagedProcess(name, argv, workdir / f"{name}.log", env=env)


def _samples(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(url, timeout=2).text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_probe_agent_measures_links_and_services_end_to_end(
    tmp_path: Path,
    tansu: TansuBroker,
    prometheus: PrometheusServer,
    tcp_listener: str,
    http_server,
) -> None:
    probes_port, responder_port, pipeline_port = free_port(), free_port(), free_port()
    config = tmp_path / "continuum.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "identity": {"node_id": NODE_ID, "tier": "edge", "site": "probe-site"},
                "kafka": {"bootstrap_servers": tansu.bootstrap},
                "probes": {
                    "listen": f"127.0.0.1:{probes_port}",
                    "interval_s": 1,
                    "timeout_s": 0.8,
                    "spool_dir": str(tmp_path / "spool"),
                    "throughput": {
                        "listen": f"127.0.0.1:{responder_port}",
                        "interval_s": 5,
                        "size_bytes": 256 * 1024,
                    },
                    "targets": [
                        {
                            "name": "link-n2",
                            "kind": "tcp",
                            "address": tcp_listener,
                            "peer": "n2",
                            "site": "s2",
                        },
                        {"name": "web", "kind": "http", "address": http_server.url + "/"},
                        {
                            "name": "bw-self",
                            "kind": "throughput",
                            "address": f"127.0.0.1:{responder_port}",
                            "peer": NODE_ID,
                            "site": "probe-site",
                        },
                    ],
                },
                "pipeline": {
                    "listen": f"127.0.0.1:{pipeline_port}",
                    "remote_write_url": prometheus.remote_write_url,
                    "group_id": f"probe-itest-{secrets.token_hex(4)}",
                },
            }
        )
    )
    agent = _daemon("probes", ["agent", "probes"], config, tmp_path)
    worker = _daemon("pipeline", ["pipeline"], config, tmp_path)
    agent.start()
    worker.start()
    metrics = f"http://127.0.0.1:{probes_port}/metrics"
    try:
        wait_until(lambda: http_ok(metrics), 30, f"probe agent /metrics ({agent.log_tail(20)})")

        # Pull path: the agent's own endpoint, with identity labels.
        def measured() -> bool:
            found = _samples(metrics)
            return bool(
                found.get("continuum_probe_rtt_seconds")
                and found.get("continuum_probe_http_status_code")
                and found.get("continuum_probe_throughput_bytes_per_second")
            )

        wait_until(measured, 30, f"probe series on /metrics ({agent.log_tail(20)})")
        found = _samples(metrics)
        (rtt_labels, rtt), *_ = found["continuum_probe_rtt_seconds"]
        assert rtt_labels["peer"] == "n2"
        assert rtt_labels["peer_site"] == "s2"
        assert rtt_labels["node"] == NODE_ID
        assert 0 < rtt < 0.8
        (_, code), *_ = found["continuum_probe_http_status_code"]
        assert code == 200
        (bw_labels, rate), *_ = found["continuum_probe_throughput_bytes_per_second"]
        assert bw_labels["peer"] == NODE_ID
        assert rate > 1e6

        # Push path: the same series reach Prometheus through Kafka and the pipeline.
        selector = (
            f'continuum_probe_rtt_seconds{{node="{NODE_ID}",tier="edge",site="probe-site",'
            'peer="n2",peer_site="s2"}'
        )
        try:
            prometheus.wait_for(selector, timeout_s=60)
        except Exception:
            pytest.fail(f"{selector} never arrived\n{agent.log_tail(20)}\n{worker.log_tail(20)}")
        success = prometheus.wait_for(
            f'continuum_probe_success{{node="{NODE_ID}",probe="web"}}', timeout_s=30
        )
        assert float(success[0]["value"][1]) == 1
    finally:
        agent.stop()
        worker.stop()
    assert not agent.running()
