"""Worker settings: file, environment overrides, errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline._settings import ConfigError, kafka_client_options, load_settings


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CONTINUUM_"):
            monkeypatch.delenv(key)
    settings = load_settings(None)
    assert settings.pipeline.listen == "127.0.0.1:9465"
    assert settings.pipeline.group_id == "continuum-pipeline"
    assert settings.kafka.topic == "otlp_metrics"
    assert settings.kafka.dlq_topic == "otlp_metrics.dlq"
    assert settings.pipeline.session_timeout_ms == 6000


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(
        "kafka: {bootstrap_servers: '10.0.0.1:9092'}\n"
        "pipeline: {group_id: g1, batch_max_samples: 500, deny: ['go_.*']}\n"
        "api: {listen: '127.0.0.1:1'}\n"
    )
    monkeypatch.setenv("CONTINUUM_PIPELINE__GROUP_ID", "from-env")
    settings = load_settings(config)
    assert settings.kafka.bootstrap_servers == "10.0.0.1:9092"
    assert settings.pipeline.group_id == "from-env"
    assert settings.pipeline.batch_max_samples == 500
    assert settings.pipeline.deny == ["go_.*"]


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("pipeline: {batch_max_samples: 0}", "pipeline.batch_max_samples"),
        ("pipeline: {listen: nowhere}", "pipeline.listen"),
        ("pipeline: {remote_write_url: 'ftp://x'}", "pipeline.remote_write_url"),
        ("kafka: {security_protocol: TLS}", "kafka.security_protocol"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(config)


def test_the_kafka_section_is_the_agents_own(tmp_path: Path) -> None:
    # One kafka type: keys only the agents use are valid here too, and a typo is an error.
    config = tmp_path / "continuum.yaml"
    config.write_text("kafka: {compression_type: gzip, acks: all, enable_idempotence: true}\n")
    assert load_settings(config).kafka.acks == "all"
    config.write_text("kafka: {bootstrap_server: 'x:1'}\n")
    with pytest.raises(
        ConfigError, match=r"kafka\.bootstrap_server: unknown key.*`bootstrap_servers`"
    ):
        load_settings(config)


def test_the_consumer_keeps_kafka_pythons_request_timeout_unless_set(tmp_path: Path) -> None:
    # A group join waits up to the rebalance timeout: the agents' 5 s would cut it short.
    assert "request_timeout_ms" not in kafka_client_options(load_settings(None).kafka)
    config = tmp_path / "continuum.yaml"
    config.write_text("kafka: {request_timeout_ms: 40000}\n")
    assert kafka_client_options(load_settings(config).kafka)["request_timeout_ms"] == 40000


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipeline: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)


def test_kafka_security_options(tmp_path: Path) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(
        "kafka: {bootstrap_servers: 'a:1,b:2', security_protocol: SASL_SSL, "
        "sasl_mechanism: PLAIN, sasl_username: u, sasl_password: p, ssl_cafile: /ca.pem}\n"
    )
    config.chmod(0o600)
    options = kafka_client_options(load_settings(config).kafka)
    assert options == {
        "bootstrap_servers": ["a:1", "b:2"],
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/ca.pem",
        "ssl_check_hostname": True,
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "u",
        "sasl_plain_password": "p",
    }


def test_a_world_readable_file_with_secrets_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text("kafka: {sasl_username: u, sasl_password: p}\n")
    config.chmod(0o600)
    password = load_settings(config).kafka.sasl_password
    assert password is not None
    assert password.get_secret_value() == "p"
    config.chmod(0o644)
    with pytest.raises(ConfigError, match=r"chmod 600 .*continuum\.yaml"):
        load_settings(config)
    # Without secrets a readable file is fine.
    config.write_text("kafka: {sasl_username: u, sasl_password: null}\npipeline: {group_id: g}\n")
    assert load_settings(config).pipeline.group_id == "g"
