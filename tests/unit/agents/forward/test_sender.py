"""Bounded queue, in-order delivery, retries, and loss counting of the forwarder's sender."""

from __future__ import annotations

import time
from collections.abc import Callable

from agents.forward._records import ForwardRecord
from agents.forward._sender import RecordQueue, RecordSender


def _wait(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _record(n: int, age_s: float = 0.0) -> ForwardRecord:
    return ForwardRecord(
        key=b"n1", value=b"up %d\n" % n, headers=[], queued_at=time.monotonic() - age_s
    )


def test_queue_drops_oldest_past_its_bound() -> None:
    queue = RecordQueue(max_records=3)
    for n in range(5):
        queue.put(_record(n))
    assert queue.depth == 3
    assert queue.dropped == 2
    oldest = queue.peek(timeout_s=0)
    assert oldest is not None
    assert oldest.value == b"up 2\n"


def test_sender_delivers_in_order(broker) -> None:
    queue = RecordQueue(max_records=10)
    sender = RecordSender(queue, topic="t", producer_factory=broker.factory, max_age_s=60)
    for n in range(5):
        queue.put(_record(n))
    sender.start()
    _wait(lambda: sender.sent == 5)
    sender.stop()
    assert [value for _, _, value, _ in broker.records] == [b"up %d\n" % n for n in range(5)]
    assert sender.sent_bytes == sum(len(b"up %d\n" % n) for n in range(5))
    assert queue.depth == 0


def test_sender_retries_with_a_fresh_producer_and_keeps_order(broker) -> None:
    broker.down = True
    queue = RecordQueue(max_records=10)
    sender = RecordSender(queue, topic="t", producer_factory=broker.factory, max_age_s=60)
    for n in range(3):
        queue.put(_record(n))
    sender.start()
    _wait(lambda: sender.retries >= 1)
    assert sender.sent == 0
    assert queue.depth == 3
    broker.down = False
    _wait(lambda: sender.sent == 3)
    sender.stop()
    assert broker.producers >= 2, "a failed producer is replaced"
    assert [value for _, _, value, _ in broker.records] == [b"up 0\n", b"up 1\n", b"up 2\n"]


def test_records_too_old_for_prometheus_are_counted_lost(broker) -> None:
    queue = RecordQueue(max_records=10)
    sender = RecordSender(queue, topic="t", producer_factory=broker.factory, max_age_s=30)
    queue.put(_record(0, age_s=60))
    queue.put(_record(1))
    sender.start()
    _wait(lambda: sender.sent == 1)
    sender.stop()
    assert sender.lost == 1
    assert [value for _, _, value, _ in broker.records] == [b"up 1\n"]


def test_stop_does_not_hang_while_the_broker_is_down(broker) -> None:
    broker.down = True
    queue = RecordQueue(max_records=10)
    sender = RecordSender(
        queue, topic="t", producer_factory=broker.factory, max_age_s=60, flush_timeout_s=0.5
    )
    queue.put(_record(0))
    sender.start()
    _wait(lambda: sender.retries >= 1)
    started = time.monotonic()
    sender.stop(timeout_s=1.0)
    assert time.monotonic() - started < 3.0
