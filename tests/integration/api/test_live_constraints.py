"""Free-capacity constraints on a live stack: a disk-poor node and an over-utilised one are
rejected, each with its reason, by real agents through Kafka, the pipeline and Prometheus.

Two extra node agents join the live stack: one keeps its data on an 8 MiB tmpfs (its data path),
the other reads a procfs tree whose CPU counters this test advances at 95 % busy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from continuum.services import ManagedProcess, free_port, wait_until
from tests.integration.conftest import LiveStack

_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "node"
_MIB = 1 << 20

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting the small tmpfs needs root"),
]


def _agent(live_stack: LiveStack, workdir: Path, node_id: str, **agent: Any) -> ManagedProcess:
    tansu = yaml.safe_load(live_stack.config_path.read_text())["kafka"]["bootstrap_servers"]
    config = {
        "identity": {"node_id": node_id, "tier": "edge", "site": "itest"},
        "kafka": {"bootstrap_servers": tansu},
        "agent": {
            "listen": f"127.0.0.1:{free_port()}",
            "interval_s": 1,
            "spool_dir": str(workdir / f"spool-{node_id}"),
            "collectors": {"gpu": False, "smart": False},
            **agent,
        },
    }
    path = workdir / f"{node_id}.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "continuum", "agent", "node", "--config", str(path)]
    return ManagedProcess(node_id, argv, workdir / f"{node_id}.log")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def busy_proc(tmp_path: Path) -> Iterator[Path]:
    """A procfs tree whose two CPUs are 95 % busy, advanced every 0.2 s while the test runs."""
    root = tmp_path / "proc"
    shutil.copytree(_FIXTURES / "proc", root)
    stop = threading.Event()

    def advance() -> None:
        ticks = 0
        while not stop.wait(0.2):
            ticks += 20
            busy, idle = 19 * ticks, ticks  # 95 % user, 5 % idle, per CPU
            lines = [f"cpu  {2 * busy} 0 0 {2 * idle} 0 0 0 0 0 0"]
            lines += [f"cpu{i} {busy} 0 0 {idle} 0 0 0 0 0 0" for i in (0, 1)]
            (root / "stat.tmp").write_text("\n".join(lines) + "\n")
            (root / "stat.tmp").replace(root / "stat")

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    try:
        yield root
    finally:
        stop.set()
        thread.join(timeout=5)


def test_disk_poor_and_over_utilised_nodes_are_rejected_with_their_reasons(
    live_stack: LiveStack, tmp_path: Path, small_disk: Path, busy_proc: Path
) -> None:
    agents = [
        _agent(live_stack, tmp_path, "itest-diskpoor", data_path=str(small_disk)),
        _agent(live_stack, tmp_path, "itest-busy", proc_root=str(busy_proc)),
    ]
    for agent in agents:
        agent.start()
    try:
        with httpx.Client(headers=live_stack.headers(), timeout=10) as http:

            def nodes() -> dict[str, Any]:
                body = http.get(f"{live_stack.api_url}/v1/nodes").json()
                return {n["id"]: n for n in body.get("nodes", [])}

            def both_measured() -> bool:
                seen = nodes()
                poor, busy = seen.get("itest-diskpoor"), seen.get("itest-busy")
                return (
                    poor is not None
                    and (poor["usage"]["disk_available_bytes"] or 1e18) <= 8 * _MIB
                    and busy is not None
                    and (busy["usage"]["cpu_utilization_avg5m"] or 0.0) > 0.9
                )

            wait_until(both_measured, 90, "both extra nodes measured by the API")
            assert nodes()["itest-diskpoor"]["data_path"] == str(small_disk)
            request = {
                "cpu_cores": 1,
                "memory_bytes": _MIB,
                "disk_bytes": 64 * _MIB,
                "max_utilization": 0.8,
                "rejected_limit": 100,
            }
            answer = http.post(f"{live_stack.api_url}/v1/rankings", json=request).json()
            rejected = {r["node"]: r["reasons"] for r in answer["rejected"]}
            ranked = {r["node"] for r in answer["ranked"]}
    finally:
        for agent in agents:
            agent.stop()
    assert {"itest-diskpoor", "itest-busy"}.isdisjoint(ranked)
    [disk] = [r for r in rejected["itest-diskpoor"] if r.startswith("disk:")]
    assert f"on {small_disk} (task data and inputs to stage)" in disk
    busy = rejected["itest-busy"]
    assert any(r.startswith("utilization: 5-minute mean 0.9") for r in busy), busy
    assert any(r.startswith("cpu: needs 1 free cores") for r in busy), busy
    assert "max_utilization: 5-minute mean CPU use at most 0.80" in answer["constraints"]
