"""Topology files: defaults, derived addresses, and errors that name the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from continuum.lab import TopologyError, default_topology, load_topology, topology_from_dict
from continuum.lab._topology import DEFAULT_SPEC


def _spec(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(DEFAULT_SPEC)
    spec.update(changes)
    return spec


def test_default_lab_is_two_edge_two_cloud_one_hpc_within_two_cores() -> None:
    topology = default_topology(host_cores=2)
    tiers = [node.tier for node in topology.nodes]
    assert sorted(tiers) == ["cloud", "cloud", "edge", "edge", "hpc"]
    assert sum(node.cpu_cores for node in topology.nodes) <= 2.0
    assert all(node.site.nat for node in topology.nodes if node.tier == "edge")


def test_addresses_are_derived_inside_the_lab_subnet() -> None:
    topology = default_topology(host_cores=2)
    assert topology.root_address == "10.213.0.1"
    assert topology.router_address == "10.213.0.2"
    edge_1, edge_2 = topology.node("edge-1"), topology.node("edge-2")
    assert (edge_1.address, edge_2.address, edge_1.gateway) == (
        "10.213.1.10",
        "10.213.1.11",
        "10.213.1.1",
    )
    assert topology.node("hpc-1").address == "10.213.3.10"
    assert all(n.address.startswith("10.213.") for n in topology.nodes)
    assert topology.kafka_bootstrap == "10.213.0.1:9092"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Lab!"}, "name:"),
        ({"subnet": "8.8.0.0/16"}, "subnet:"),
        ({"subnet": "10.213.0.0/24"}, "subnet:"),
        ({"tiers": {"edge": {"rate": "fast"}}}, "tiers.edge.rate:"),
        ({"tiers": {"fog": {"rate": "1mbit"}}}, "tiers.fog"),
        ({"sites": [{"name": "edge-a", "tier": "mist"}]}, "sites[edge-a].tier:"),
    ],
)
def test_a_wrong_key_is_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TopologyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        topology_from_dict(_spec(**changes), host_cores=2)


def test_node_errors_name_the_node() -> None:
    spec = _spec()
    spec["nodes"][1] = {"id": "edge-2", "site": "nowhere", "cpu": 0.25, "memory": "256M"}
    with pytest.raises(TopologyError, match=r"^nodes\[edge-2\]\.site: no site 'nowhere'"):
        topology_from_dict(spec, host_cores=2)
    spec = _spec()
    spec["nodes"][0]["memory"] = "64M"
    with pytest.raises(TopologyError, match=r"^nodes\[edge-1\]\.memory: at least"):
        topology_from_dict(spec, host_cores=2)
    spec = _spec()
    spec["nodes"][0]["cpus"] = 1
    with pytest.raises(TopologyError, match=r"^nodes\[edge-1\]\.cpus: Extra inputs"):
        topology_from_dict(spec, host_cores=2)


def test_cpu_quotas_may_not_exceed_the_machine() -> None:
    with pytest.raises(TopologyError, match=r"^nodes: CPU quotas sum to 2 cores, more than"):
        default_topology(host_cores=1)


def test_files_are_read_and_bad_yaml_is_said(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "name: small\nsites: [{name: c, tier: cloud}]\n"
        "nodes: [{id: c1, site: c, cpu: 0.5, memory: 256M}]\n"
    )
    topology = load_topology(path, host_cores=2)
    assert [(n.node_id, n.memory_bytes) for n in topology.nodes] == [("c1", 256 << 20)]
    path.write_text("nodes: [")
    with pytest.raises(TopologyError, match="not valid YAML"):
        load_topology(path)
    with pytest.raises(TopologyError, match="No such file"):
        load_topology(tmp_path / "missing.yaml")
