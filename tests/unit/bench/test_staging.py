from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bench.sim import Assignment, ClusterView, build_continuum, simulate
from bench.sim._continuum import ORIGIN
from bench.sim._wfformat import parse_wfformat

_RUNTIME_S = 10.0


def _independent(inputs: Mapping[str, Sequence[str]], sizes: Mapping[str, int]) -> Any:
    """Independent tasks, each reading the named workflow inputs."""
    doc = {
        "name": "staging",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {
                "tasks": [
                    {"name": t, "id": t, "parents": [], "children": [], "inputFiles": list(f)}
                    for t, f in inputs.items()
                ],
                "files": [{"id": f, "sizeInBytes": s} for f, s in sizes.items()],
            },
            "execution": {"tasks": [{"id": t, "runtimeInSeconds": _RUNTIME_S} for t in inputs]},
        },
    }
    return parse_wfformat(doc, {})


class _Pinned:
    """Each task on the node the test chose."""

    name = "pinned"

    def __init__(self, where: Mapping[str, int]) -> None:
        self.where = where

    def start(self, view: ClusterView) -> None:
        return None

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        return [Assignment(t, self.where[t]) for t in ready]

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        return None


def test_transfers_into_one_edge_site_share_its_uplink() -> None:
    world = build_continuum(0)
    edge_a = [i for i, n in enumerate(world.nodes) if n.site == "edge-a"]
    size = 50 * 10**6
    uplink = world.site_links["edge-a"].bandwidth_bytes_s
    latency, alone_bw = world.path(ORIGIN, edge_a[0])
    assert alone_bw == uplink  # the thin uplink, not the access link, is the bottleneck

    alone = simulate(_independent({"a": ["fa"]}, {"fa": size}), world, _Pinned({"a": edge_a[0]}))
    assert alone.tasks["a"].start_s == pytest.approx(latency + size / uplink)

    both = simulate(
        _independent({"a": ["fa"], "b": ["fb"]}, {"fa": size, "fb": size}),
        world,
        _Pinned({"a": edge_a[0], "b": edge_a[1]}),
    )
    # Two nodes of one site, two different files: each gets half the uplink.
    for task in ("a", "b"):
        assert both.tasks[task].start_s == pytest.approx(latency + 2 * size / uplink)


def test_a_file_is_fetched_once_per_node_and_readers_wait_for_it_to_arrive() -> None:
    world = build_continuum(0)
    edge = next(i for i, n in enumerate(world.nodes) if n.tier == "edge" and n.cores >= 2)
    size = 20 * 10**6
    result = simulate(
        _independent({"a": ["db"], "b": ["db"]}, {"db": size}),
        world,
        _Pinned({"a": edge, "b": edge}),
    )
    arrival = world.transfer_s(ORIGIN, edge, size)
    # One transfer, both start when it arrived (not the second at once, not twice the bytes).
    assert result.bytes_moved == size
    assert result.tasks["a"].start_s == pytest.approx(arrival)
    assert result.tasks["b"].start_s == pytest.approx(arrival)


def test_a_copy_in_transit_is_not_a_source_for_other_nodes() -> None:
    world = build_continuum(0)
    cloud_a = [i for i, n in enumerate(world.nodes) if n.site == world.origin_site]
    size = 10**9
    result = simulate(
        _independent({"a": ["db"], "b": ["db"]}, {"db": size}),
        world,
        _Pinned({"a": cloud_a[0], "b": cloud_a[1]}),
    )
    # Both fetch from the store in parallel (separate streams, separate access links); the
    # second does not read from the first node before the file has arrived there.
    assert result.bytes_moved == 2 * size
    for task, node in (("a", cloud_a[0]), ("b", cloud_a[1])):
        assert result.tasks[task].start_s == pytest.approx(world.transfer_s(ORIGIN, node, size))
