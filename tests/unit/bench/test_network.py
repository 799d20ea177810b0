from __future__ import annotations

import math

import pytest

from bench.sim import build_continuum
from bench.sim._continuum import ORIGIN, ORIGIN_STREAM_BYTES_S
from bench.sim._network import FlowNetwork


def test_flows_on_one_link_share_it_and_the_survivor_speeds_up() -> None:
    network = FlowNetwork([100.0])
    network.start("short", (0,), 100, now_s=0.0)
    network.start("long", (0,), 300, now_s=0.0)
    assert network.rate_bytes_s("short") == pytest.approx(50.0)
    assert network.next_drain_s() == pytest.approx(2.0)
    assert network.advance(2.0) == ["short"]
    # 200 bytes left, the whole link now: 2 s more.
    assert network.rate_bytes_s("long") == pytest.approx(100.0)
    assert network.next_drain_s() == pytest.approx(4.0)
    assert network.advance(4.0) == ["long"]
    assert len(network) == 0
    assert network.next_drain_s() == math.inf


def test_rates_are_max_min_fair_across_links() -> None:
    # Link 1 (capacity 4) is the bottleneck of a and b; c gets what a leaves on link 0.
    network = FlowNetwork([10.0, 4.0])
    network.start("a", (0, 1), 1_000, now_s=0.0)
    network.start("b", (1,), 1_000, now_s=0.0)
    network.start("c", (0,), 1_000, now_s=0.0)
    assert network.rate_bytes_s("a") == pytest.approx(2.0)
    assert network.rate_bytes_s("b") == pytest.approx(2.0)
    assert network.rate_bytes_s("c") == pytest.approx(8.0)


def test_a_stream_cap_binds_before_the_link_and_leaves_the_rest_to_others() -> None:
    network = FlowNetwork([10.0])
    network.start("capped", (0,), 1_000, now_s=0.0, cap_bytes_s=3.0)
    network.start("free", (0,), 1_000, now_s=0.0)
    assert network.rate_bytes_s("capped") == pytest.approx(3.0)
    assert network.rate_bytes_s("free") == pytest.approx(7.0)


def test_a_flow_started_later_slows_the_ones_in_flight_from_then_on() -> None:
    network = FlowNetwork([10.0])
    network.start("first", (0,), 100, now_s=0.0)
    # 5 s alone at 10 B/s (50 bytes), then 5 B/s for the other 50: drains at 15 s.
    network.start("second", (0,), 1_000, now_s=5.0)
    assert network.next_drain_s() == pytest.approx(15.0)
    assert network.advance(15.0) == ["first"]


def test_a_key_in_flight_cannot_start_twice() -> None:
    network = FlowNetwork([10.0])
    network.start("x", (0,), 100, now_s=0.0)
    with pytest.raises(ValueError, match="already in flight"):
        network.start("x", (0,), 100, now_s=0.0)


def test_routes_cross_access_links_and_both_uplinks_between_sites() -> None:
    world = build_continuum(0)
    count = len(world.nodes)
    sites = list(world.site_links)
    cloud_a = [i for i, n in enumerate(world.nodes) if n.site == world.origin_site]
    edge_a = [i for i, n in enumerate(world.nodes) if n.site == "edge-a"]
    # Same site: sender's upload, receiver's download.
    assert world.route(edge_a[0], edge_a[1]) == (2 * edge_a[0], 2 * edge_a[1] + 1)
    # Across sites: also out of the sender's uplink and into the receiver's.
    out_edge_a = 2 * count + 2 * sites.index("edge-a")
    in_cloud_a = 2 * count + 2 * sites.index(world.origin_site) + 1
    assert world.route(edge_a[0], cloud_a[0]) == (
        2 * edge_a[0], out_edge_a, in_cloud_a, 2 * cloud_a[0] + 1,
    )  # fmt: skip
    # The input store has no link of its own: inside its region only the reader's download.
    assert world.route(ORIGIN, cloud_a[0]) == (2 * cloud_a[0] + 1,)
    assert world.route(edge_a[0], edge_a[0]) == ()
    # Alone on the network, a transfer gets the path's narrowest link, as transfer_s says.
    network = FlowNetwork(world.link_capacity_bytes_s)
    size = 10**9
    network.start("x", world.route(edge_a[0], cloud_a[0]), size, now_s=0.0)
    latency, _ = world.path(edge_a[0], cloud_a[0])
    assert network.next_drain_s() + latency == pytest.approx(
        world.transfer_s(edge_a[0], cloud_a[0], size)
    )
    network = FlowNetwork(world.link_capacity_bytes_s)
    network.start("y", world.route(ORIGIN, cloud_a[0]), size, now_s=0.0,
                  cap_bytes_s=ORIGIN_STREAM_BYTES_S)  # fmt: skip
    assert network.next_drain_s() + world.path(ORIGIN, cloud_a[0])[0] == pytest.approx(
        world.transfer_s(ORIGIN, cloud_a[0], size)
    )
