"""`continuum lab` refuses clearly: not root, or a topology with a wrong key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from continuum.cli import cli


def test_up_without_root_says_it_needs_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(cli, ["lab", "up"])
    assert result.exit_code == 1
    assert "needs root" in result.output
    assert not (tmp_path / "continuum" / "lab").exists()  # nothing was made


def test_a_topology_error_names_the_key(tmp_path: Path) -> None:
    topology = tmp_path / "lab.yaml"
    topology.write_text(
        "sites: [{name: s, tier: cloud}]\nnodes: [{id: n1, site: s, cpu: 0.5, memory: lots}]\n"
    )
    result = CliRunner().invoke(cli, ["lab", "status", "--topology", str(topology)])
    assert result.exit_code == 1
    assert "nodes[n1].memory:" in result.output
    assert "'lots' is not a size" in result.output
