"""Probe settings validation and the local stack's default targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents._otel import ConfigError, load_section, validate_section
from agents.probes import ProbeKind, ProbesSettings, local_stack_targets


def _load(tmp_path: Path, text: str) -> ProbesSettings:
    config = tmp_path / "continuum.yaml"
    config.write_text(text)
    return load_section(ProbesSettings, "probes", config)


def test_defaults_follow_the_architecture_page() -> None:
    settings = ProbesSettings()
    assert settings.listen == "127.0.0.1:9466"
    assert settings.interval_s == 15
    assert settings.targets == []
    assert settings.throughput.size_bytes == 1 << 20


def test_targets_load_from_yaml(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        "probes:\n"
        "  targets:\n"
        "    - {name: hpc, kind: tcp, address: 10.0.0.7:22, peer: hpc-1, site: bsc}\n"
        "    - {name: web, kind: http, address: 'https://x.test/', valid_status_codes: [200]}\n",
    )
    assert [t.kind for t in settings.targets] == [ProbeKind.TCP, ProbeKind.HTTP]
    assert settings.targets[0].peer == "hpc-1"
    assert settings.targets[0].site == "bsc"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("probes: {interval_s: 0.5}", "probes.interval_s"),
        ("probes: {interval_s: 5, timeout_s: 10}", "probes.timeout_s: must be below interval_s"),
        ("probes: {targets: [{name: a, kind: smtp, address: x:1}]}", "probes.targets.0.kind"),
        ("probes: {targets: [{name: a, kind: http, address: 'x:80'}]}", "http:// or https://"),
        ("probes: {targets: [{name: a, kind: tcp, address: host}]}", "host:port"),
        (
            "probes: {targets: [{name: a, kind: tcp, address: 'h:1'}, "
            "{name: a, kind: tcp, address: 'h:2'}]}",
            "repeated: a",
        ),
        ("probes: {throughput: {size_bytes: 1000000000}}", "probes.throughput.size_bytes"),
        ("probes: {throughput: {listen: nowhere}}", "probes.throughput.listen"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _load(tmp_path, text)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTINUUM_PROBES__THROUGHPUT__INTERVAL_S", "60")
    settings = _load(tmp_path, "probes: {throughput: {interval_s: 600}}")
    assert settings.throughput.interval_s == 60


def test_local_stack_targets_probe_every_service() -> None:
    targets = local_stack_targets(
        {
            "kafka": "tcp://127.0.0.1:9092",
            "prometheus": "http://127.0.0.1:9090/-/ready",
            "alertmanager": "http://127.0.0.1:9093/-/ready",
            "api": "http://127.0.0.1:8080/healthz",
            "agent": "http://127.0.0.1:9464/metrics",
        }
    )
    assert targets[0] == {"name": "kafka", "kind": "tcp", "address": "127.0.0.1:9092"}
    assert targets[1] == {
        "name": "prometheus",
        "kind": "http",
        "address": "http://127.0.0.1:9090/-/ready",
    }
    assert [t["name"] for t in targets] == ["kafka", "prometheus", "alertmanager", "api", "agent"]
    # The result is a valid probes section as written into continuum.yaml.
    assert len(validate_section(ProbesSettings, "probes", {"targets": targets}).targets) == 5


def test_local_stack_targets_reject_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="cannot probe"):
        local_stack_targets({"db": "postgres://127.0.0.1:5432"})


def test_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"probes\.targets\.0.*ca_file"):
        _load(
            tmp_path,
            "probes: {targets: [{name: a, kind: tcp, tls: true, address: 'h:1', "
            f"ca_file: {tmp_path / 'missing.pem'}}}]}}",
        )
