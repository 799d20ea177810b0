"""The one configuration layer: one error type, unknown keys named, the same rules everywhere."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import continuum.config as config
from agents._otel._settings import AgentSettings, KafkaSettings, load_section
from continuum._cmd_config import config as config_command
from continuum._stack_settings import load_stack_settings
from pipeline import load_settings as load_pipeline
from scheduler_api import load_settings as load_api

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CONTINUUM_"):
            monkeypatch.delenv(key)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "continuum.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


# Each loader, and a misspelt key it must refuse with the nearest valid one.
_LOADERS: list[tuple[str, Callable[[Path], Any], str, str]] = [
    ("kafka: {bootstrap_server: 'a:1'}", lambda p: load_section(KafkaSettings, "kafka", p),
     "kafka.bootstrap_server", "bootstrap_servers"),
    ("kafka: {bootstrap_server: 'a:1'}", load_pipeline,
     "kafka.bootstrap_server", "bootstrap_servers"),
    ("pipeline: {batch_max_sample: 5}", load_pipeline,
     "pipeline.batch_max_sample", "batch_max_samples"),
    ("api: {listn: '127.0.0.1:1'}", load_api, "api.listn", "listen"),
    ("agent: {intervl_s: 5}", lambda p: load_section(AgentSettings, "agent", p),
     "agent.intervl_s", "interval_s"),
    ("stack: {ports: {kafak: 1}}", load_stack_settings, "stack.ports.kafak", "kafka"),
    ("api: {weights: {energi: 1}}", load_api, "api.weights.energi", "energy"),
    ("api: {tokens: [{token: t, scope: [read]}]}", load_api, r"api.tokens\[0\].scope", "scopes"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "load", "key", "nearest"), _LOADERS)
def test_every_loader_names_an_unknown_key_where_it_was_and_the_nearest(
    tmp_path: Path, text: str, load: Callable[[Path], Any], key: str, nearest: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(config.ConfigError, match=rf"^{key}: unknown key in {path}") as caught:
        load(path)
    assert str(caught.value).endswith(f"did you mean `{nearest}`?")


def test_an_unknown_key_from_the_environment_names_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTINUUM_PIPELINE__GROUPID", "g")
    expected = (
        r"pipeline.groupid: unknown key in the environment \(CONTINUUM_PIPELINE__\*\); "
        r"did you mean `group_id`\?"
    )
    with pytest.raises(config.ConfigError, match=expected):
        load_pipeline(None)


def test_a_user_mapping_is_not_checked_for_keys(tmp_path: Path) -> None:
    # identity.labels holds the operator's own names.
    path = _write(tmp_path, "identity: {labels: {rack: r1, anything_at_all: x}}")
    errors, _absent = config.check_file(path)
    assert errors == []


def test_one_error_type_and_one_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents._otel._settings as agents_settings
    import continuum._stack_settings as stack_settings
    import pipeline._settings as pipeline_settings
    import scheduler_api._settings as api_settings

    for module in (agents_settings, pipeline_settings, api_settings, stack_settings):
        assert module.ConfigError is config.ConfigError
    assert agents_settings.state_dir is config.state_dir
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert load_api(None).database == tmp_path / "continuum" / "continuum.db"


def test_the_kafka_section_has_one_type() -> None:
    import pipeline._settings as pipeline_settings

    assert pipeline_settings.KafkaSettings is config.KafkaSettings is KafkaSettings


@pytest.mark.parametrize("key", ["password", "sasl_password", "secret", "token", "api_tokens"])
def test_one_rule_finds_credentials(key: str) -> None:
    assert config.is_secret_key(key)
    assert config.holds_secret({"a": {key: "x"}})
    assert config.redact({"a": [{key: "x"}]}) == {"a": [{key: config.REDACTED}]}


def test_a_flag_named_like_a_token_is_no_credential() -> None:
    assert not config.holds_secret({"extender_requires_token": True, "tokens": []})
    assert config.redact({"extender_requires_token": True}) == {"extender_requires_token": True}


def test_check_exits_non_zero_and_lists_every_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "pipline: {}\nkafka: {bootstrap_server: x}\nagent: {interval_s: 0}\n")
    result = CliRunner().invoke(config_command, ["check", str(path)])
    assert result.exit_code == 1
    assert "pipline: unknown section" in result.output
    assert "did you mean `pipeline`?" in result.output
    assert "kafka.bootstrap_server: unknown key" in result.output
    assert "agent.interval_s: Expected `float` >= 1.0" in result.output
    assert "3 errors" in result.output


def test_check_reads_the_file_once_for_every_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    reads: list[str] = []
    parse = yaml.safe_load

    def counted(text: str) -> Any:
        reads.append(text)
        return parse(text)

    monkeypatch.setattr(yaml, "safe_load", counted)
    path = _write(tmp_path, "kafka: {bootstrap_servers: a:9092}\nworker: {heartbeat_s: 2}\n")
    errors, _absent = config.check_file(path)
    assert errors == []
    assert len(reads) == 1  # one read of the file, not one per section


@pytest.mark.parametrize(
    "path",
    ["deploy/compose/continuum.yaml", "deploy/kubernetes/config.yaml"],
)
def test_the_shipped_files_check_clean(path: str, tmp_path: Path) -> None:
    source = REPO / path
    text = source.read_text()
    if source.name == "config.yaml":  # a ConfigMap: the file is its continuum.yaml entry
        import yaml

        text = next(
            doc["data"]["continuum.yaml"]
            for doc in yaml.safe_load_all(text)
            if doc and doc.get("kind") == "ConfigMap" and "continuum.yaml" in doc.get("data", {})
        )
    result = CliRunner().invoke(config_command, ["check", str(_write(tmp_path, text))])
    assert result.exit_code == 0, result.output


def test_show_applies_the_environment_and_redacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "kafka: {sasl_username: u, sasl_password: hunter2}\n")
    monkeypatch.setenv("CONTINUUM_PIPELINE__GROUP_ID", "from-env")
    result = CliRunner().invoke(config_command, ["show", str(path)])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "sasl_password: '**********'" in result.output
    assert "group_id: from-env" in result.output
    only = CliRunner().invoke(config_command, ["show", str(path), "--section", "kafka"])
    assert only.output.startswith("kafka:")
    assert "pipeline:" not in only.output


def test_show_refuses_a_bad_file_and_points_to_check(tmp_path: Path) -> None:
    path = _write(tmp_path, "api: {listn: x}\n")
    result = CliRunner().invoke(config_command, ["show", str(path)])
    assert result.exit_code == 1
    assert "api.listn: unknown key" in result.output
    assert "continuum config check" in result.output
