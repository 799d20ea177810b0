"""VictoriaMetrics as the stack's store: ``victoria-metrics`` and ``vmalert`` as child processes.

``victoria-metrics`` (single node) takes the pipeline's remote write on ``/api/v1/write`` and
answers the API's and Grafana's PromQL on ``/api/v1/query`` and ``/api/v1/query_range``, as
Prometheus does. ``vmalert`` evaluates the same rule files (deploy/prometheus/rules) against it,
writes the recording rules' series back into it and sends alerts to the same Alertmanager::

    store = VictoriaMetricsServer("127.0.0.1", free_port(), Path("/tmp/vm"))
    store.start()
    rules = VmAlert("127.0.0.1", free_port(), Path("/tmp/vmalert"), store=store,
                    rule_files=["deploy/prometheus/rules/*.yml"],
                    alertmanager_urls=["http://127.0.0.1:9093"])
    rules.start()

Where the two stores differ, the launcher sets VictoriaMetrics to answer like Prometheus
(docs/storage.md):

- ``-search.latencyOffset``: VictoriaMetrics evaluates a query for "now" 30 s in the past by
  default, so every node's freshness would read 30 s older than on Prometheus; 1 s here.
- ``-search.minStalenessInterval`` and ``-search.maxStalenessInterval``: a series is looked
  back for exactly Prometheus's 5 m lookback. VictoriaMetrics otherwise derives the window from
  the series' own sample interval: a node whose last sample is a minute old vanished from range
  queries there while Prometheus still answered it.
- out-of-order samples: VictoriaMetrics has no out-of-order window, it takes any timestamp
  inside its retention; samples older than the retention are dropped with a 204, where
  Prometheus answers 400 ``out of bounds``. The pipeline removes too-old samples before
  sending (docs/contracts.md §5), so both stores see the same stream.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from continuum.services import (
    MissingBinaryError,
    PromQLQueries,
    ServiceError,
    _Service,
    http_ok,
)

__all__ = ["VictoriaMetricsServer", "VmAlert", "vm_binary", "vmbackup", "vmrestore"]

#: Prometheus's default lookback, which the store is told to keep.
PROMETHEUS_LOOKBACK = "5m"


def vm_binary(name: str) -> str:
    """Return the path of a VictoriaMetrics program, or raise with the install command."""
    path = shutil.which(name)
    if path is None:
        raise MissingBinaryError(
            f"{name} is not installed: run `apt-get install -y victoria-metrics` (or `make up`)"
        )
    return path


class VictoriaMetricsServer(_Service, PromQLQueries):
    """Single-node VictoriaMetrics: remote-write receiver and Prometheus query API.

    Args:
        retention: how long samples are kept (``-retentionPeriod``: ``30d``, ``2y``, or a
            number of months).
        latency_offset: how far in the past a query for "now" is evaluated.
        lookback: how far back a query looks for a series' last sample.
        scrape_targets: job name -> ``host:port`` list whose /metrics it scrapes itself, as
            Prometheus does (the stack's self-metrics).
        scrape_interval_s: seconds between those scrapes.
    """

    name = "victoria-metrics"

    def __init__(
        self,
        host: str,
        port: int,
        workdir: Path,
        *,
        retention: str = "1",
        latency_offset: str = "1s",
        lookback: str = PROMETHEUS_LOOKBACK,
        scrape_targets: dict[str, list[str]] | None = None,
        scrape_interval_s: float = 15.0,
    ):
        super().__init__(host, port, workdir)
        self.retention = retention
        self.latency_offset = latency_offset
        self.lookback = lookback
        self.scrape_targets = scrape_targets or {}
        self.scrape_interval_s = scrape_interval_s

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def scrape_config_path(self) -> Path:
        return self.workdir / "scrape.yml"

    def prepare(self) -> None:
        if self.scrape_targets:
            config = {
                "global": {"scrape_interval": f"{self.scrape_interval_s:g}s"},
                "scrape_configs": [
                    {"job_name": job, "static_configs": [{"targets": targets}]}
                    for job, targets in self.scrape_targets.items()
                ],
            }
            self.scrape_config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def argv(self) -> list[str]:
        argv = [
            vm_binary("victoria-metrics"),
            f"-storageDataPath={self.data_dir}",
            f"-httpListenAddr={self.host}:{self.port}",
            f"-retentionPeriod={self.retention}",
            f"-search.latencyOffset={self.latency_offset}",
            f"-search.minStalenessInterval={self.lookback}",
            f"-search.maxStalenessInterval={self.lookback}",
            "-loggerLevel=WARN",
        ]
        if self.scrape_targets:
            argv.append(f"-promscrape.config={self.scrape_config_path}")
        return argv

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/health")

    def flush(self) -> None:
        """Make every accepted sample searchable now (it is within about a second anyway)."""
        _get_json(f"{self.url}/internal/force_flush", 10.0, raw=True)

    def snapshot(self) -> str:
        """Create an instant snapshot of the data (for ``vmbackup``); return its name."""
        body = _get_json(f"{self.url}/snapshot/create", 60.0)
        if body.get("status") != "ok":
            raise ServiceError(f"snapshot failed: {body}")
        return str(body["snapshot"])


class VmAlert(_Service):
    """vmalert: the rule files evaluated against a VictoriaMetrics, alerts to Alertmanager.

    Recording rules' results and the alerts' state are written back into the store (and the
    state read back at a restart), as Prometheus keeps both in its own TSDB.
    """

    name = "vmalert"

    def __init__(
        self,
        host: str,
        port: int,
        workdir: Path,
        *,
        store: VictoriaMetricsServer,
        rule_files: Sequence[str],
        alertmanager_urls: Sequence[str] = (),
        evaluation_interval_s: float = 1.0,
    ):
        super().__init__(host, port, workdir)
        self.store = store
        self.rule_files = list(rule_files)
        self.alertmanager_urls = list(alertmanager_urls)
        self.evaluation_interval_s = evaluation_interval_s

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            vm_binary("vmalert"),
            *(f"-rule={pattern}" for pattern in self.rule_files),
            f"-datasource.url={self.store.url}",
            f"-remoteWrite.url={self.store.url}",
            f"-remoteRead.url={self.store.url}",
            # Recording rules' series reach the store within a second, not vmalert's 5 s.
            "-remoteWrite.flushInterval=1s",
            f"-evaluationInterval={self.evaluation_interval_s:g}s",
            f"-httpListenAddr={self.host}:{self.port}",
            "-loggerLevel=WARN",
        ]
        if self.alertmanager_urls:
            argv += [f"-notifier.url={url}" for url in self.alertmanager_urls]
        else:
            # vmalert refuses alerting rules with no notifier; an empty target list evaluates
            # them (their state is still written to the store) and sends nothing.
            argv.append(f"-notifier.config={self.notifier_config_path}")
        return argv

    @property
    def notifier_config_path(self) -> Path:
        return self.workdir / "notifier.yml"

    def prepare(self) -> None:
        self.notifier_config_path.write_text("static_configs: []\n")

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/health")

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts vmalert holds (pending and firing), as its Prometheus-style API lists them."""
        body = _get_json(f"{self.url}/api/v1/alerts", 5.0)
        return list(body.get("data", {}).get("alerts", []))


def vmbackup(snapshot: str, store: VictoriaMetricsServer, destination: Path) -> None:
    """Copy a snapshot of ``store`` to a folder (``fs://``); a later run copies what changed."""
    _run_tool(
        "vmbackup",
        f"-storageDataPath={store.data_dir}",
        f"-snapshotName={snapshot}",
        f"-dst=fs://{destination}",
    )


def vmrestore(source: Path, data_dir: Path) -> None:
    """Restore a ``vmbackup`` folder into a stopped store's data folder."""
    _run_tool("vmrestore", f"-src=fs://{source}", f"-storageDataPath={data_dir}")


def _run_tool(name: str, *args: str) -> None:
    done = subprocess.run(
        [vm_binary(name), *args, "-loggerLevel=WARN"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ServiceError(f"{name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _get_json(url: str, timeout_s: float, *, raw: bool = False) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (loopback)
        payload = response.read()
    if raw:
        return {}
    loaded: dict[str, Any] = json.loads(payload)
    return loaded
