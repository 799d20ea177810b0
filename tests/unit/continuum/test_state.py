"""The state directory and the local API token."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from continuum._state import StateDir, TokenFileError


def test_default_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert StateDir.default().root == tmp_path / "continuum"


def test_default_without_xdg_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert StateDir.default().root == tmp_path / ".local" / "state" / "continuum"


def test_token_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "continuum")
    first = state.ensure_token()
    assert len(first) >= 32
    assert stat.S_IMODE(state.token_path.stat().st_mode) == 0o600
    assert state.ensure_token() == first
    assert state.read_token() == first


def test_world_readable_token_is_refused_with_the_fix(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "continuum")
    state.ensure_token()
    state.token_path.chmod(0o644)
    with pytest.raises(TokenFileError, match="chmod 600"):
        state.read_token()


def test_missing_token_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError, match="continuum up"):
        StateDir(tmp_path / "nothing").read_token()


def test_json_round_trip_and_garbage(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.write_json(state.stack_path, {"supervisor_pid": 1})
    assert state.read_json(state.stack_path) == {"supervisor_pid": 1}
    state.stack_path.write_text("{not json")
    assert state.read_json(state.stack_path) is None
