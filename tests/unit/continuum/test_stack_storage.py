"""`stack.storage`: which store `continuum up` runs, and that the rest of the stack follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum._stack import LocalStack
from continuum._stack_settings import ConfigError, StackSettings, load_stack_settings
from continuum._state import StateDir


def _stack(tmp_path: Path, **settings: object) -> LocalStack:
    return LocalStack(StateDir(tmp_path / "continuum"), StackSettings(**settings), {})  # type: ignore[arg-type]


def test_prometheus_is_the_default_store(tmp_path: Path) -> None:
    assert StackSettings().storage == "prometheus"
    names = [c.name for c in _stack(tmp_path).plan()]
    assert "prometheus" in names
    assert "victoria-metrics" not in names
    assert "vmalert" not in names


def test_victoriametrics_replaces_prometheus_and_its_rule_engine(tmp_path: Path) -> None:
    stack = _stack(tmp_path, storage="victoriametrics")
    components = {c.name: c for c in stack.plan()}
    names = list(components)
    assert "prometheus" not in names
    # The store first, then its rule engine, then what writes to and reads from them.
    core = ["kafka", "victoria-metrics", "vmalert", "alertmanager", "pipeline", "api", "agent"]
    assert names[: len(core)] == core
    store = components["victoria-metrics"]
    assert store.url == "http://127.0.0.1:9090"
    assert store.health == "http://127.0.0.1:9090/health"
    assert components["vmalert"].health == "http://127.0.0.1:8880/health"
    # The pipeline writes to it and the API reads it on the store's port, as with Prometheus.
    config = stack.daemon_config()
    assert config["pipeline"]["remote_write_url"] == "http://127.0.0.1:9090/api/v1/write"
    assert config["api"]["prometheus_url"] == "http://127.0.0.1:9090"


def test_storage_comes_from_the_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "continuum.yaml"
    path.write_text("stack:\n  storage: victoriametrics\n")
    assert load_stack_settings(path).storage == "victoriametrics"
    monkeypatch.setenv("CONTINUUM_STACK__STORAGE", "prometheus")
    assert load_stack_settings(path).storage == "prometheus"


def test_an_unknown_store_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "continuum.yaml"
    path.write_text("stack:\n  storage: influxdb\n")
    with pytest.raises(ConfigError, match=r"stack\.storage"):
        load_stack_settings(path)
