"""Stack settings: file, environment and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum._stack_settings import ConfigError, load_stack_settings, load_yaml


def test_defaults_are_the_documented_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API", "KAFKA"):
        monkeypatch.delenv(f"CONTINUUM_STACK__PORTS__{name}", raising=False)
    settings = load_stack_settings(None)
    assert (settings.ports.kafka, settings.ports.prometheus, settings.ports.api) == (
        9092,
        9090,
        8080,
    )
    assert settings.host == "127.0.0.1"


def test_file_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text("stack:\n  ports: {api: 18081}\n  components: {probes: false}\n")
    settings = load_stack_settings(config)
    assert settings.ports.api == 18081
    assert settings.components.probes is False
    monkeypatch.setenv("CONTINUUM_STACK__PORTS__API", "18082")
    assert load_stack_settings(config).ports.api == 18082


def test_invalid_value_names_the_dotted_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTINUUM_STACK__AGENT_INTERVAL_S", "0.1")
    with pytest.raises(ConfigError, match=r"stack\.agent_interval_s"):
        load_stack_settings(None)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("stack: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(scalar)
