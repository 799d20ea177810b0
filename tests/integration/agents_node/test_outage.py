"""The broker goes away for 30 s during export: nothing exported in that window is lost.

The agent keeps its 1 s cycle while the broker is down; exports spill to the on-disk spool and
are replayed in order when the broker returns. Proven twice: by reading every record back from
the restarted broker (the broker keeps nothing across a restart, so everything found there after
the window was delivered after it), and by counting the samples that reach Prometheus through the
pipeline worker. The Tansu broker keeps nothing across a restart (memory storage), so a
pipeline worker reading the restarted broker starts fresh there: it is started once the broker is
back, in its own consumer group, and every sample of the window must reach Prometheus.
"""

from __future__ import annotations

import gc
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from agents.node import build_agent
from continuum.services import PrometheusServer, TansuBroker, free_port, wait_until
from tests.integration.agents_node.conftest import consume_all, point_ids, write_config

# kafka-python 3.0.12 leaves the sockets of its connection attempts to an unreachable broker for
# the garbage collector; the outage provokes exactly that, on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

OUTAGE_S = 30.0
NODE = "itest-outage"


def memory_limit_timestamps(records: list) -> list[int]:  # type: ignore[type-arg]
    """Timestamps of the one-per-cycle ``system.memory.limit`` point, in record order."""
    stamps = []
    for record in records:
        for rm in record.request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "system.memory.limit":
                        stamps += [dp.time_unix_nano for dp in metric.gauge.data_points]
    return stamps


def close_failed_connects() -> None:
    """Close the sockets of the failed connection attempts kafka-python keeps after close().

    Its network coroutines hold them until the interpreter's last collection, where their
    ResourceWarning would fail the session; closing them here (the producers that made them are
    closed) keeps the warning inside this module's filter. Only TCP sockets that are neither
    connected nor listening qualify, so no live socket of another test is touched.
    """
    gc.collect()
    for obj in gc.get_objects():
        if not isinstance(obj, socket.socket) or obj.fileno() < 0:
            continue
        if obj.family not in (socket.AF_INET, socket.AF_INET6) or obj.type != socket.SOCK_STREAM:
            continue
        try:
            if obj.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                continue
            obj.getpeername()
        except OSError:
            obj.close()


def start_pipeline(
    tmp_path: Path, bootstrap: str, prometheus: PrometheusServer
) -> subprocess.Popen[bytes]:
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": {"bootstrap_servers": bootstrap},
                "pipeline": {
                    "listen": f"127.0.0.1:{free_port()}",
                    "remote_write_url": prometheus.remote_write_url,
                    "group_id": f"outage-{secrets.token_hex(4)}",
                },
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    with (tmp_path / "pipeline.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "continuum", "pipeline", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_broker_outage_of_30_s_loses_nothing(
    fresh_tansu: TansuBroker, fresh_prometheus: PrometheusServer, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "continuum.yaml",
        fresh_tansu.bootstrap,
        free_port(),
        tmp_path / "spool",
        queue_max_messages=4,  # small, so the outage goes through the on-disk spool
    )
    config.write_text(config.read_text().replace("itest-node", NODE))
    agent = build_agent(config)
    assert agent.queue is not None
    assert agent.sender is not None
    assert agent.exporter is not None
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        wait_until(lambda: agent.sender.delivered_messages >= 3, 30, "first deliveries")

        fresh_tansu.stop()
        stopped_ns = time.time_ns()
        cycles_before = agent.cycles
        spool_peak = 0
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            spool_peak = max(spool_peak, agent.queue.spool_bytes)
            time.sleep(0.5)
        window_cycles = agent.cycles - cycles_before
        assert window_cycles >= OUTAGE_S - 3
        assert spool_peak > 0, "the outage never reached the disk spool"
        assert agent.sender.errors > 0

        fresh_tansu.start()
        restarted_ns = time.time_ns()
        wait_until(lambda: agent.queue.depth == 0, 60, "spool replayed")
    finally:
        agent.stop()
        runner.join(20)
    assert agent.queue.depth == 0
    assert agent.queue.dropped_points == 0

    # 1. Kafka: the restarted broker holds every cycle since the outage began, in order.
    records = consume_all(
        fresh_tansu.bootstrap,
        "otlp_metrics",
        lambda got: (
            len([t for t in memory_limit_timestamps(got) if t >= stopped_ns]) >= window_cycles
        ),
        timeout_s=30,
    )
    stamps = memory_limit_timestamps(records)
    in_window = [t for t in stamps if stopped_ns <= t < restarted_ns]
    assert len(set(in_window)) >= window_cycles - 1, (len(set(in_window)), window_cycles)
    assert stamps == sorted(stamps), "replay was out of order"
    # Every point of every replayed export arrived whole.
    assert sum(len(point_ids(r.request)) for r in records) >= len(in_window) * 50

    # 2. Prometheus, through the pipeline: one sample per cycle over the outage window.
    pipeline = start_pipeline(tmp_path, fresh_tansu.bootstrap, fresh_prometheus)
    try:
        # Wide enough to still reach back to the outage after the waiting below.
        window_s = int((time.time_ns() - stopped_ns) / 1e9) + 300

        def window_samples() -> list[float]:
            result = fresh_prometheus.query(
                f'system_memory_limit_bytes{{node="{NODE}"}}[{window_s}s]'
            )
            values = result[0]["values"] if result else []
            return [
                float(t) for t, _ in values if stopped_ns / 1e9 <= float(t) < restarted_ns / 1e9
            ]

        wait_until(
            lambda: len(window_samples()) >= len(set(in_window)), 60, "outage samples in Prometheus"
        )
        assert len(window_samples()) == len(set(in_window))
    finally:
        pipeline.terminate()
        pipeline.wait(20)
        close_failed_connects()
