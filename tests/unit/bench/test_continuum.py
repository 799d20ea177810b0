from __future__ import annotations

import numpy as np

from bench.sim import build_continuum
from bench.sim._continuum import LOAD_STEP_S, ORIGIN
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
