"""Settings name the key on errors; tokens are scoped and read safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler_api._auth import TokenBook
from scheduler_api._settings import ConfigError, Scope, load_settings


def test_defaults_follow_the_architecture() -> None:
    settings = load_settings(None)
    assert settings.listen == "127.0.0.1:8080"
    assert settings.prometheus_url == "http://127.0.0.1:9090"
    assert settings.unhealthy_severities == ["critical"]


def test_file_section_and_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text("api:\n  listen: 127.0.0.1:18080\n  weights: {energy: 0}\nother: {x: 1}\n")
    monkeypatch.setenv("CONTINUUM_API__SNAPSHOT_INTERVAL_S", "2")
    settings = load_settings(config)
    assert settings.port == 18080
    assert settings.snapshot_interval_s == 2
    assert settings.weights.to_weights().energy == 0


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("api: {listen: nowhere}", "api.listen"),
        ("api: {prometheus_url: ftp://x}", "api.prometheus_url"),
        ("api: {snapshot_interval_s: 0}", "api.snapshot_interval_s"),
        ("api: {weights: {cpu_headroom: -1}}", "api.weights.cpu_headroom"),
        ("api: {tokens: [{scopes: [read]}]}", "api.tokens.0"),
        ("api: {tokens: [{token: t, scopes: [admin]}]}", "api.tokens.0.scopes.0"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(yaml_text)
    config.chmod(0o600)  # some hold tokens, which a readable file may not
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        load_settings(config)


def test_token_file_grants_every_scope(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    token.chmod(0o600)
    book = TokenBook.from_settings(
        load_settings(None, token_file=token, tokens=[{"token": "r", "scopes": ["read"]}])
    )
    assert book.scopes_of("s3cret") == frozenset(Scope)
    assert book.scopes_of("r") == {Scope.READ}
    assert book.scopes_of("s3cre") == frozenset()


def test_a_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret")
    token.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        TokenBook.from_settings(load_settings(None, token_file=token))


def test_no_token_at_all_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^api.token_file: no API token"):
        TokenBook.from_settings(load_settings(None))
