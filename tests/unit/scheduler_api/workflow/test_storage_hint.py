"""The @storage hint reaches placement: the engine prefers nodes holding the data in that kind."""

from __future__ import annotations

import pytest

from scheduler_api.placement import EngineConfig, NodeInfo
from scheduler_api.workflow import Dataset, Session, session, storage, task, wait_on
from tests.unit.scheduler_api.workflow.fakes import InlineExecutor

# Two copies of equal size: one held in memory on "ram-node", one on the disk of "disk-node".
IN_MEMORY = Dataset("frames", size_bytes=64 << 20, nodes=("ram-node",), storage="memory")
ON_DISK = Dataset("tiles", size_bytes=64 << 20, nodes=("disk-node",), storage="disk")


@storage("memory")
@task(returns=int)
def wants_memory(a: Dataset, b: Dataset) -> int:
    return 1


@storage("disk")
@task(returns=int)
def wants_disk(a: Dataset, b: Dataset) -> int:
    return 2


def _run(function: object) -> str:
    nodes = [NodeInfo("disk-node", cpu_cores=4), NodeInfo("ram-node", cpu_cores=4)]
    executor = InlineExecutor(nodes)
    with session(Session(executor, EngineConfig(mode="ready"))):
        wait_on(function(IN_MEMORY, ON_DISK))  # type: ignore[operator]
    [(_, node_id)] = executor.ran
    return node_id


@pytest.mark.parametrize(
    ("function", "node"), [(wants_memory, "ram-node"), (wants_disk, "disk-node")]
)
def test_the_hint_changes_the_chosen_node(function: object, node: str) -> None:
    # Equal nodes and equal transfers: only the storage component tells them apart.
    assert _run(function) == node


def test_the_datasets_reach_the_ranking_with_their_kind() -> None:
    from scheduler_api.workflow import to_specs
    from scheduler_api.workflow._dsl import TaskCall

    call = TaskCall("c1", wants_memory, (IN_MEMORY, ON_DISK), {}, datasets=(IN_MEMORY, ON_DISK))
    [spec] = to_specs([call], {})
    kinds = {d.id: d.storage for d in spec.requirements.datasets}
    assert kinds == {"frames": "memory", "tiles": "disk"}
    assert spec.requirements.storage == "memory"
