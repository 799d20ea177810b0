"""The real Debian node_exporter, forwarded through Kafka and the pipeline into Prometheus."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

import httpx
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

NODE_ID = "fwd-itest"


def _daemon(name: str, args: list[str], config: Path, workdir: Path) -> ManagedProcess:
    argv = [sys.executable, "-m", "continuum", *args, "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    return ManagedProcess(name, argv, workdir / f"{name}.log", env=env)


def test_node_exporter_series_arrive_in_prometheus_with_identity(
    tmp_path: Path, tansu: TansuBroker, prometheus: PrometheusServer, node_exporter: str
) -> None:
    forward_port, pipeline_port = free_port(), free_port()
    config = tmp_path / "continuum.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "identity": {"node_id": NODE_ID, "tier": "hpc", "site": "fwd-site"},
                "kafka": {"bootstrap_servers": tansu.bootstrap},
                "forward": {
                    "listen": f"127.0.0.1:{forward_port}",
                    "interval_s": 1,
                    "scrape_timeout_s": 1,
                    "spool_dir": str(tmp_path / "spool"),
                },
                "pipeline": {
                    "listen": f"127.0.0.1:{pipeline_port}",
                    "remote_write_url": prometheus.remote_write_url,
                    "group_id": f"fwd-itest-{secrets.token_hex(4)}",
                },
            }
        )
    )
    forward = _daemon("forward", ["agent", "forward", "--target", node_exporter], config, tmp_path)
    worker = _daemon("pipeline", ["pipeline"], config, tmp_path)
    forward.start()
    worker.start()
    try:
        # The forwarder serves its own telemetry while it pushes.
        own = f"http://127.0.0.1:{forward_port}/metrics"
        wait_until(lambda: http_ok(own), 30, f"forwarder /metrics ({forward.log_tail(20)})")
        selector = f'node_load1{{node="{NODE_ID}",tier="hpc",site="fwd-site"}}'
        try:
            found = prometheus.wait_for(selector, timeout_s=60)
        except Exception:
            pytest.fail(f"{selector} never arrived\n{forward.log_tail(30)}\n{worker.log_tail(30)}")
        assert float(found[0]["value"][1]) >= 0
        cpu = prometheus.wait_for(
            f'node_cpu_seconds_total{{node="{NODE_ID}",mode="idle"}}', timeout_s=30
        )
        assert cpu[0]["metric"]["site"] == "fwd-site"
        assert cpu[0]["metric"]["tier"] == "hpc"

        def sent() -> bool:
            body = httpx.get(own, timeout=2).text
            return any(
                line.startswith("continuum_forward_records_total")
                and 'outcome="sent"' in line
                and float(line.rsplit(" ", 1)[1]) >= 1
                for line in body.splitlines()
            )

        wait_until(sent, 20, "forwarder self-metrics count sent records")
    finally:
        forward.stop()
        worker.stop()
    deadline = time.monotonic() + 5
    while forward.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not forward.running()
