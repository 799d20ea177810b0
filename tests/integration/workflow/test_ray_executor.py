"""The ray executor on a real two-node Ray cluster started on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler_api.placement import EngineConfig, NodeInfo
from scheduler_api.workflow import Session, WorkflowError, constraint, session, task, wait_on

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.integration


@task(work_s=0.05)
def where_square(x: int) -> tuple[int, str]:
    return x * x, ray.get_runtime_context().get_node_id()


@constraint(tier="edge")
@task()
def edge_only() -> str:
    return str(ray.get_runtime_context().get_node_id())


@task()
def total(*pairs: tuple[int, str]) -> int:
    return sum(value for value, _ in pairs)


@task()
def always_fails() -> None:
    raise RuntimeError("no luck on ray")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[dict[str, str]]:
    """Two Ray nodes, labelled as continuum nodes 'alpha' (cloud) and 'beta' (edge)."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {"continuum_node:alpha": 1},
            "include_dashboard": False,
        },
    )
    cluster.add_node(num_cpus=1, resources={"continuum_node:beta": 1})
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    cluster.wait_for_nodes()
    ids: dict[str, str] = {}
    for node in ray.nodes():
        for resource in node["Resources"]:
            if resource.startswith("continuum_node:"):
                ids[resource.split(":", 1)[1]] = node["NodeID"]
    yield ids
    ray.shutdown()
    cluster.shutdown()


def _session(**config: Any) -> Session:
    from scheduler_api.executors import RayExecutor

    nodes = [NodeInfo("alpha", tier="cloud"), NodeInfo("beta", tier="edge")]
    return Session(RayExecutor(nodes), EngineConfig(mode="ready", **config))


def test_tasks_run_on_the_ray_node_they_were_placed_on(ray_cluster: dict[str, str]) -> None:
    active = _session()
    with session(active):
        squares = [where_square(i) for i in range(6)]
        pairs = wait_on(squares)
        assert wait_on(total(*squares)) == 55
        assert wait_on(edge_only()) == ray_cluster["beta"]
    for future, (_, ray_node) in zip(squares, pairs, strict=True):
        placed = active.records[future.call_id].node_id
        assert ray_node == ray_cluster[placed]
    assert {active.records[f.call_id].node_id for f in squares} == {"alpha", "beta"}


def test_failures_are_retried_then_reported(ray_cluster: dict[str, str]) -> None:
    active = _session(max_attempts=2)
    with session(active), pytest.raises(WorkflowError, match="no luck on ray"):
        wait_on(always_fails())
    assert active.records["always_fails-1"].attempts == 2


def test_continuum_run_with_the_ray_executor(repo_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(repo_root)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "continuum",
            "run",
            "examples/squares.py",
            "--executor",
            "ray",
            "--api",
            "http://127.0.0.1:9",
            "--chart",
            str(tmp_path / "chart.png"),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "285"
    assert "makespan:" in result.stderr
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


@task()
def speaks_then_fails() -> None:
    print("ray says hello")
    print("ray warns", file=sys.stderr)
    raise RuntimeError("ray task broke")


def test_ray_workers_capture_each_attempts_output(ray_cluster: dict[str, str]) -> None:
    from scheduler_api.executors import LogCapture, RayExecutor
    from scheduler_api.workflow._logs import AttemptLog, LogRecordingExecutor

    seen: list[AttemptLog] = []
    nodes = [NodeInfo("alpha", tier="cloud"), NodeInfo("beta", tier="edge")]
    executor = RayExecutor(nodes, capture=LogCapture(max_bytes_per_stream=1 << 10))
    active = Session(LogRecordingExecutor(executor, seen.append), EngineConfig(max_attempts=2))
    with session(active), pytest.raises(WorkflowError, match="ray task broke"):
        wait_on(speaks_then_fails())
    assert [(a.attempt, a.ok) for a in seen] == [(1, False), (2, False)]
    for attempt in seen:
        assert attempt.stdout == "ray says hello\n"
        assert attempt.stderr == "ray warns\n"
        assert attempt.error.endswith("RuntimeError: ray task broke")
