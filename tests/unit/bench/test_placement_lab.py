"""The lab placement bench's parts that need no lab: scaling, load, baselines, store, task."""

from __future__ import annotations

import time

import pytest

from bench import placement_lab
from bench._lab_task import run_task
from bench.placement_lab import (
    REQUEST_CORES,
    FileStore,
    load_schedule,
    scale_workflow,
    shipped_workflow,
)


def test_a_trace_is_scaled_to_the_target_over_the_labs_cores() -> None:
    workflow = shipped_workflow("srasearch")
    tasks = scale_workflow(workflow, target_s=10.0, lab_cores=2.0, max_file_bytes=1 << 20)
    assert [t.id for t in tasks] == list(workflow.tasks)  # parents first, as in the trace
    # Every task burns at least 20 ms, so the total may exceed the target by a little.
    total = sum(t.cpu_s for t in tasks)
    assert 20.0 <= total <= 20.0 + 0.02 * len(tasks)
    sizes = [size for t in tasks for _, size in t.outputs]
    assert max(sizes) <= 1 << 20
    assert all(t.cpu_s >= 0.02 for t in tasks)
    by_id = {t.id: t for t in tasks}
    for task in workflow.tasks.values():
        assert by_id[task.id].parents == tuple(task.parents)


def test_the_load_schedule_depends_on_the_seed_alone_and_loads_one_node_hot() -> None:
    cores = {"edge-1": 0.6, "cloud-1": 0.6, "hpc-1": 0.8}
    first = load_schedule(3, cores, horizon_s=60.0, epoch_s=20.0)
    assert first == load_schedule(3, cores, horizon_s=60.0, epoch_s=20.0)
    assert first != load_schedule(4, cores, horizon_s=60.0, epoch_s=20.0)
    for at_s in (0.0, 20.0, 40.0, 60.0):
        epoch = {s.node: s.cpu / cores[s.node] for s in first if s.at_s == at_s}
        assert sorted(epoch.values()) == pytest.approx([0.1, 0.1, 0.5])
    assert {s.duration_s for s in first} == {20.0}


def test_least_allocated_spreads_requests_and_round_robin_cycles() -> None:
    caps = {"a": (1.0, 1 << 30), "b": (2.0, 2 << 30)}
    pick = placement_lab._chooser("kube-least-allocated", seed=1)
    assert pick(["a", "b"], {"a": 0.0, "b": 0.0}, caps) == "b"  # more free share
    assert pick(["a", "b"], {"a": 0.0, "b": 1.5}, caps) == "a"
    cycle = placement_lab._chooser("round-robin", seed=1)
    alloc = {"a": 0.0, "b": 0.0}
    assert [cycle(["a", "b"], alloc, caps) for _ in range(3)] == ["a", "b", "a"]
    assert cycle(["b"], alloc, caps) == "b"
    with pytest.raises(ValueError, match="unknown scheduler"):
        placement_lab._chooser("fifo", seed=1)
    assert REQUEST_CORES < 1  # a node of under one core fits one task


def test_a_task_reads_its_inputs_and_writes_its_outputs_through_the_store() -> None:
    store = FileStore("127.0.0.1")
    try:
        store.sizes["run/in.dat"] = 300_000
        spec = {
            "store": f"{store.url}/run",
            "inputs": ["in.dat"],
            "outputs": [["out.dat", 120_000], ["empty.dat", 0]],
            "cpu_s": 0.05,
        }
        started = time.process_time()
        assert run_task(spec, {"parent": "value"}) == {"read": 300_000, "written": 120_000}
        assert time.process_time() - started >= 0.05
        assert store.sizes["run/out.dat"] == 120_000
        assert store.sizes["run/empty.dat"] == 0
        with pytest.raises(OSError, match="404"):
            run_task({**spec, "inputs": ["missing.dat"]})
    finally:
        store.close()


def test_the_figures_pair_ours_with_each_baseline_by_workflow_and_seed() -> None:
    class Node:
        def __init__(self, node_id: str) -> None:
            self.node_id, self.tier, self.cpu_cores = node_id, "edge", 0.6
            self.site = type("Site", (), {"nat": True})()

    lab = type("L", (), {"topology": type("T", (), {"nodes": [Node("edge-1")]})()})()
    target = placement_lab.LabTarget(lab, "http://x", "t", "b")  # type: ignore[arg-type]
    runs = [
        placement_lab._Run("wf", 1, "ours-heft", 10.0),
        placement_lab._Run("wf", 1, "round-robin", 20.0),
        placement_lab._Run("wf", 2, "ours-heft", 30.0),
        placement_lab._Run("wf", 2, "round-robin", 20.0),
        placement_lab._Run("wf", 3, "ours-heft", None, error="WorkflowError: no live node"),
        placement_lab._Run("wf", 3, "round-robin", 20.0),
    ]
    figures = placement_lab._figures(
        runs, ["ours-heft", "round-robin"], target, 10.0, 5.0, 1 << 20, 0.5, 0.1
    )
    assert figures["ours_vs_round_robin_median"] == pytest.approx(1.0)  # median of 0.5 and 1.5
    assert figures["ours_vs_round_robin_runs"] == 2
    assert figures["failed"] == 1
    assert figures["median_makespan_s"] == {"ours-heft": 20.0, "round-robin": 20.0}
    assert figures["runs"][4]["error"].startswith("WorkflowError")


def test_the_bench_lab_fits_two_cores_with_nodes_the_policy_can_use() -> None:
    from continuum.lab import load_topology

    topology = load_topology(placement_lab.LAB_TOPOLOGY)
    assert sum(n.cpu_cores for n in topology.nodes) <= 2.0
    assert {n.tier for n in topology.nodes} == {"edge", "cloud", "hpc"}
    assert any(n.site.nat for n in topology.nodes)
    # Above half a core with room for the agents' own load and its deviation (docs/lab.md).
    assert min(n.cpu_cores for n in topology.nodes) >= 0.65
    assert all(n.cpu_cores >= REQUEST_CORES for n in topology.nodes)
