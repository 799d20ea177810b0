"""The placement policy: node views in, engine nodes out, on figures worked out by hand."""

from __future__ import annotations

import pytest

from scheduler_api import ranking
from scheduler_api.placement import (
    EngineConfig,
    GraphSubmitted,
    Heuristic,
    NodeSnapshot,
    Place,
    PlacementPolicy,
    PolicyConfig,
    TaskSpec,
    fair_share,
)


def _view(
    node_id: str = "n",
    cores: float = 8,
    util: float = 0.0,
    stddev: float = 0.0,
    steal: float = 0.0,
    peak: float | None = None,
    pressure: float = 0.0,
    **extra: object,
) -> ranking.NodeSnapshot:
    return ranking.NodeSnapshot(
        node_id,
        ranking.Capacity(cores, 16 << 30),
        usage=ranking.Usage(
            cpu_utilization=util,
            cpu_utilization_stddev5m=stddev,
            cpu_utilization_max1m=peak,
            cpu_steal=steal,
            memory_available_bytes=8 << 30,
        ),
        pressure=ranking.Pressure(cpu=pressure),
        **extra,  # type: ignore[arg-type]
    )


def test_fair_share_splits_usable_cores_among_every_runnable_thread() -> None:
    assert fair_share(48.0, 46.0, 2) == 1.0
    assert fair_share(48.0, 46.0, 10) == pytest.approx(48 / 56)
    assert fair_share(2.0, 0.0, 4) == pytest.approx(0.5)
    assert fair_share(1.0, 0.0, 0) == 1.0


def test_an_idle_node_offers_every_core_at_full_speed() -> None:
    info = PlacementPolicy().node_info(_view(cores=8, relative_speed=1.5))
    assert (info.cpu_cores, info.cpu_utilization, info.speed, info.healthy) == (8, 0.0, 1.5, True)


def test_busy_cores_and_one_stddev_of_margin_are_not_offered() -> None:
    # 8 cores, 40 % busy with 10 % spread: 8 * (0.4 + 0.1) = 4 cores taken, 4 free.
    info = PlacementPolicy().node_info(_view(cores=8, util=0.4, stddev=0.1))
    assert info.cpu_cores == 4
    assert info.cpu_utilization == 0.0  # 4 tasks beside 4 busy cores keep a core each


def test_own_tasks_are_not_background() -> None:
    # The agents measure 6 of 8 cores busy, 4 of them the caller's own tasks.
    info = PlacementPolicy().node_info(_view(cores=8, util=0.75), own_cores=4.0)
    assert info.cpu_cores == 6


def test_a_big_node_busy_with_time_shared_work_offers_lanes_beyond_its_free_cores() -> None:
    info = PlacementPolicy().node_info(_view(cores=48, util=46 / 48))
    # Two free cores, and lanes while each keeps 0.9 of a core: 48 / (46 + k) >= 0.9.
    assert info.cpu_cores == 7
    assert info.cpu_utilization == pytest.approx(1 - 48 / 53)


def test_steal_is_held_not_shared() -> None:
    # Half of a VM's 8 cores stolen: 4 usable, none shared, so 4 lanes at full speed...
    info = PlacementPolicy().node_info(_view(cores=8, util=0.5, steal=0.5))
    assert (info.cpu_cores, info.cpu_utilization) == (4, 0.0)
    # ...where the same load, time-shared, would offer 4 free cores plus shared ones.
    shared = PlacementPolicy().node_info(_view(cores=8, util=0.5))
    assert shared.cpu_cores == 4


def test_a_node_where_one_more_task_gets_under_half_a_core_is_cordoned() -> None:
    # 2 cores, 7/8 of them stolen: 0.25 usable for one task.
    info = PlacementPolicy().node_info(_view(cores=2, util=0.875, steal=0.875))
    assert not info.healthy
    assert (
        PlacementPolicy(PolicyConfig(min_share=0.2))
        .node_info(_view(cores=2, util=0.875, steal=0.875))
        .healthy
    )


def test_a_node_smaller_than_a_core_is_cordoned_against_its_own_size() -> None:
    # A quarter-core edge device offers a quarter core even idle: it takes work then...
    policy = PlacementPolicy()
    idle = policy.node_info(_view(cores=0.25, util=0.0))
    assert idle.healthy
    assert policy.cordon_reason(_view(cores=0.25, util=0.0)) is None
    # ...and not once one more task would get under half of its capacity (here: 90 % of it
    # stolen by the host).
    busy = _view(cores=0.25, util=0.9, steal=0.9)
    assert not policy.node_info(busy).healthy
    reason = policy.cordon_reason(busy)
    assert reason is not None
    assert reason.endswith("(the placement policy's min_share is 0.5, 0.12 on this 0.25-core node)")


def test_a_full_node_under_pressure_keeps_its_last_unsaturated_background() -> None:
    policy = PlacementPolicy()
    assert policy.node_info(_view(cores=8, util=0.9)).cpu_cores == 1
    # Capped at 100 % with our 4 tasks there, 1 - 4/8 = 0.5 would understate the rest, which
    # the pressure shows: the last reading below saturation (0.9) still counts.
    full = policy.node_info(_view(cores=8, util=1.0, peak=1.0, pressure=0.3), own_cores=4.0)
    assert full.cpu_cores == 1
    # Without pressure a full reading is believed.
    calm = PlacementPolicy().node_info(_view(cores=8, util=1.0, peak=1.0), own_cores=4.0)
    assert calm.cpu_cores == 4


def test_when_the_fleet_is_crowded_every_usable_core_is_a_lane() -> None:
    policy = PlacementPolicy()
    policy.node_info(_view("a", cores=8, util=0.5))
    assert policy.crowded(waiting_tasks=4, running={}) is False
    assert policy.crowded(waiting_tasks=5, running={}) is True
    assert policy.crowded(waiting_tasks=2, running={"a": 3}) is True
    assert policy.node_info(_view("a", cores=8, util=0.5), crowded=True).cpu_cores == 8
    assert policy.lanes("a") == 8
    assert policy.lanes("unknown") == 1


def test_reservations_the_measurements_miss_count_as_busy() -> None:
    info = PlacementPolicy().node_info(_view(cores=8), reserved_cores=3.0)
    assert info.cpu_cores == 5


def test_probed_links_become_the_nodes_links() -> None:
    links = ranking.NodeLinks(0.001, 1e8, 0.01, 1e7)
    info = PlacementPolicy().node_info(_view(links=links))
    assert (info.latency_s, info.bandwidth_bytes_per_s) == (0.001, 1e8)
    assert (info.uplink_latency_s, info.uplink_bandwidth_bytes_per_s) == (0.01, 1e7)


def test_every_caller_gets_the_same_engine_settings() -> None:
    policy = PlacementPolicy(PolicyConfig(heuristic=Heuristic.LPT, max_attempts=5))
    assert policy.engine_config() == EngineConfig(
        heuristic=Heuristic.LPT,
        mode="ready",
        max_attempts=5,
        replan_on_snapshot=True,
        book_transfers=True,
    )


def test_the_policys_engine_ranks_with_the_model_over_the_latest_views() -> None:
    policy = PlacementPolicy()
    engine = policy.new_engine()
    for view in (_view("hot", cores=8), _view("calm", cores=8)):
        engine.handle(NodeSnapshot(policy.node_info(view), at_s=0.0))
    # "hot" now stalls on CPU: equal estimates, and the ranking model breaks the tie.
    engine.handle(NodeSnapshot(policy.node_info(_view("hot", cores=8, pressure=0.9)), at_s=1.0))
    [decision] = engine.handle(GraphSubmitted((TaskSpec("t", work_s=1.0),), at_s=1.0))
    assert isinstance(decision, Place)
    assert decision.node_id == "calm"


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="min_share"):
        PolicyConfig(min_share=0.0)
    with pytest.raises(ValueError, match="margin_stddevs"):
        PolicyConfig(margin_stddevs=-1.0)
