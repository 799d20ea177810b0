"""continuum run reports deadlines: a task no node can finish in time, and one that ran late."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKFLOW = """
import time
from scheduler_api.workflow import constraint, task, wait_on


@constraint(deadline=0.05)
@task(returns=int, work_s=5.0)
def hopeless() -> int:
    return 1


@constraint(deadline=0.2)
@task(returns=int, work_s=0.01)
def late() -> int:
    time.sleep(0.5)
    return 2


if __name__ == "__main__":
    wait_on(late())
    try:
        wait_on(hopeless())
    except Exception as err:
        print("gave up:", err)
"""


def test_run_reports_a_deadline_that_cannot_be_met_and_one_that_was_missed(
    tmp_path: Path, repo_root: Path
) -> None:
    script = tmp_path / "deadlines.py"
    script.write_text(WORKFLOW)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), PYTHONPATH=str(repo_root), COLUMNS="200")
    result = subprocess.run(
        [sys.executable, "-m", "continuum", "run", str(script), "--api", "http://127.0.0.1:9",
         "--chart", str(tmp_path / "chart.svg"), "--no-task-metrics"],
        capture_output=True, text=True, timeout=120, env=env, cwd=repo_root,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "deadline missed: late-1 finished at" in output, output
    assert "after its deadline" in output
    assert "deadline cannot be met: hopeless-1: deadline: earliest estimated finish" in output
    assert result.returncode == 0, output
