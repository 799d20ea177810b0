"""Task output capture: every way a task writes, bounded with a marker, secrets redacted."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from scheduler_api.executors import (
    Completion,
    LocalExecutor,
    LogCapture,
    bound_text,
    redact,
    secret_values,
)
from scheduler_api.placement import NodeInfo
from scheduler_api.workflow import task


def test_print_fd_writes_and_child_processes_are_all_caught() -> None:
    capture = LogCapture()
    with capture.capturing() as output:
        print("from print")
        print("to stderr", file=sys.stderr)
        os.write(1, b"from fd 1\n")
        subprocess.run(["sh", "-c", "echo from a child; echo child err >&2"], check=True)
    result = output.result
    assert result.stdout == "from print\nfrom fd 1\nfrom a child\n"
    assert result.stderr == "to stderr\nchild err\n"
    assert (result.stdout_dropped_bytes, result.stderr_dropped_bytes) == (0, 0)
    # The streams are the process's own again.
    assert sys.stdout is not None
    assert not sys.stdout.closed


def test_long_output_keeps_its_end_behind_a_marker() -> None:
    capture = LogCapture(max_bytes_per_stream=100)
    with capture.capturing() as output:
        for line in range(1000):
            print(f"line {line:04d}")
    result = output.result
    total = 1000 * len("line 0000\n")
    assert result.stdout_dropped_bytes == total - 100
    marker, kept = result.stdout.split("\n", 1)
    assert marker == f"[continuum: the first {total - 100} bytes of stdout were dropped]"
    assert kept.endswith("line 0999\n")
    assert len(kept.encode()) == 100
    assert result.stderr == ""


def test_secrets_named_by_environment_variable_are_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "hunter2-very-secret")
    monkeypatch.setenv("SHORT", "ab")  # too short to redact without wrecking the text
    capture = LogCapture(max_bytes_per_stream=40, redact_env=("DB_PASSWORD", "SHORT", "UNSET"))
    with capture.capturing() as output:
        print("x" * 100)
        # The secret straddles where the kept tail begins: still redacted, never half-shown.
        print("password=hunter2-very-secret ab done")
    assert "hunter2" not in output.result.stdout
    assert "very-secret" not in output.result.stdout
    assert output.result.stdout.endswith("[REDACTED] ab done\n")
    assert secret_values(["A", "B"], {"A": "long-value", "B": "long-value-2"}) == [
        "long-value-2",
        "long-value",
    ]
    assert redact("a long-value-2 b", ["long-value-2", "long-value"]) == "a [REDACTED] b"


def test_bound_text_cuts_by_bytes_without_broken_characters() -> None:
    text, dropped = bound_text("é".encode() * 10, 20, "stderr", 5, [])
    marker, kept = text.split("\n", 1)
    assert dropped == 15
    assert marker == "[continuum: the first 15 bytes of stderr were dropped]"
    assert kept == "éé"  # the half character at the cut is left out


@task()
def chatty(x: int) -> int:
    print(f"working on {x}")
    print(f"warning about {x}", file=sys.stderr)
    return x + 1


@task()
def chatty_failure() -> None:
    print("about to fail")
    raise ValueError("bad input")


def _collect(executor: LocalExecutor, count: int) -> list[Completion]:
    deadline = time.monotonic() + 30
    done: list[Completion] = []
    while len(done) < count and time.monotonic() < deadline:
        done.extend(executor.wait(timeout_s=1.0))
    assert len(done) == count, done
    return done


def test_local_executor_returns_each_attempts_output() -> None:
    executor = LocalExecutor([NodeInfo("n", cpu_cores=2)], capture=LogCapture(1 << 10))
    try:
        executor.submit("chatty-1", "n", chatty, (1,), {})
        executor.submit("chatty_failure-1", "n", chatty_failure, (), {})
        done = {c.task_id: c for c in _collect(executor, 2)}
    finally:
        executor.close()
    ok = done["chatty-1"]
    assert ok.ok
    assert ok.value == 2
    assert ok.output.stdout == "working on 1\n"
    assert ok.output.stderr == "warning about 1\n"
    failed = done["chatty_failure-1"]
    assert not failed.ok
    assert failed.output.stdout == "about to fail\n"
    assert "ValueError: bad input" in failed.error
