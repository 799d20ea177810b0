"""The CLI surface reads well and every documented command is there."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from continuum.cli import cli

DOCUMENTED = ["up", "down", "status", "token", "agent", "pipeline", "api", "nodes", "rank", "run"]


def test_help_lists_every_documented_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in [*DOCUMENTED, "dashboards", "bench"]:
        assert f"  {command} " in result.output


def test_agent_group_has_the_four_agents() -> None:
    result = CliRunner().invoke(cli, ["agent", "--help"])
    assert result.exit_code == 0
    for name in ("node", "containers", "probes", "forward"):
        assert name in result.output


def test_bench_group_lists_the_benchmarks() -> None:
    result = CliRunner().invoke(cli, ["bench", "--help"])
    assert result.exit_code == 0
    for name in ("agent", "containers", "pipeline", "api", "placement"):
        assert name in result.output


def test_status_without_a_stack_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1
    assert "continuum up" in result.output
