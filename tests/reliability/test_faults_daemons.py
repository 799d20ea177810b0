"""Faults around the daemons: the API restarted under load, an agent's spool on a full disk,
and a collector that hangs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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
from tests.reliability.conftest import TunedRunFactory
from tests.reliability.faults import SeqProducer, landed, record_figure, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_leaked_sockets"),
]

REPO = Path(__file__).resolve().parents[2]
_CONNECTION_ERRORS = (httpx.TransportError,)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}


def _daemon(workdir: Path, name: str, args: list[str], config: dict[str, object]) -> ManagedProcess:
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    argv = [sys.executable, "-m", "continuum", *args, "--config", str(path)]
    return ManagedProcess(name, argv, workdir / f"{name}.log", env=_env())


class _Load:
    """Clients calling one URL as fast as they can; every outcome timed."""

    def __init__(self, url: str, headers: dict[str, str], clients: int = 2):
        self.url = url
        self.headers = headers
        self.outcomes: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(timeout=5, headers=self.headers) as client:
            while not self._stop.is_set():
                try:
                    outcome = str(client.get(self.url).status_code)
                except _CONNECTION_ERRORS as err:
                    outcome = type(err).__name__
                    time.sleep(0.02)
                self.outcomes.append((time.monotonic(), outcome))

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def successes_after(self, t: float) -> int:
        return sum(1 for at, outcome in list(self.outcomes) if at > t and outcome == "200")


def test_api_restarted_under_load_clients_see_only_the_gap(
    tmp_path: Path, prometheus: PrometheusServer
) -> None:
    token = secrets.token_urlsafe(16)
    token_file = tmp_path / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    port = free_port()
    api = _daemon(
        tmp_path,
        "api",
        ["api"],
        {
            "api": {
                "listen": f"127.0.0.1:{port}",
                "prometheus_url": prometheus.url,
                "token_file": str(token_file),
                "database": str(tmp_path / "continuum.db"),
                "snapshot_interval_s": 1,
            }
        },
    )
    base = f"http://127.0.0.1:{port}"
    api.start()
    try:
        wait_until(lambda: http_ok(f"{base}/healthz"), 30, "API")
        with _Load(f"{base}/v1/nodes", {"Authorization": f"Bearer {token}"}) as load:
            wait_for(lambda: load.successes_after(0) >= 20, 20, "load before the restart")
            gap_start = time.monotonic()
            api.stop()
            api.start()
            wait_until(lambda: http_ok(f"{base}/healthz"), 30, "API after restart")
            ready = time.monotonic()
            wait_for(lambda: load.successes_after(ready) >= 20, 20, "load after the restart")
    finally:
        api.stop()
    bad = [(at, o) for at, o in load.outcomes if o != "200"]
    assert {o for _, o in bad} <= {"503", "ConnectError", "ReadError", "RemoteProtocolError"}
    assert all(at >= gap_start for at, _ in bad), "errors before the restart"
    last_error = max((at for at, _ in bad), default=gap_start)
    back = min(at for at, o in load.outcomes if at > last_error and o == "200")
    # Every request after the first success past the gap succeeded, within 5 s of readiness.
    assert back <= ready + 5.0
    record_figure(
        "api_restart",
        requests=len(load.outcomes),
        failed_in_gap=len(bad),
        recovery_s=round(back - gap_start, 2),
    )


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (root only); unmounted after the test."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.root
def test_spool_on_a_full_disk_drops_counted_and_recovers(
    fresh_tansu: TansuBroker,
    prometheus: PrometheusServer,
    tuned_run_factory: TunedRunFactory,
    small_tmpfs: Path,
    tmp_path: Path,
) -> None:
    run = tuned_run_factory(fresh_tansu.bootstrap, prometheus.remote_write_url)
    tag = secrets.token_hex(3)
    name = f"rel_spool_{tag}"
    fresh_tansu.stop()
    producer = SeqProducer(
        tmp_path, fresh_tansu.bootstrap, run.topic, f"rel.spool.{tag}", spool_dir=small_tmpfs
    )
    producer.sender.start()
    # ~250 bytes a message: 3000 of them cannot fit in 256 KiB.
    producer.put(3000)
    wait_for(lambda: producer.queue.dropped_messages > 0, 30, "the disk to fill")
    producer.put(100)  # the agent keeps accepting exports on a full disk
    assert shutil.disk_usage(small_tmpfs).free < 16 * 1024
    dropped = producer.queue.dropped_points
    restart = time.monotonic()
    fresh_tansu.start()
    run.start_worker()
    expected = producer.sent - dropped
    wait_for(lambda: landed(prometheus, name) >= expected, 90, f"{expected} samples")
    recovery_s = time.monotonic() - restart
    producer.stop()
    assert producer.queue.dropped_points == dropped
    assert landed(prometheus, name) == expected
    assert producer.queue.depth == 0
    record_figure(
        "spool_disk_full",
        sent=producer.sent,
        dropped_counted=dropped,
        lost_uncounted=producer.sent - dropped - landed(prometheus, name),
        recovery_s=round(recovery_s, 1),
    )


def _samples(url: str) -> dict[tuple[str, str], float]:
    text = httpx.get(url, timeout=5).text
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, sample.labels.get("collector", ""))] = sample.value
    return out


def test_a_hung_collector_does_not_stop_the_others(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    shutil.copytree(REPO / "tests" / "fixtures" / "node" / "proc", proc)
    (proc / "meminfo").unlink()
    os.mkfifo(proc / "meminfo")  # opening it blocks for ever: a hung read, as on a dead mount
    port = free_port()
    agent = _daemon(
        tmp_path,
        "agent",
        ["agent", "node"],
        {
            "identity": {"node_id": "hung-node"},
            "agent": {
                "listen": f"127.0.0.1:{port}",
                "interval_s": 1,
                "collector_timeout_s": 0.5,
                "push": False,
                "proc_root": str(proc),
                "sys_root": str(REPO / "tests" / "fixtures" / "node" / "sys"),
                "spool_dir": str(tmp_path / "spool"),
            },
        },
    )
    url = f"http://127.0.0.1:{port}/metrics"
    agent.start()
    try:
        wait_until(lambda: http_ok(url), 30, "agent /metrics")
        first = _samples(url)
        start = time.monotonic()
        timeouts = ("continuum_agent_collector_timeouts_total", "memory")
        wait_for(
            lambda: _samples(url).get(timeouts, 0) >= first.get(timeouts, 0) + 2,
            20,
            "memory collector timeouts counted",
        )
        later = _samples(url)
        assert agent.running()
    finally:
        with contextlib.suppress(Exception):
            agent.stop()
    cpu = [k for k in later if k[0].startswith("system_cpu_time")]
    assert cpu, "the CPU collector stopped reporting"
    record_figure(
        "hung_collector",
        memory_timeouts=int(later[timeouts]),
        seconds=round(time.monotonic() - start, 1),
        cpu_series=len(cpu),
    )
