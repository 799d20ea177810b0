"""The PyCOMPSs-style example runs as written: as a script, and under `continuum run` with each
executor (``pull`` through a real Tansu broker and a `continuum agent worker`)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from continuum.services import TansuBroker

pytestmark = pytest.mark.integration

# 1² + 2² + ... + 100², split into four parts squared in parallel, then summed.
EXPECTED = str(sum(i * i for i in range(1, 101)))
_EXECUTORS = [
    "local",
    pytest.param(
        "ray",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("ray") is None, reason="the ray executor needs ray"
        ),
    ),
]


def _env(repo_root: Path, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(repo_root)}


def test_compss_style_example_runs_as_a_script(repo_root: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "examples/compss_style.py"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(repo_root, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == EXPECTED


def _run_example(repo_root: Path, tmp_path: Path, executor: str, env: dict[str, str]) -> str:
    """``continuum run`` of the example with ``executor``; its stderr (the schedule)."""
    command = [sys.executable, "-m", "continuum", "run", "examples/compss_style.py"]
    command += ["--executor", executor, "--api", "http://127.0.0.1:9"]
    command += ["--chart", str(tmp_path / "chart.svg"), "--no-task-metrics"]
    result = subprocess.run(
        command, cwd=repo_root, capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == EXPECTED
    for task_id in ("square_part-1", "square_part-4", "add_up-1"):
        assert task_id in result.stderr
    return result.stderr


@pytest.mark.parametrize("executor", _EXECUTORS)
def test_compss_style_example_under_continuum_run(
    repo_root: Path, tmp_path: Path, executor: str
) -> None:
    _run_example(repo_root, tmp_path, executor, _env(repo_root, tmp_path))


def test_compss_style_example_under_continuum_run_with_pull_workers(
    repo_root: Path, tmp_path: Path, fresh_tansu: TansuBroker
) -> None:
    # No API answers: continuum run places on this machine alone, by its host name, so the
    # worker takes that node's assignments (topic continuum.tasks.<host>) from the broker.
    node_id = socket.gethostname()
    env = _env(repo_root, tmp_path)
    env["CONTINUUM_KAFKA__BOOTSTRAP_SERVERS"] = fresh_tansu.bootstrap
    worker_env = {
        **env,
        "CONTINUUM_IDENTITY__NODE_ID": node_id,
        "CONTINUUM_WORKER__WORKDIR": str(tmp_path / "worker"),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "continuum", "agent", "worker"],
        cwd=repo_root,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        stderr = _run_example(repo_root, tmp_path, "pull", env)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    # Each task ran once, on the worker's node: the pull executor ends an attempt only on the
    # worker's task event, and none timed out and was re-run.
    rows = {
        cells[0]: cells[1:]
        for line in stderr.splitlines()
        if line.startswith("│")
        for cells in [[cell.strip() for cell in line.strip("│").split("│")]]
    }
    assert set(rows) == {f"square_part-{i}" for i in range(1, 5)} | {"add_up-1"}, stderr
    for task_id, (node, _start, _end, attempts, state, _cost) in rows.items():
        assert (node, attempts, state) == (node_id, "1", "done"), task_id
