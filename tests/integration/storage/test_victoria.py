"""The VictoriaMetrics launcher scrapes what Prometheus scrapes in the stack (the pipeline's and
the API's self-metrics): a target's /metrics lands in the store under its job."""

from __future__ import annotations

from pathlib import Path

from continuum._victoria import VictoriaMetricsServer
from continuum.services import PrometheusServer, free_port


def test_the_store_scrapes_its_targets(tmp_path: Path, ruled_prometheus: PrometheusServer) -> None:
    # Any /metrics will do: the session's Prometheus serves its own.
    target = f"{ruled_prometheus.host}:{ruled_prometheus.port}"
    store = VictoriaMetricsServer(
        "127.0.0.1",
        free_port(),
        tmp_path / "vm",
        scrape_targets={"self": [target]},
        scrape_interval_s=1.0,
    )
    store.start()
    try:
        # A series the store has never seen shows up after about 10 s.
        (up,) = store.wait_for('up{job="self"} == 1', timeout_s=30)
        assert up["metric"]["instance"] == target
        assert store.query('prometheus_build_info{job="self"}')
    finally:
        store.stop()
