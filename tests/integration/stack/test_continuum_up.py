"""`continuum up` as a user runs it: up, status, rank, restart of a dead component, down."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def _cli(
    env: dict[str, str], *args: str, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "continuum", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _wait(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout_s} s")


def _processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line or environment mentions ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(entry.name))
    return found


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    for name in _PORT_NAMES:
        env[f"CONTINUUM_STACK__PORTS__{name.upper()}"] = str(free_port())
    env["CONTINUUM_STACK__AGENT_INTERVAL_S"] = "1"
    return env


@pytest.fixture
def running_stack(stack_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "continuum", "up"],
        env=stack_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield up
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()
        log.close()


def _status(env: dict[str, str]) -> dict[str, Any]:
    result = _cli(env, "status", "--json")
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_up_status_rank_restart_down(
    stack_env: dict[str, str], running_stack: subprocess.Popen[str], tmp_path: Path
) -> None:
    def all_healthy() -> bool:
        if running_stack.poll() is not None:
            raise AssertionError((tmp_path / "up.log").read_text())
        status = _status(stack_env)
        return status["running"] and all(c["status"] == "healthy" for c in status["components"])

    _wait(all_healthy, 120, "every component healthy")
    names = {c["name"] for c in _status(stack_env)["components"]}
    assert {"kafka", "prometheus", "alertmanager", "pipeline", "api", "agent"} <= names

    token_path = Path(stack_env["XDG_STATE_HOME"]) / "continuum" / "token"
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    token = _cli(stack_env, "token", "show").stdout.strip()
    assert token == token_path.read_text().strip()

    api = f"http://127.0.0.1:{stack_env['CONTINUUM_STACK__PORTS__API']}"
    hostname = socket.gethostname()

    def ranked() -> str | None:
        result = _cli(stack_env, "rank", "--cpu", "1", "--memory", "64M", "--api", api)
        return result.stdout if result.returncode == 0 and hostname in result.stdout else None

    _wait(ranked, 60, "`continuum rank` lists this machine")
    nodes = _cli(stack_env, "nodes", "--api", api)
    assert nodes.returncode == 0, nodes.stderr
    assert hostname in nodes.stdout

    # A component that dies is restarted, and the supervisor says so.
    agent = next(
        c
        for c in json.loads(
            (Path(stack_env["XDG_STATE_HOME"]) / "continuum" / "run" / "stack.json").read_text()
        )["components"]
        if c["name"] == "agent"
    )
    os.kill(agent["pid"], signal.SIGKILL)
    _wait(
        lambda: "agent exited; restarting" in (tmp_path / "up.log").read_text(),
        30,
        "restart notice",
    )
    _wait(all_healthy, 60, "healthy again after the restart")

    down = _cli(stack_env, "down")
    assert down.returncode == 0, down.stderr
    running_stack.wait(timeout=60)
    assert _processes_mentioning(stack_env["XDG_STATE_HOME"]) == []
    assert _status(stack_env)["running"] is False


def test_taken_port_is_one_line_naming_it(stack_env: dict[str, str]) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", int(stack_env["CONTINUUM_STACK__PORTS__PROMETHEUS"])))
    holder.listen()
    try:
        result = _cli(stack_env, "up", timeout_s=30)
    finally:
        holder.close()
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    assert len(message) == 1, result.stderr
    assert stack_env["CONTINUUM_STACK__PORTS__PROMETHEUS"] in message[0]
    assert "prometheus" in message[0]
