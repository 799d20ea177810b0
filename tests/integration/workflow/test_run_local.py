"""End to end on the local executor: the squares example, as a script and through the CLI."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler_api.executors import LocalExecutor
from scheduler_api.placement import EngineConfig, Heuristic, NodeInfo
from scheduler_api.workflow import Session, WorkflowError, constraint, session, task, wait_on

pytestmark = pytest.mark.integration


@task(work_s=0.05)
def square(x: int) -> int:
    return x * x


@task()
def total(*values: int) -> int:
    return sum(values)


@task()
def crash_once(marker: str) -> str:
    # The first attempt kills its worker process outright; the retry finds the marker.
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(9)
    return "recovered"


@task()
def always_fails() -> None:
    raise RuntimeError("no luck")


def test_squares_example_runs_as_written(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "examples/squares.py"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sum(i * i for i in range(10)))


@pytest.mark.parametrize("heuristic", list(Heuristic))
def test_session_on_two_local_nodes(heuristic: Heuristic) -> None:
    nodes = [NodeInfo("left", cpu_cores=1), NodeInfo("right", cpu_cores=1)]
    active = Session(LocalExecutor(nodes), EngineConfig(heuristic=heuristic, mode="ready"))
    try:
        with session(active):
            assert wait_on(total(*[square(i) for i in range(6)])) == 55
    finally:
        active.close()
    used = {r.node_id for r in active.records.values() if r.name == "square"}
    assert used == {"left", "right"}
    assert all(r.state == "done" and r.end_s is not None for r in active.records.values())
    assert active.makespan_s > 0


def test_dead_worker_is_retried_and_retries_are_bounded(tmp_path: Path) -> None:
    active = Session(LocalExecutor([NodeInfo("a"), NodeInfo("b")]), EngineConfig(max_attempts=2))
    try:
        with session(active):
            assert wait_on(crash_once(str(tmp_path / "marker"))) == "recovered"
            with pytest.raises(WorkflowError, match="no luck"):
                wait_on(always_fails())
    finally:
        active.close()
    assert active.records["crash_once-1"].attempts == 2
    assert active.records["always_fails-1"].attempts == 2


def test_continuum_run_prints_schedule_and_writes_chart(repo_root: Path, tmp_path: Path) -> None:
    chart = tmp_path / "squares.svg"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(repo_root)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "continuum",
            "run",
            "examples/squares.py",
            "--heuristic",
            "lpt",
            "--executor",
            "local",
            "--api",
            "http://127.0.0.1:9",
            "--chart",
            str(chart),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "285"
    assert "placing on this machine alone" in result.stderr
    for square_id in ("square-1", "square-10", "total-1"):
        assert square_id in result.stderr
    assert "makespan:" in result.stderr
    assert f"Gantt chart: {chart}" in result.stderr.replace("\n", "")
    assert chart.read_text().lstrip().startswith("<?xml")
    assert "square" in chart.read_text()


@pytest.mark.parametrize("runner", ["python", "continuum run"])
def test_word_lengths_example(repo_root: Path, tmp_path: Path, runner: str) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "PYTHONPATH": str(repo_root)}
    command = [sys.executable, "examples/word_lengths.py"]
    if runner != "python":
        command = [sys.executable, "-m", "continuum", "run", "examples/word_lengths.py"]
        command += ["--heuristic", "heft", "--mode", "plan", "--api", "http://127.0.0.1:9"]
    result = subprocess.run(
        command, cwd=repo_root, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    # 848 words of the sample text, by length.
    assert result.stdout.strip() == "2: 50, 3: 399, 4: 149, 5: 200, 6: 50"


@constraint(cpu_cores=2)
@task(work_s=0.2)
def wide_nap() -> None:
    time.sleep(0.2)


@task(work_s=0.2)
def narrow_nap() -> None:
    time.sleep(0.2)


def test_cores_are_honoured_on_a_local_node() -> None:
    active = Session(LocalExecutor([NodeInfo("duo", cpu_cores=2)]), EngineConfig(mode="ready"))
    try:
        with session(active):
            wait_on([wide_nap() for _ in range(3)])
            wait_on([narrow_nap() for _ in range(4)])
    finally:
        active.close()
    spans = {
        name: sorted(
            (float(r.start_s or 0.0), float(r.end_s or 0.0))
            for r in active.records.values()
            if r.name == name
        )
        for name in ("wide_nap", "narrow_nap")
    }
    for (_, end), (start, _) in itertools.pairwise(spans["wide_nap"]):
        assert start >= end - 0.01  # two-core tasks on a two-core node never overlap
    narrow = spans["narrow_nap"]
    # One-core tasks go two at a time: the third starts after the first pair ends.
    assert narrow[1][0] < narrow[0][1]
    assert narrow[2][0] >= min(end for _, end in narrow[:2]) - 0.01
