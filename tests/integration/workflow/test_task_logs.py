"""A workflow with a failing task, run by `continuum run` against the live stack: each attempt's
output is kept with its failure reason and served by the API and by `continuum logs`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from continuum.services import wait_until
from tests.integration.conftest import LiveStack

_WORKFLOW = """
import os
import sys

from scheduler_api.workflow import task, wait_on


@task()
def greet(name: str) -> str:
    print(f"hello {name}, the password is {os.environ['LOG_SECRET']}")
    return name


@task()
def doomed() -> None:
    print("checking the disk", file=sys.stderr)
    raise RuntimeError("disk on fire")


print(wait_on([greet("ada"), doomed()]))
"""
_SECRET = "correct-horse-battery-staple"


def _continuum(
    repo_root: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "continuum", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _listed(stack: LiveStack) -> bool:
    response = httpx.get(f"{stack.api_url}/v1/nodes", headers=stack.headers(), timeout=5)
    return response.status_code == 200 and bool(response.json()["nodes"])


def test_failed_task_logs_by_api_and_cli(
    live_stack: LiveStack, repo_root: Path, tmp_path: Path
) -> None:
    wait_until(lambda: _listed(live_stack), 60, "the live node in the API")
    workflow = tmp_path / "doomed.py"
    workflow.write_text(_WORKFLOW)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")},
        "PYTHONPATH": str(repo_root),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "LOG_SECRET": _SECRET,
        "CONTINUUM_API__TASK_LOGS__REDACT_ENV": '["LOG_SECRET"]',
    }
    api = ["--api", live_stack.api_url, "--token", live_stack.token]
    run = _continuum(repo_root, env, "run", str(workflow), "--retries", "1", *api)
    assert run.returncode == 1, run.stderr
    assert "disk on fire" in run.stderr
    found = re.search(r"task logs: continuum logs ([0-9a-f]{32})", run.stderr.replace("\n", ""))
    assert found, run.stderr
    run_id = found.group(1)

    base = f"{live_stack.api_url}/v1/workflows/{run_id}"
    doomed = httpx.get(f"{base}/tasks/doomed-1/logs", headers=live_stack.headers(), timeout=5)
    attempts = doomed.json()["attempts"]
    assert [(a["attempt"], a["ok"]) for a in attempts] == [(1, False), (2, False)]
    for attempt in attempts:
        assert attempt["stderr"] == "checking the disk\n"
        assert attempt["error"].endswith("RuntimeError: disk on fire")
        assert attempt["node"] == live_stack.node_id
    greet = httpx.get(f"{base}/tasks/greet-1/logs", headers=live_stack.headers(), timeout=5)
    (greeted,) = greet.json()["attempts"]
    assert greeted["ok"]
    assert greeted["stdout"] == "hello ada, the password is [REDACTED]\n"
    # What each task used against what it asked for.
    efficiency = httpx.get(f"{base}/efficiency", headers=live_stack.headers(), timeout=5).json()
    assert [(t["task_id"], t["cpu_cores_requested"]) for t in efficiency["per_task"]] == [
        ("doomed-1", 1),
        ("greet-1", 1),
    ]
    assert all(t["peak_memory_bytes"] > 0 for t in efficiency["per_task"])
    # The failure reason sits in the placement history too.
    history = httpx.get(
        f"{live_stack.api_url}/v1/placements/{run_id}", headers=live_stack.headers(), timeout=5
    ).json()
    failed = [t for t in history["transitions"] if t["state"] == "failed"]
    assert len(failed) == 2
    assert all("disk on fire" in t["detail"] for t in failed)

    shown = _continuum(repo_root, env, "logs", run_id, "doomed-1", *api)
    assert shown.returncode == 0, shown.stderr
    assert f"=== doomed-1 attempt 2 on {live_stack.node_id}: failed" in shown.stdout
    assert "--- stderr ---\nchecking the disk\n--- failure ---\nTraceback" in shown.stdout
    assert shown.stdout.rstrip().endswith("RuntimeError: disk on fire")
    everything = _continuum(repo_root, env, "logs", run_id, *api)
    assert "hello ada, the password is [REDACTED]" in everything.stdout
    assert _SECRET not in everything.stdout
