"""What the VictoriaMetrics launcher asks of victoria-metrics and vmalert (continuum/_victoria.py):
flags that make it answer like Prometheus, its scrape and notifier files, vmalert's wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from continuum import _victoria
from continuum._victoria import VictoriaMetricsServer, VmAlert
from continuum.services import MissingBinaryError


@pytest.fixture(autouse=True)
def _binaries(monkeypatch: pytest.MonkeyPatch) -> None:
    # The argv is what is tested, not the Debian package.
    monkeypatch.setattr(_victoria.shutil, "which", lambda name: f"/usr/bin/{name}")


def test_the_store_answers_like_prometheus(tmp_path: Path) -> None:
    store = VictoriaMetricsServer("127.0.0.1", 18428, tmp_path, retention="2y")
    argv = store.argv()
    assert argv[0] == "/usr/bin/victoria-metrics"
    assert f"-storageDataPath={tmp_path / 'data'}" in argv
    assert "-httpListenAddr=127.0.0.1:18428" in argv
    assert "-retentionPeriod=2y" in argv
    assert "-search.latencyOffset=1s" in argv
    assert "-search.minStalenessInterval=5m" in argv
    assert "-search.maxStalenessInterval=5m" in argv
    assert not any(a.startswith("-promscrape.config") for a in argv)
    assert store.remote_write_url == "http://127.0.0.1:18428/api/v1/write"


def test_the_store_scrapes_what_it_is_given(tmp_path: Path) -> None:
    store = VictoriaMetricsServer(
        "127.0.0.1", 18428, tmp_path, scrape_targets={"api": ["127.0.0.1:8080"]}
    )
    tmp_path.mkdir(exist_ok=True)
    store.prepare()
    assert f"-promscrape.config={tmp_path / 'scrape.yml'}" in store.argv()
    config = yaml.safe_load((tmp_path / "scrape.yml").read_text())
    assert config["scrape_configs"] == [
        {"job_name": "api", "static_configs": [{"targets": ["127.0.0.1:8080"]}]}
    ]
    assert config["global"]["scrape_interval"] == "15s"


def test_vmalert_runs_the_rules_against_the_store_and_writes_back(tmp_path: Path) -> None:
    store = VictoriaMetricsServer("127.0.0.1", 18428, tmp_path / "vm")
    rules = VmAlert(
        "127.0.0.1",
        18880,
        tmp_path / "vmalert",
        store=store,
        rule_files=["/rules/*.yml"],
        alertmanager_urls=["http://127.0.0.1:9093"],
        evaluation_interval_s=15,
    )
    argv = rules.argv()
    assert "-rule=/rules/*.yml" in argv
    for flag in ("-datasource.url", "-remoteWrite.url", "-remoteRead.url"):
        assert f"{flag}=http://127.0.0.1:18428" in argv
    assert "-notifier.url=http://127.0.0.1:9093" in argv
    assert "-evaluationInterval=15s" in argv
    assert "-httpListenAddr=127.0.0.1:18880" in argv


def test_vmalert_without_alertmanager_sends_nowhere(tmp_path: Path) -> None:
    store = VictoriaMetricsServer("127.0.0.1", 18428, tmp_path / "vm")
    rules = VmAlert("127.0.0.1", 18880, tmp_path, store=store, rule_files=["/r.yml"])
    rules.prepare()
    assert f"-notifier.config={tmp_path / 'notifier.yml'}" in rules.argv()
    assert not any(a.startswith("-notifier.url") for a in rules.argv())
    assert yaml.safe_load((tmp_path / "notifier.yml").read_text()) == {"static_configs": []}


def test_a_missing_binary_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_victoria.shutil, "which", lambda name: None)
    with pytest.raises(MissingBinaryError, match="apt-get install -y victoria-metrics"):
        _victoria.vm_binary("vmalert")
