"""The lab as a continuum: three unequal nodes, one behind NAT, real agents and workers.

One lab serves the module, in order: rankings over cgroup capacities, the NAT'd edge node's
telemetry and tasks, peers found in the inventory, `continuum run --executor pull` placing a
workflow with the shipped policy onto the workers (the edge's included) with its history and
task logs, a node killed mid-workflow, and a teardown that leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from continuum.lab import Lab
from continuum.lab._daemons import AGENT_PORT, DATA_PORT
from continuum.services import wait_until
from scheduler_api import snapshot_of
from scheduler_api.executors import ApiCatalogue, PullExecutor
from scheduler_api.placement import NodeInfo, PlacementPolicy
from scheduler_api.workflow import Session, session, wait_on
from tests.integration.lab import pull_workflow, workload
from tests.integration.lab.conftest import LabStack

LAB_NODES = {"edge-1", "cloud-1", "hpc-1"}
PULL_WORKFLOW = Path(pull_workflow.__file__)


def _fresh(stack: LabStack) -> dict[str, dict[str, Any]]:
    nodes = stack.nodes()
    return {k: v for k, v in nodes.items() if k in LAB_NODES and v.get("health") == "healthy"}


def _node_infos(stack: LabStack, executor: PullExecutor | None = None) -> list[NodeInfo]:
    infos = [
        NodeInfo(
            node_id=node_id,
            cpu_cores=max(1, int(item["capacity"]["cpu_cores"])),
            memory_bytes=int(item["capacity"]["memory_bytes"]),
            tier=item["tier"],
            site=item["site"],
        )
        for node_id, item in _fresh(stack).items()
    ]
    return executor.live(infos) if executor is not None else infos


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.5):
            return True
    except OSError:
        return False


def test_api_ranks_three_nodes_with_their_cgroup_capacities(lab_stack: LabStack) -> None:
    wait_until(lambda: set(_fresh(lab_stack)) == LAB_NODES, 90, "three fresh lab nodes")
    nodes = lab_stack.nodes()
    for node in lab_stack.topology.nodes:
        capacity = nodes[node.node_id]["capacity"]
        assert capacity["cpu_cores"] == node.cpu_cores
        assert capacity["memory_bytes"] == node.memory_bytes
        assert nodes[node.node_id]["tier"] == node.tier
    response = httpx.post(
        lab_stack.api_url + "/v1/rankings",
        # Oversubscription allowed: the nodes' own agents are starting, and busy is not the point.
        json={"cpu_cores": 0.2, "memory_bytes": 64 << 20, "allow_oversubscribe": True},
        headers=lab_stack.stack.headers(),
        timeout=5.0,
    )
    response.raise_for_status()
    ranked = {r["node"]: r for r in response.json()["ranked"]}
    assert set(ranked) >= LAB_NODES
    for node in lab_stack.topology.nodes:
        assert ranked[node.node_id]["capacity"]["cpu_cores"] == node.cpu_cores


def test_edge_behind_nat_reports_and_runs_tasks_though_nothing_reaches_it(
    lab_stack: LabStack,
) -> None:
    wait_until(lambda: "edge-1" in _fresh(lab_stack), 90, "edge-1 telemetry")
    edge, cloud = lab_stack.topology.node("edge-1"), lab_stack.topology.node("cloud-1")
    # The edge agent listens, but behind NAT; the cloud node's agent, equally up, is reachable.
    assert _connects(cloud.address, AGENT_PORT)
    assert not _connects(edge.address, AGENT_PORT)
    executor = PullExecutor(
        _node_infos(lab_stack), kafka_options={"bootstrap_servers": [lab_stack.tansu.bootstrap]}
    )
    active = Session(executor)
    try:
        with session(active):
            assert wait_on(workload.on_edge(41)) == 42
    finally:
        active.close()
    finished = [e for e in executor.events if e.kind == "finished"]
    assert [(e.node, e.task) for e in finished] == [("edge-1", finished[0].task)]
    event = finished[0]
    assert event.cpu_s >= 0.2  # its busy loop, charged to the task
    assert event.wall_s >= event.cpu_s / edge.cpu_cores * 0.8  # under the edge node's quota
    assert event.peak_memory_bytes > 1 << 20


def test_probe_agents_find_their_peers_in_the_inventory(lab_stack: LabStack) -> None:
    def probed() -> set[tuple[str, str]]:
        found = lab_stack.prometheus.query('continuum_probe_success{probe=~"peer-.*"} == 1')
        return {(s["metric"]["node"], s["metric"]["peer"]) for s in found}

    # No peer list was written: each node dials every other it can reach, and not the NAT'd one.
    expected = {
        ("cloud-1", "hpc-1"),
        ("hpc-1", "cloud-1"),
        ("edge-1", "cloud-1"),
        ("edge-1", "hpc-1"),
    }
    wait_until(lambda: probed() >= expected, 90, "peer probes from the inventory")
    assert not {pair for pair in probed() if pair[1] == "edge-1" or pair[0] == pair[1]}


def _placeable(stack: LabStack) -> dict[str, bool]:
    """Whether the shipped placement policy would give each lab node work now."""
    policy = PlacementPolicy()
    nodes = stack.get("/v1/nodes").json()["nodes"]
    views = [snapshot_of(n) for n in nodes if n["id"] in LAB_NODES]
    return {v.id: policy.node_info(v).healthy for v in views}


def test_continuum_run_pull_places_with_the_shipped_policy_and_the_workers_run_it(
    lab_stack: LabStack, tmp_path: Path
) -> None:
    # The agents' start-up load leaves a five-minute deviation the policy adds as headroom.
    placeable = lambda: {k for k, ok in _placeable(lab_stack).items() if ok}  # noqa: E731
    wait_until(lambda: placeable() == LAB_NODES, 150, "every lab node placeable")
    env = {
        **os.environ,
        "CONTINUUM_KAFKA__BOOTSTRAP_SERVERS": lab_stack.tansu.bootstrap,
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    argv = [sys.executable, "-m", "continuum", "run", str(PULL_WORKFLOW), "--executor", "pull"]
    argv += ["--api", lab_stack.api_url, "--token", lab_stack.stack.token]
    argv += ["--chart", str(tmp_path / "gantt.svg")]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, (done.stderr, _placeable(lab_stack), lab_stack.nodes())
    assert done.stdout.split() == ["14"]  # (0+1)^2 + (1+1)^2 + (2+1)^2
    assert (tmp_path / "gantt.svg").stat().st_size > 0
    run_id = re.search(r"continuum logs (\w+)", done.stderr)
    assert run_id, done.stderr
    history = lab_stack.get(f"/v1/placements/{run_id[1]}").json()
    placed = {t["task_id"]: t["node"] for t in history["transitions"] if t["state"] == "placed"}
    finished = {t["task_id"]: t for t in history["transitions"] if t["state"] == "finished"}
    assert set(finished) == set(placed)
    assert len(finished) == 2 * pull_workflow.READINGS + 1
    assert {t["node"] for t in finished.values()} <= LAB_NODES
    # The edge readings ran behind NAT, on the worker that pulled them.
    assert {t["node"] for t in finished.values() if t["name"] == "sense"} == {"edge-1"}
    for t in finished.values():
        if t["name"] != "total":  # measured where it ran, from the one task-event record
            assert t["cpu_s"] >= 0.15, t
    logs = lab_stack.get(f"/v1/workflows/{run_id[1]}/logs").json()["attempts"]
    senses = {a["task_id"]: a for a in logs if a["task_id"].startswith("sense")}
    assert len(senses) == pull_workflow.READINGS
    for attempt in senses.values():
        assert attempt["node"] == "edge-1"
        assert re.fullmatch(r"sense \d\n", attempt["stdout"]), attempt
        assert attempt["cpu_s"] >= 0.15
        assert attempt["peak_memory_bytes"] > 1 << 20


def test_data_moves_between_nodes_over_their_links_and_the_catalogue_says_where(
    lab_stack: LabStack,
) -> None:
    """A cloud node makes a dataset; the NAT'd edge fetches it from that peer and, reachable
    by no one, puts its digest in the store; the HPC node reads both from where they are."""
    wait_until(lambda: set(_fresh(lab_stack)) == LAB_NODES, 90, "three fresh lab nodes")
    executor = PullExecutor(
        _node_infos(lab_stack),
        kafka_options={"bootstrap_servers": [lab_stack.tansu.bootstrap]},
        catalogue=ApiCatalogue(lab_stack.api_url, lab_stack.stack.token),
    )
    size = 1 << 20
    sample_id, digest_id = f"sample-{executor.workflow_id}", f"digest-{executor.workflow_id}"
    active = Session(executor)
    try:
        with session(active):
            made = workload.sample(sample_id, size)
            result = wait_on(workload.verify(workload.summarise(made, digest_id), made))
    finally:
        active.close()
    assert result == {"named": sample_id, "bytes": size, "same": True}
    ended = {e.task.split("-")[0]: e for e in executor.events if e.kind == "finished"}
    assert {k: e.node for k, e in ended.items()} == {
        "sample": "cloud-1",
        "summarise": "edge-1",
        "verify": "hpc-1",
    }
    assert ended["sample"].fetched_bytes == 0
    # Fetched once, over the edge's shaped link, from the first location that answered
    # (cloud-1's data server, then the store).
    assert ended["summarise"].fetched_bytes == size
    assert ended["summarise"].published_bytes > 0  # into the store: nothing reaches edge-1
    assert ended["verify"].fetched_bytes > size
    store, cloud = lab_stack.topology.store_url, lab_stack.topology.node("cloud-1").address
    sample_entry = lab_stack.get(f"/v1/datasets/{sample_id}").json()
    assert sample_entry["nodes"] == ["cloud-1"]
    assert sample_entry["size_bytes"] == size
    assert sample_entry["urls"] == [
        f"http://{cloud}:{DATA_PORT}/v1/data/{sample_id}",
        f"{store}/v1/data/{sample_id}",
    ]
    digest_entry = lab_stack.get(f"/v1/datasets/{digest_id}").json()
    assert (digest_entry["nodes"], digest_entry["urls"]) == (
        ["edge-1"],
        [f"{store}/v1/data/{digest_id}"],
    )


def test_a_node_killed_mid_workflow_alerts_and_its_tasks_finish_elsewhere(
    lab_stack: LabStack,
) -> None:
    wait_until(lambda: set(_fresh(lab_stack)) == LAB_NODES, 90, "three fresh lab nodes")
    executor = PullExecutor(
        _node_infos(lab_stack), kafka_options={"bootstrap_servers": [lab_stack.tansu.bootstrap]}
    )
    active = Session(executor, node_source=lambda: _node_infos(lab_stack, executor), refresh_s=1.0)
    result: dict[str, Any] = {}

    def drive() -> None:
        try:
            with session(active):
                result["value"] = wait_on(workload.gather(*[workload.crunch(i) for i in range(8)]))
        except BaseException as err:  # reported by the test thread
            result["error"] = err

    runner = threading.Thread(target=drive, name="workflow")
    runner.start()
    try:

        def running_on_cloud() -> bool:
            events = list(executor.events)
            ended = {e.task for e in events if e.kind != "started"}
            return any(
                e.kind == "started" and e.node == "cloud-1" and e.task not in ended for e in events
            )

        wait_until(running_on_cloud, 120, "a task running on cloud-1")
        lab_stack.lab.kill("cloud-1")
        runner.join(180)
        assert not runner.is_alive(), "the workflow did not finish after the kill"
    finally:
        active.close()
    assert "error" not in result, result.get("error")
    assert result["value"] == 8
    finished = [e for e in executor.events if e.kind == "finished"]
    on_cloud = {e.task for e in executor.events if e.kind == "started" and e.node == "cloud-1"}
    # Cut short by the kill: started on cloud-1, never finished there.
    cut = on_cloud - {e.task for e in finished if e.node == "cloud-1"}
    assert cut, "the kill caught no task running on cloud-1"
    assert {e.task for e in finished} >= cut
    for task_id in cut:
        assert next(e.node for e in finished if e.task == task_id) != "cloud-1"

    def node_down_alert() -> bool:
        unhealthy = lab_stack.get("/v1/alerts").json()["unhealthy"]
        return "ContinuumNodeDown" in unhealthy.get("cloud-1", [])

    wait_until(node_down_alert, 60, "ContinuumNodeDown for cloud-1")


def test_down_leaves_no_namespace_link_cgroup_or_process(lab_stack: LabStack) -> None:
    lab: Lab = lab_stack.lab
    record = lab._record()
    pids = [p for p in record.processes]
    cgroups = [Path(p) for p in record.cgroups]
    assert lab.down() == []
    namespaces = Path("/run/netns")
    prefix = f"continuum-{lab_stack.topology.name}-"
    assert not [p.name for p in namespaces.iterdir() if p.name.startswith(prefix)]
    assert not Path(f"/sys/class/net/c{lab_stack.topology.name}-root").exists()
    assert not [p for p in cgroups if p.exists()]
    assert not [p for p in pids if p.alive()]
