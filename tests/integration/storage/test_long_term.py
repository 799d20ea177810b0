"""The long-term path: Prometheus forwards what it stores to VictoriaMetrics with remote write
(deploy/compose/prometheus.long-term.yml holds the same block), and a VictoriaMetrics backup
survives the loss of the store: data written, backed up (vmbackup from a snapshot), the data
folder wiped, restored (vmrestore) and queried again."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from continuum._victoria import VictoriaMetricsServer, vmbackup, vmrestore
from continuum.services import PrometheusServer, free_port, wait_until
from tests.integration.storage.series import remote_write

# A series VictoriaMetrics has never seen is searchable after about 10 s.
_NEW_SERIES_S = 30.0


class LongTermPrometheus(PrometheusServer):
    """A Prometheus that keeps a short retention and forwards every sample to a long-term store."""

    def __init__(self, *args: Any, long_term_url: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.long_term_url = long_term_url

    def config(self) -> dict[str, Any]:
        config = super().config()
        config["remote_write"] = [
            {
                "url": self.long_term_url,
                # Ship within a second (the default batches for up to 5 s).
                "queue_config": {"batch_send_deadline": "1s"},
            }
        ]
        return config

    def argv(self) -> list[str]:
        return [*super().argv(), "--storage.tsdb.retention.time=2h"]


def _range(store: VictoriaMetricsServer, expr: str, start_s: float, end_s: float) -> list[Any]:
    body = httpx.get(
        f"{store.url}/api/v1/query_range",
        params={"query": expr, "start": start_s, "end": end_s, "step": 60},
        timeout=10,
    ).json()
    result: list[Any] = body["data"]["result"]
    return result


def test_prometheus_forwards_to_the_long_term_store(tmp_path: Path) -> None:
    long_term = VictoriaMetricsServer("127.0.0.1", free_port(), tmp_path / "vm", retention="2y")
    long_term.start()
    prometheus = LongTermPrometheus(
        "127.0.0.1", free_port(), tmp_path / "prometheus", long_term_url=long_term.remote_write_url
    )
    try:
        prometheus.start()
        key = (("__name__", "continuum:node_cpu_cores"), ("node", "long-term"), ("tier", "edge"))

        def forwarded() -> bool:
            # A live feed, as the pipeline's: Prometheus forwards only samples newer than its
            # remote-write queue's start.
            written = remote_write(
                prometheus.remote_write_url, {key: [(int(time.time() * 1000), 6.0)]}
            )
            assert written.status_code == 204, written.text
            return bool(long_term.query('continuum:node_cpu_cores{node="long-term"}'))

        wait_until(forwarded, _NEW_SERIES_S, "the sample in the long-term store", interval_s=0.5)
        # Nothing was written to VictoriaMetrics directly: Prometheus sent it.
        (found,) = long_term.query('continuum:node_cpu_cores{node="long-term"}')
        assert found["value"][1] == "6"
        assert found["metric"]["tier"] == "edge"
    finally:
        prometheus.stop()
        long_term.stop()


def test_a_backup_restores_a_wiped_store(tmp_path: Path) -> None:
    store = VictoriaMetricsServer("127.0.0.1", free_port(), tmp_path / "vm")
    store.start()
    try:
        now_s = time.time()
        stamps = [int((now_s - 600 + 60 * i) * 1000) for i in range(11)]
        key = (("__name__", "continuum:node_cpu_utilization:avg1m"), ("node", "kept"))
        written = remote_write(
            store.remote_write_url, {key: [(t, i / 10) for i, t in enumerate(stamps)]}
        )
        assert written.status_code == 204
        expr = 'continuum:node_cpu_utilization:avg1m{node="kept"}'
        wait_until(lambda: bool(_range(store, expr, now_s - 600, now_s)), _NEW_SERIES_S, "the data")
        before = _range(store, expr, now_s - 600, now_s)
        assert [float(v) for _, v in before[0]["values"]] == [i / 10 for i in range(11)]

        backup = tmp_path / "backup"
        vmbackup(store.snapshot(), store, backup)
        assert any(backup.rglob("*")), "the backup is empty"

        # The store is lost: stopped, its data folder gone, started empty.
        store.stop()
        shutil.rmtree(store.data_dir)
        store.start()
        assert _range(store, expr, now_s - 600, now_s) == []
        store.stop()

        vmrestore(backup, store.data_dir)
        store.start()
        after = _range(store, expr, now_s - 600, now_s)
        assert after == before
    finally:
        store.stop()
