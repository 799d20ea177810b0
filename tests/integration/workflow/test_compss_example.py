"""The PyCOMPSs-style example runs as written: as a script, and under `continuum run` with each
executor."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("executor", _EXECUTORS)
def test_compss_style_example_under_continuum_run(
    repo_root: Path, tmp_path: Path, executor: str
) -> None:
    command = [sys.executable, "-m", "continuum", "run", "examples/compss_style.py"]
    command += ["--executor", executor, "--api", "http://127.0.0.1:9"]
    command += ["--chart", str(tmp_path / "chart.svg")]
    result = subprocess.run(
        command,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(repo_root, tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == EXPECTED
    for task_id in ("square_part-1", "square_part-4", "add_up-1"):
        assert task_id in result.stderr
