"""The real Debian node_exporter on a free loopback port, for the forwarder's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from continuum.services import ManagedProcess, find_binary, free_port, http_ok, wait_until


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[str]:
    """node_exporter on a free loopback port with a few cheap collectors; yields its URL."""
    port = free_port()
    argv = [
        find_binary("prometheus-node-exporter"),
        f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults",
        "--collector.cpu",
        "--collector.meminfo",
        "--collector.loadavg",
    ]
    process = ManagedProcess("node-exporter", argv, tmp_path / "node-exporter.log")
    process.start()
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_until(lambda: http_ok(url), 15, f"node_exporter ({process.log_tail(10)})")
        yield url
    finally:
        process.stop()
