"""`continuum up` with ``stack.storage: victoriametrics``: VictoriaMetrics and vmalert instead of
Prometheus, state under the state directory, the node ranked from the store, everything gone
after `continuum down`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from continuum.services import free_port, wait_until

_PORT_NAMES = (
    "kafka",
    "prometheus",
    "vmalert",
    "alertmanager",
    "api",
    "agent",
    "pipeline",
    "probes",
    "containers",
)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "continuum", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    for name in _PORT_NAMES:
        env[f"CONTINUUM_STACK__PORTS__{name.upper()}"] = str(free_port())
    env["CONTINUUM_STACK__AGENT_INTERVAL_S"] = "1"
    env["CONTINUUM_STACK__STORAGE"] = "victoriametrics"
    # The core path only: this test is about the store.
    env["CONTINUUM_STACK__COMPONENTS__CONTAINERS"] = "false"
    env["CONTINUUM_STACK__COMPONENTS__PROBES"] = "false"
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
    loaded: dict[str, Any] = json.loads(_cli(env, "status", "--json").stdout)
    return loaded


def test_up_on_victoriametrics_ranks_the_node_from_it(
    stack_env: dict[str, str], running_stack: subprocess.Popen[str], tmp_path: Path
) -> None:
    def all_healthy() -> bool:
        if running_stack.poll() is not None:
            raise AssertionError((tmp_path / "up.log").read_text())
        status = _status(stack_env)
        return status["running"] and all(c["status"] == "healthy" for c in status["components"])

    wait_until(all_healthy, 120, "every component healthy", interval_s=0.5)
    names = {c["name"] for c in _status(stack_env)["components"]}
    assert {"victoria-metrics", "vmalert", "alertmanager", "pipeline", "api", "agent"} <= names
    assert "prometheus" not in names
    # Its data lives under the state directory.
    state = Path(stack_env["XDG_STATE_HOME"]) / "continuum"
    assert (state / "victoria-metrics" / "data").is_dir()

    store = f"http://127.0.0.1:{stack_env['CONTINUUM_STACK__PORTS__PROMETHEUS']}"
    api = f"http://127.0.0.1:{stack_env['CONTINUUM_STACK__PORTS__API']}"
    token = _cli(stack_env, "token", "show").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}

    def ranked() -> list[str]:
        answer = httpx.post(
            f"{api}/v1/rankings",
            json={"cpu_cores": 1, "allow_oversubscribe": True},
            headers=headers,
            timeout=10,
        ).json()
        return [n["node"] for n in answer.get("ranked", [])]

    wait_until(lambda: bool(ranked()), 90, "the node ranked from VictoriaMetrics", interval_s=1)

    def recorded() -> bool:
        # vmalert ran the shipped recording rules on what the pipeline wrote.
        body = httpx.get(f"{store}/api/v1/query", params={"query": "continuum:node_up"}).json()
        return bool(body["data"]["result"])

    wait_until(recorded, 90, "continuum:node_up recorded by vmalert", interval_s=1)

    assert _cli(stack_env, "down").returncode == 0
    running_stack.wait(timeout=60)
    assert not _status(stack_env)["running"]
