"""`--results`: a bench's closing JSON line kept with its command, commit, date and cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import bench._results as results
from bench._results import load_records
from continuum._cmd_bench import bench


def test_results_appends_the_line_with_the_commit_the_run_started_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = iter(["a" * 40, "b" * 40])  # the checkout moves during the run
    monkeypatch.setattr(results, "git_commit", lambda *a: next(commits))
    args = ["placement-speed", "--nodes", "20", "--tasks", "100", "--repeats", "1",
            "--results", "--results-dir", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-2])
    assert "result appended to" in result.output
    [record] = load_records(tmp_path)["placement-speed"]
    assert record.result == printed
    assert record.commit == "a" * 40
    # The command as typed, without the --results options themselves.
    assert record.command == "bench placement-speed --nodes 20 --tasks 100 --repeats 1"
    assert record.cores >= 1
    assert record.date.endswith("Z")
    # A second run appends a second line.
    again = CliRunner().invoke(bench, args)
    assert again.exit_code == 0, again.output
    assert len(load_records(tmp_path)["placement-speed"]) == 2
