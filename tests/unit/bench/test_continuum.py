from __future__ import annotations

import numpy as np
import pytest

from bench.sim import build_continuum
from bench.sim._continuum import HISTORY_S, HISTORY_STEPS, LOAD_STEP_S, ORIGIN, Continuum
from bench.sim._monitor import REFRESH_RANGE_S, Monitor


def test_same_seed_same_world_and_load() -> None:
    a, b, c = build_continuum(4), build_continuum(4), build_continuum(5)
    assert a.nodes == b.nodes
    assert a.nodes != c.nodes
    # Asking for a late time first must not change the trace (chunks extend in order).
    late = a.background(3, 9_000.0)
    assert [a.background(3, t) for t in (0.0, 500.0)] == [b.background(3, t) for t in (0.0, 500.0)]
    assert b.background(3, 9_000.0) == late


def test_tiers_differ_and_load_stays_in_range() -> None:
    world = build_continuum(1)
    tiers = {n.tier for n in world.nodes}
    assert tiers == {"edge", "cloud", "hpc"}
    edge = [n for n in world.nodes if n.tier == "edge"]
    hpc = [n for n in world.nodes if n.tier == "hpc"]
    assert max(n.cores for n in edge) < min(n.cores for n in hpc)
    assert max(n.speed for n in edge) < min(n.speed for n in hpc)
    loads = world.background_steps(0, 0, 2_000)
    assert loads.min() >= 0.0
    assert loads.max() <= 0.97
    assert loads.std() > 0.01  # it varies over time


def test_links_prefer_local_paths() -> None:
    world = build_continuum(2)
    edge_a = [i for i, n in enumerate(world.nodes) if n.site == "edge-a"]
    cloud = [i for i, n in enumerate(world.nodes) if n.tier == "cloud"]
    size = 10**9
    assert world.transfer_s(edge_a[0], edge_a[0], size) == 0.0
    local = world.transfer_s(edge_a[0], edge_a[1], size)
    remote = world.transfer_s(edge_a[0], cloud[0], size)
    assert 0 < local < remote
    assert world.transfer_s(ORIGIN, cloud[0], size) < world.transfer_s(ORIGIN, edge_a[0], size)


def test_monitoring_is_windowed_and_stale() -> None:
    world = build_continuum(3)
    monitor = Monitor(world, lambda node, at_s: 0.0)
    node = 0
    first = monitor.stats(node, 400.0)
    assert 400.0 - REFRESH_RANGE_S[1] <= first.as_of_s <= 400.0
    # Until the next refresh the figures do not move, although the true load does.
    assert monitor.stats(node, first.as_of_s + REFRESH_RANGE_S[0] - 0.1) == first
    last = int(first.as_of_s / LOAD_STEP_S)
    truth = world.background_steps(node, last - 11, last)
    assert first.cpu_avg1m == np.float64(truth.mean()).item()
    assert 0.0 <= first.cpu_stddev5m <= 0.5
    later = monitor.next_refresh_s(400.0)
    assert 400.0 < later <= 400.0 + REFRESH_RANGE_S[1]


def _held_node(world_seed: int, tier: str = "cloud") -> tuple[Continuum, int]:
    """A shared-world node of ``tier`` whose held load moves (a contended VM by default)."""
    world = build_continuum(world_seed, "shared")
    for node in range(len(world.nodes)):
        if world.nodes[node].tier == tier and world.held_steps(node, 0, 2000).std() > 0.05:
            return world, node
    raise AssertionError("no node with varying held load")


def test_steal_follows_the_true_held_load_with_the_same_staleness() -> None:
    world, node = _held_node(4)
    monitor = Monitor(world, lambda node, at_s: 0.0)
    for now_s in (400.0, 2_000.0, 7_000.0):
        stats = monitor.stats(node, now_s)
        last = int(stats.as_of_s / LOAD_STEP_S)
        held = world.held_steps(node, last - 11, last)
        assert stats.cpu_steal_avg1m == pytest.approx(float(held.mean()))
        # Steal is part of utilisation, never more than it.
        assert stats.cpu_steal_avg1m <= stats.cpu_avg1m + 1e-12
        # It refreshes with the other series, not with the truth.
        assert monitor.stats(node, stats.as_of_s + REFRESH_RANGE_S[0] - 0.1) == stats
    # The mild world holds nothing, so nothing reads as steal.
    mild = Monitor(build_continuum(4, "mild"), lambda node, at_s: 0.0)
    assert all(s.cpu_steal_avg1m == 0.0 for s in mild.view(3_000.0))


def test_a_devices_held_primary_function_is_not_steal_to_the_agent() -> None:
    # /proc/stat counts only a hypervisor's share as steal; the device's own work is busy time.
    world, node = _held_node(4, tier="edge")
    stats = Monitor(world, lambda node, at_s: 0.0).stats(node, 2_000.0)
    assert stats.cpu_steal_avg1m == 0.0
    assert stats.cpu_avg1m > 0.0


def test_pressure_shows_demand_beyond_the_cores() -> None:
    world, node = _held_node(4)
    cores = world.nodes[node].cores
    idle = Monitor(world, lambda node, at_s: 0.0).stats(node, 3_000.0)
    # Background alone never fills a node (the OS keeps a share), so nothing waits.
    assert idle.cpu_pressure_some1m == 0.0
    # Our tasks asking for every core: demand exceeds the cores whenever any background runs.
    full = Monitor(world, lambda node, at_s: float(cores)).stats(node, 3_000.0)
    last = int(full.as_of_s / LOAD_STEP_S)
    background = world.background_steps(node, last - 11, last)
    assert full.cpu_pressure_some1m == pytest.approx(float((background > 1e-9).mean()))
    assert full.cpu_pressure_some1m > 0.0
    assert full.cpu_avg1m == 1.0  # utilisation caps; only pressure says it is over


def test_the_world_ran_an_hour_before_the_workflow_so_first_windows_are_full() -> None:
    world = build_continuum(3)
    before = world.background_steps(0, -HISTORY_STEPS, -1)
    assert before.shape == (HISTORY_STEPS,)
    assert world.background(0, -HISTORY_S) == before[0]
    assert world.background(0, -1.0) == before[-1]
    # The workflow's own tasks ran on none of those samples: a monitor asked at the start
    # averages five minutes of the world's own load, not one sample.
    monitor = Monitor(world, lambda node, at_s: 4.0)
    stats = monitor.stats(0, 0.0)
    last = int(stats.as_of_s / LOAD_STEP_S)
    window = world.background_steps(0, last - 59, last)
    assert last < 60
    own = np.where(np.arange(last - 59, last + 1) >= 0, 4.0 / world.nodes[0].cores, 0.0)
    assert stats.cpu_avg5m == pytest.approx(float(np.minimum(1.0, window + own).mean()))
