"""SIGKILL of `continuum up` (a closed terminal, the OOM killer) leaves nothing behind.

Each component gets its parent-death signal and ends within seconds; the record in the state
directory tells `continuum up` that the last supervisor died, and it then starts cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from continuum._processes import ProcessIdentity
from continuum._stack_record import StackRecord
from continuum._state import StateDir
from continuum.services import free_port

_PORT_NAMES = (
    "kafka",
    "prometheus",
    "alertmanager",
    "api",
    "agent",
    "pipeline",
    "probes",
    "containers",
)
# "Within seconds": every component handles SIGTERM with bounded flush timeouts.
_GONE_WITHIN_S = 20.0


def _wait(condition: Callable[[], Any], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what} within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start


def _processes_mentioning(text: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line or environment holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        identity = ProcessIdentity.of(int(entry.name))
        if text.encode() in blob and identity is not None and identity.alive():
            found.append(int(entry.name))
    return found


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "continuum", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _all_healthy(env: dict[str, str], up: subprocess.Popen[str], log: Path) -> bool:
    if up.poll() is not None:
        raise AssertionError(log.read_text())
    status = json.loads(_cli(env, "status", "--json").stdout)
    return bool(status["running"]) and all(c["status"] == "healthy" for c in status["components"])


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    for name in _PORT_NAMES:
        env[f"CONTINUUM_STACK__PORTS__{name.upper()}"] = str(free_port())
    env["CONTINUUM_STACK__AGENT_INTERVAL_S"] = "1"
    return env


def _up(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "continuum", "up"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def test_sigkill_of_the_supervisor_leaves_nothing_and_up_starts_again(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    state = StateDir(Path(stack_env["XDG_STATE_HOME"]) / "continuum")
    first_log, second_log = tmp_path / "up-1.log", tmp_path / "up-2.log"
    first = _up(stack_env, first_log)
    second: subprocess.Popen[str] | None = None
    try:
        _wait(lambda: _all_healthy(stack_env, first, first_log), 120, "every component healthy")
        record = StackRecord.load(state)
        assert record is not None
        started = [c.process for c in record.components if c.process is not None]
        assert len(started) == len(record.components) >= 6
        assert all(p.alive() for p in started)

        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=10)
        gone_after: dict[str, float] = {}

        def nothing_left() -> bool:
            for component in record.components:
                if component.process is not None and not component.process.alive():
                    gone_after.setdefault(component.name, time.monotonic() - killed_at)
            return len(gone_after) == len(started) and not _processes_mentioning(
                stack_env["XDG_STATE_HOME"]
            )

        took = _wait(nothing_left, _GONE_WITHIN_S, "nothing the killed supervisor started is left")
        timings = ", ".join(f"{name} {s:.1f} s" for name, s in sorted(gone_after.items()))
        print(f"all {len(started)} components gone {took:.1f} s after SIGKILL ({timings})")

        status = json.loads(_cli(stack_env, "status", "--json").stdout)
        assert status == {"running": False, "components": [], "left_over": []}

        second = _up(stack_env, second_log)
        _wait(lambda: _all_healthy(stack_env, second, second_log), 120, "healthy again")
        assert f"supervisor (pid {first.pid}) is dead" in second_log.read_text()
        assert "already in use" not in second_log.read_text()

        down = _cli(stack_env, "down")
        assert down.returncode == 0, down.stderr
        second.wait(timeout=60)
        assert _processes_mentioning(stack_env["XDG_STATE_HOME"]) == []
    finally:
        for up in (first, second):
            if up is not None and up.poll() is None:
                up.send_signal(signal.SIGINT)
                up.wait(timeout=60)
        # Nothing may outlive a failed test either.
        if StackRecord.load(state) is not None:
            _cli(stack_env, "down")
