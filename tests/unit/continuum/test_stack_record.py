"""The stack's process record, and `continuum down | status | up` over a dead supervisor."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from continuum._processes import ProcessIdentity
from continuum._stack_record import RecordedComponent, StackRecord
from continuum._state import StateDir
from continuum.cli import cli

_SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateDir:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return StateDir.default()


@pytest.fixture
def left_over() -> Iterator[subprocess.Popen[bytes]]:
    """A component a killed supervisor left: its own session, like the stack's children."""
    child = subprocess.Popen(_SLEEPER, start_new_session=True)
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def _dead_identity() -> ProcessIdentity:
    child = subprocess.Popen(["true"])
    identity = ProcessIdentity.of(child.pid)
    child.wait()
    assert identity is not None
    assert not identity.alive()
    return identity


def _component(name: str, process: ProcessIdentity | None) -> RecordedComponent:
    return RecordedComponent(name, "http://127.0.0.1:1/metrics", "tcp", 1, process)


def _identity(child: subprocess.Popen[bytes]) -> ProcessIdentity:
    identity = ProcessIdentity.of(child.pid)
    assert identity is not None
    return identity


def test_the_record_round_trips_and_keeps_pid_with_start_time(state: StateDir) -> None:
    record = StackRecord(
        "127.0.0.1",
        ProcessIdentity(10, 20),
        (_component("kafka", ProcessIdentity(11, 21)), _component("api", None)),
    )
    record.save(state)
    assert StackRecord.load(state) == record
    raw = json.loads(state.stack_path.read_text())
    assert (raw["components"][0]["pid"], raw["components"][0]["start_ticks"]) == (11, 21)
    assert raw["supervisor_start_ticks"] == 20


def test_a_record_without_start_times_identifies_no_process(state: StateDir) -> None:
    # Written before start times were kept: a bare pid may since belong to anything.
    state.write_json(
        state.stack_path,
        {
            "host": "127.0.0.1",
            "supervisor_pid": 1,
            "components": [{"name": "kafka", "url": "u", "health": "tcp", "port": 1, "pid": 1}],
        },
    )
    record = StackRecord.load(state)
    assert record is not None
    assert record.supervisor is None
    assert record.components[0].process is None
    assert not record.supervisor_alive()
    assert record.left_over() == []


def test_down_ends_what_a_dead_supervisor_left_and_spares_a_reused_pid(
    state: StateDir, left_over: subprocess.Popen[bytes]
) -> None:
    bystander = subprocess.Popen(_SLEEPER, start_new_session=True)
    try:
        reused = ProcessIdentity(bystander.pid, _identity(bystander).start_ticks - 1)
        StackRecord(
            "127.0.0.1",
            _dead_identity(),
            (_component("kafka", _identity(left_over)), _component("api", reused)),
        ).save(state)
        result = CliRunner().invoke(cli, ["down"])
        assert result.exit_code == 0, result.output
        assert f"kafka (pid {left_over.pid})" in result.output
        assert "api" not in result.output
        assert left_over.wait(timeout=15) is not None
        assert bystander.poll() is None  # a pid the record names, but not the process it was
        assert not state.stack_path.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_status_names_what_a_dead_supervisor_left(
    state: StateDir, left_over: subprocess.Popen[bytes]
) -> None:
    StackRecord(
        "127.0.0.1", _dead_identity(), (_component("pipeline", _identity(left_over)),)
    ).save(state)
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1
    assert f"pipeline (pid {left_over.pid})" in result.output
    assert "continuum down" in result.output
    as_json = json.loads(CliRunner().invoke(cli, ["status", "--json"]).output)
    assert as_json["running"] is False
    assert as_json["left_over"] == [{"name": "pipeline", "pid": left_over.pid}]
    assert left_over.poll() is None  # status only looks


def test_up_refuses_to_start_over_a_live_stack(
    state: StateDir, left_over: subprocess.Popen[bytes]
) -> None:
    supervisor = _identity(left_over)
    StackRecord("127.0.0.1", supervisor, ()).save(state)
    result = CliRunner().invoke(cli, ["up"])
    assert result.exit_code != 0
    assert f"already running (supervisor pid {supervisor.pid})" in result.output
    assert "continuum down" in result.output
    assert left_over.poll() is None
    assert state.stack_path.exists()
