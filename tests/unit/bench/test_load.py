from __future__ import annotations

import numpy as np
import pytest

from bench.sim import WORLDS, build_continuum
from bench.sim._load import LOAD_STEP_S

_STEPS = 8_640  # 12 hours of samples


def _runs(mask: np.ndarray) -> list[int]:
    """Lengths (in samples) of the stretches where ``mask`` holds."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))


def test_worlds_share_the_inventory_and_each_seed_reproduces() -> None:
    assert WORLDS[0] == "shared"
    mild, shared, again = build_continuum(4, "mild"), build_continuum(4), build_continuum(4)
    assert mild.nodes == shared.nodes
    assert shared.world == "shared"
    assert mild.world == "mild"
    # Asking for a late time first must not change the trace (chunks extend in order).
    late = shared.held(25, 20_000.0)
    assert [shared.background(n, 600.0) for n in range(len(shared.nodes))] == [
        again.background(n, 600.0) for n in range(len(again.nodes))
    ]
    assert again.held(25, 20_000.0) == late
    assert shared.background_steps(0, 0, 500).tolist() != mild.background_steps(0, 0, 500).tolist()


def test_unknown_world_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown world 'harsh'"):
        build_continuum(0, "harsh")


def test_mild_world_holds_nothing() -> None:
    world = build_continuum(2, "mild")
    for node in range(len(world.nodes)):
        assert not world.held_steps(node, 0, 2_000).any()


def test_shared_load_stays_in_range_and_held_is_part_of_it() -> None:
    world = build_continuum(1)
    for node in range(len(world.nodes)):
        total = world.background_steps(node, 0, _STEPS)
        held = world.held_steps(node, 0, _STEPS)
        assert total.min() >= 0.0
        assert total.max() <= 0.97 + 1e-12
        assert (held <= total + 1e-12).all()


def test_edge_devices_stay_busy_for_hours() -> None:
    # Primary function busy about two thirds of the time, in stretches averaging two hours.
    busy_share, stretches = [], []
    for seed in range(3):
        world = build_continuum(seed)
        for node, spec in enumerate(world.nodes):
            if spec.tier != "edge":
                continue
            held = world.held_steps(node, 0, _STEPS)
            busy = held >= 0.6
            busy_share.append(busy.mean())
            stretches += _runs(busy)
    assert 0.45 < float(np.mean(busy_share)) < 0.85
    assert float(np.median(stretches)) * LOAD_STEP_S > 20 * 60


def test_cloud_steal_is_a_trickle_except_on_contended_hosts() -> None:
    means = []
    for seed in range(4):
        world = build_continuum(seed)
        means += [
            world.held_steps(node, 0, _STEPS).mean()
            for node, spec in enumerate(world.nodes)
            if spec.tier == "cloud"
        ]
    trickle = [m for m in means if m <= 0.05]
    assert len(trickle) >= len(means) // 2  # most VMs lose at most 5 % to steal
    assert max(means) > 0.1  # and some sit on a contended host


def test_hpc_batch_jobs_hold_whole_slots_for_long_stretches() -> None:
    world = build_continuum(3)
    for node, spec in enumerate(world.nodes):
        if spec.tier != "hpc":
            continue
        total = world.background_steps(node, 0, _STEPS)
        # Daemons time-share a few percent; batch jobs come in quarters of the node.
        quarters = np.round(total * 4) / 4
        assert (np.abs(total - quarters) < 0.2).mean() > 0.95
        # Four slots, each changing every few hours: the node's level holds for many minutes.
        changes = np.count_nonzero(np.diff(quarters))
        assert _STEPS / max(1, changes) * LOAD_STEP_S > 10 * 60
        assert 0.4 < total.mean() <= 0.97
