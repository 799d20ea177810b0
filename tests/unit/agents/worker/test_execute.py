"""Attempts run in a child process: results, failures and what they cost."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest

from agents.worker import run_attempt
from scheduler_api.workflow import Assignment

HERE = Path(__file__)


def burn_and_write(path: str, size: int) -> int:
    """A task body: writes ``size`` bytes and returns how many."""
    Path(path).write_bytes(b"x" * size)
    return size


def fail() -> None:
    raise RuntimeError("task body failed on purpose")


def _function(name: str, *args: object) -> Assignment:
    return Assignment(
        "wf", name, 1, "n1", module="not.importable", file=str(HERE), function=name, args=list(args)
    )


def test_a_function_by_file_returns_its_value_and_its_io(tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    outcome = run_attempt(_function("burn_and_write", str(out), 200_000), tmp_path / "work")
    assert outcome.ok, outcome.error
    assert outcome.value == 200_000
    assert outcome.written_bytes >= 200_000
    assert outcome.cpu_s > 0
    assert outcome.peak_memory_bytes > 1 << 20
    event = outcome.event(_function("burn_and_write", str(out), 200_000))
    assert (event.kind, event.node, event.value) == ("finished", "n1", 200_000)
    assert list((tmp_path / "work").iterdir()) == []  # spec and result files cleaned up


def test_a_raising_function_is_a_failed_attempt_with_its_traceback(tmp_path: Path) -> None:
    outcome = run_attempt(_function("fail"), tmp_path)
    assert not outcome.ok
    assert "task body failed on purpose" in outcome.error
    assert outcome.event(_function("fail")).kind == "failed"


def test_a_command_counts_its_childs_reads(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"y" * 300_000)
    argv = [sys.executable, "-c", f"open({str(data)!r}, 'rb').read()"]
    outcome = run_attempt(Assignment("wf", "cmd", 1, "n1", argv=argv), tmp_path)
    assert outcome.ok, outcome.error
    assert outcome.read_bytes >= 300_000


def test_a_command_past_its_timeout_is_killed(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    assignment = Assignment("wf", "slow", 1, "n1", argv=argv, timeout_s=0.5)
    outcome = run_attempt(assignment, tmp_path)
    assert not outcome.ok
    assert outcome.wall_s < 10


def chatty(lines: int) -> int:
    """A task body that writes to both streams, a secret among its words."""
    for i in range(lines):
        print(f"line {i} of {os.environ.get('LAB_TOKEN', '')}")
    print("warning: almost done", file=sys.stderr)
    return lines


def test_the_output_tails_travel_in_the_attempts_event_bounded_and_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_TOKEN", "s3cr3t-value")
    assignment = dataclasses.replace(
        _function("chatty", 500), max_output_bytes=200, redact_env=["LAB_TOKEN"]
    )
    outcome = run_attempt(assignment, tmp_path / "work")
    assert outcome.ok, outcome.error
    event = outcome.event(assignment)
    assert event.stdout.endswith("line 499 of [REDACTED]\n")
    assert "s3cr3t-value" not in event.stdout
    assert event.stdout_dropped_bytes > 10_000
    assert event.stdout.startswith("[continuum: the first ")
    assert (event.stderr, event.stderr_dropped_bytes) == ("warning: almost done\n", 0)
    assert list((tmp_path / "work").iterdir()) == []  # the output files went with the attempt


def test_a_commands_output_is_its_value_and_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"]
    outcome = run_attempt(Assignment("wf", "cmd", 1, "n1", argv=argv), tmp_path)
    assert outcome.ok, outcome.error
    assert outcome.value == "out\n"
    assert (outcome.output.stdout, outcome.output.stderr) == ("out\n", "err\n")
