"""Site uplinks in transfer estimates, and the engine's bookings of its own transfers."""

from __future__ import annotations

import pytest

from scheduler_api.placement import (
    DataInput,
    EngineConfig,
    GraphSubmitted,
    NodeFailed,
    NodeInfo,
    NodeSnapshot,
    Place,
    PlacementEngine,
    Replace,
    TaskFinished,
    TaskSpec,
    TaskStarted,
)
from scheduler_api.placement._links import IN, Link, LinkBook
from scheduler_api.placement._nodes import LaneTable

GB = 1_000_000_000


def _node(node_id: str, site: str, **extra: object) -> NodeInfo:
    """A 4-core node on a 10 GB/s link to its site, whose uplink carries 1 GB/s."""
    fields: dict[str, object] = {
        "cpu_cores": 4,
        "site": site,
        "bandwidth_bytes_per_s": 10.0 * GB,
        "latency_s": 0.0,
        "uplink_bandwidth_bytes_per_s": 1.0 * GB,
        "uplink_latency_s": 0.0,
        **extra,
    }
    return NodeInfo(node_id, **fields)  # type: ignore[arg-type]


def _engine(*nodes: NodeInfo, book: bool) -> PlacementEngine:
    engine = PlacementEngine(EngineConfig(mode="ready", book_transfers=book))
    for node in nodes:
        engine.handle(NodeSnapshot(node, at_s=0.0))
    return engine


def _place(engine: PlacementEngine, spec: TaskSpec, at_s: float = 0.0) -> Place:
    [decision] = engine.handle(GraphSubmitted((spec,), at_s=at_s))
    engine.validate_state()
    assert isinstance(decision, Place)
    return decision


def _reads(task_id: str, *datasets: str, size: int = 2 * GB) -> TaskSpec:
    inputs = tuple(DataInput(d, size, site="store") for d in datasets)
    return TaskSpec(task_id, work_s=10.0, inputs=inputs)


def test_a_transfer_inside_a_site_skips_the_uplink_and_one_between_sites_crosses_both() -> None:
    engine = _engine(
        _node("holder", "a", speed=0.01),
        _node("near", "a"),
        _node("far", "b", speed=1.5, uplink_latency_s=0.25),
        book=False,
    )
    data = DataInput("d", 4 * GB, node_ids=("holder",))
    inside = _place(engine, TaskSpec("t", work_s=10.0, inputs=(data,)))
    # 0.4 s over the access links here; 4 s + 0.25 s over the uplinks to the faster node
    assert inside.node_id == "near"
    assert inside.est_start_s == pytest.approx(0.4)
    small = _place(
        engine, TaskSpec("u", work_s=10.0, inputs=(DataInput("e", GB // 10, ("holder",)),))
    )
    assert small.node_id == "far"
    assert small.est_start_s == pytest.approx(0.35)


def test_a_store_in_a_site_serves_its_own_nodes_over_their_links_only() -> None:
    engine = _engine(_node("store-node", "store"), _node("remote", "b"), book=False)
    place = _place(engine, _reads("t", "d"))
    assert place.node_id == "store-node"
    assert place.est_start_s == pytest.approx(0.2)
    # Without the store's site, a dataset outside the fleet comes over the node's own link.
    unknown = TaskSpec("u", work_s=10.0, inputs=(DataInput("e", 2 * GB),))
    assert _place(engine, unknown).est_start_s == pytest.approx(0.2)


def test_the_store_still_serves_a_dataset_that_a_node_elsewhere_holds_a_copy_of() -> None:
    engine = _engine(_node("store-node", "store"), _node("far-holder", "b", speed=0.01), book=False)
    data = DataInput("d", 2 * GB, node_ids=("far-holder",), site="store")
    place = _place(engine, TaskSpec("t", work_s=10.0, inputs=(data,)))
    assert place.node_id == "store-node"
    assert place.est_start_s == pytest.approx(0.2)  # from the store, not 2 s over the uplinks


def test_booked_transfers_queue_later_estimates_on_the_uplinks_they_share() -> None:
    fleet = (_node("store-node", "store", speed=0.1), _node("x", "b"), _node("y", "c"))
    idle = _engine(*fleet, book=False)
    blind = [_place(idle, _reads(f"t{i}", f"d{i}")) for i in range(2)]
    # On an idle network both expect the 2 s transfer, on the same site.
    assert [p.est_start_s for p in blind] == pytest.approx([2.0, 2.0])
    assert blind[0].node_id == blind[1].node_id
    booked = _engine(*fleet, book=True)
    first, second = (_place(booked, _reads(f"t{i}", f"d{i}")) for i in range(2))
    # The store's uplink carries the first 2 GB: the second queues behind them, on any site.
    assert first.est_start_s == pytest.approx(2.0)
    assert second.est_start_s == pytest.approx(4.0)


def test_a_dataset_booked_onto_a_node_is_read_there_without_a_second_transfer() -> None:
    engine = _engine(_node("store-node", "store", speed=0.1), _node("x", "b"), book=True)
    first = _place(engine, _reads("t1", "shared"))
    second = _place(engine, _reads("t2", "shared"))
    assert (second.node_id, second.est_start_s) == (first.node_id, first.est_start_s)


def test_bookings_go_when_their_task_finishes_and_its_copies_stay() -> None:
    engine = _engine(_node("store-node", "store", speed=0.1), _node("x", "b"), book=True)
    first = _place(engine, _reads("t1", "d1"))
    engine.handle(TaskStarted("t1", first.node_id, at_s=0.5))
    assert _place(engine, _reads("t2", "d2"), at_s=1.0).est_start_s == pytest.approx(4.0)
    engine.handle(TaskFinished("t1", first.node_id, at_s=20.0))
    engine.handle(TaskFinished("t2", "x", at_s=20.0))
    # The link is idle again, and d1 is already on x.
    assert _place(engine, _reads("t3", "d3"), at_s=20.0).est_start_s == pytest.approx(22.0)
    again = _place(engine, _reads("t4", "d1"), at_s=20.0)
    assert again.node_id == "x"
    assert again.est_start_s == pytest.approx(20.0)


def test_a_task_placed_again_drops_its_old_bookings() -> None:
    engine = PlacementEngine(
        EngineConfig(mode="ready", book_transfers=True, replan_on_snapshot=True)
    )
    for node in (_node("store-node", "store", speed=0.1), _node("x", "b")):
        engine.handle(NodeSnapshot(node, at_s=0.0))
    _place(engine, _reads("t1", "d1"))
    # x refreshes: t1 (not started) is placed again; only its new booking counts.
    [moved] = engine.handle(NodeSnapshot(_node("x", "b"), at_s=1.0))
    assert isinstance(moved, Replace)
    assert moved.est_start_s == pytest.approx(3.0)
    engine.validate_state()


def test_link_book_drains_booked_bytes_linearly_over_their_interval() -> None:
    table = LaneTable()
    table.upsert(NodeInfo("n", bandwidth_bytes_per_s=1e8))
    book = LinkBook()
    book.add("t", [Link(IN, 0)], size_bytes=10**9, start_s=0.0, finish_s=10.0)
    assert book.drains(5.0, table).node_in[0] == pytest.approx(10.0)
    assert book.drains(10.0, table).node_in[0] == float("-inf")
    book.release("t")
    assert book.drains(5.0, table).node_in[0] == float("-inf")


def test_a_node_that_joins_at_the_same_instant_as_a_booking_gets_its_own_estimate() -> None:
    engine = _engine(_node("store-node", "store", speed=0.1), _node("x", "b"), book=True)
    _place(engine, _reads("t1", "d1"))
    _place(engine, TaskSpec("t0", work_s=10.0))  # reads the links, books nothing
    # Same clock, a new node (and a new site): the links' drain times must cover it.
    engine.handle(NodeSnapshot(_node("y", "c", speed=4.0), at_s=0.0))
    place = _place(engine, _reads("t2", "d2"))
    assert place.node_id == "y"
    assert place.est_start_s == pytest.approx(4.0)  # behind t1's 2 GB on the store's uplink


def test_copies_on_a_node_that_fails_are_not_read_there_when_it_returns() -> None:
    engine = _engine(_node("store-node", "store", speed=0.1), _node("x", "b"), book=True)
    first = _place(engine, _reads("t1", "shared"))
    engine.handle(TaskStarted("t1", first.node_id, at_s=0.5))
    engine.handle(TaskFinished("t1", first.node_id, at_s=20.0))
    engine.handle(NodeFailed("x", at_s=21.0))
    engine.handle(NodeSnapshot(_node("x", "b"), at_s=22.0))
    again = _place(engine, _reads("t2", "shared"), at_s=22.0)
    assert again.node_id == "x"
    assert again.est_start_s == pytest.approx(24.0)  # fetched again: 2 GB over the uplinks


def test_a_node_that_fails_before_its_fetch_ends_leaves_no_copy_and_its_task_moves() -> None:
    engine = _engine(
        _node("store-node", "store", speed=0.1), _node("x", "b"), _node("y", "c"), book=True
    )
    first = _place(engine, _reads("t1", "shared"))
    [moved] = engine.handle(NodeFailed(first.node_id, at_s=1.0))
    engine.validate_state()
    assert isinstance(moved, Replace)
    assert moved.node_id != first.node_id
    # Only the new placement's copy is booked: nothing is left on the failed node.
    assert set(engine._links.copies(("dataset", "shared"))) == {engine._nodes.index[moved.node_id]}
