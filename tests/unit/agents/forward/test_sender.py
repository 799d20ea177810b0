"""The forwarder's delivery queue (memory, then the agents' disk spool) and its sender: order,
retries, spilling during an outage, surviving a restart, and loss counting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from agents.forward import ForwardRecord, RecordQueue, RecordSender


def _wait(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _record(n: int, age_s: float = 0.0) -> ForwardRecord:
    headers = [("content-type", b"text/plain"), ("scrape.timestamp_ms", b"%d" % n)]
    return ForwardRecord(
        key=b"n1", value=b"up %d\n" % n, headers=headers, created_at=time.time() - age_s
    )


def _values(broker) -> list[bytes]:
    return [value for _, _, value, _ in broker.records]


def test_records_past_memory_spill_to_disk_and_keep_their_order(tmp_path: Path) -> None:
    queue = RecordQueue(tmp_path, max_memory_records=2)
    for n in range(5):
        queue.put(_record(n))
    assert queue.depth == 5
    assert len(list(tmp_path.glob("*.msg"))) == 3
    assert queue.dropped == 0
    batch = queue.peek(10)
    assert [record.value for _, record in batch] == [b"up %d\n" % n for n in range(5)]
    # Headers and scrape time travel through the spool files with the record.
    assert batch[4][1].headers == _record(4).headers
    assert batch[4][1].key == b"n1"


def test_the_spool_cap_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    queue = RecordQueue(tmp_path, max_memory_records=1, max_spool_bytes=200)
    queue.set_reachable(False)
    for n in range(10):
        queue.put(_record(n))
    assert queue.dropped > 0
    assert queue.spool_bytes <= 200
    values = [record.value for _, record in queue.peek(20)]
    assert values[-1] == b"up 9\n"
    assert values == sorted(values, key=lambda v: int(v.split()[1]))


def test_sender_delivers_in_order_with_headers(broker, tmp_path: Path) -> None:
    queue = RecordQueue(tmp_path, max_memory_records=2)
    sender = RecordSender(queue, topic="t", producer_factory=broker.factory, max_age_s=60)
    for n in range(5):
        queue.put(_record(n))
    sender.start()
    _wait(lambda: sender.sent == 5)
    sender.shutdown()
    assert _values(broker) == [b"up %d\n" % n for n in range(5)]
    assert [dict(h)[b"scrape.timestamp_ms".decode()] for *_, h in broker.records] == [
        b"%d" % n for n in range(5)
    ]
    assert sender.sent_bytes == sum(len(b"up %d\n" % n) for n in range(5))
    assert queue.depth == 0
    assert list(tmp_path.glob("*.msg")) == []


def test_an_outage_spills_to_disk_and_the_backlog_follows_in_order(broker, tmp_path) -> None:
    broker.down = True
    queue = RecordQueue(tmp_path, max_memory_records=64)
    sender = RecordSender(queue, topic="t", producer_factory=broker.factory, max_age_s=60)
    sender.start()
    queue.put(_record(0))
    _wait(lambda: sender.retries >= 1)
    for n in range(1, 4):
        queue.put(_record(n))
    # Unreachable: memory went to disk and new records go there too.
    assert len(list(tmp_path.glob("*.msg"))) == 4
    assert sender.sent == 0
    broker.down = False
    _wait(lambda: sender.sent == 4)
    sender.shutdown()
    assert broker.producers >= 2, "a failed producer is replaced"
    assert _values(broker) == [b"up %d\n" % n for n in range(4)]


def test_what_is_not_delivered_survives_a_restart(broker, tmp_path: Path) -> None:
    broker.down = True
    queue = RecordQueue(tmp_path, max_memory_records=64)
    sender = RecordSender(
        queue, topic="t", producer_factory=broker.factory, max_age_s=60, flush_timeout_s=0.5
    )
    sender.start()
    for n in range(3):
        queue.put(_record(n))
    _wait(lambda: sender.retries >= 1)
    sender.shutdown(500)
    broker.down = False
    # A new process: the records wait in the folder and go first, in order.
    again = RecordQueue(tmp_path, max_memory_records=64)
    assert again.depth == 3
    resumed = RecordSender(again, topic="t", producer_factory=broker.factory, max_age_s=60)
    again.put(_record(3))
    resumed.start()
    _wait(lambda: resumed.sent == 4)
    resumed.shutdown()
    assert _values(broker) == [b"up %d\n" % n for n in range(4)]


def test_records_too_old_for_prometheus_are_counted_lost(broker, tmp_path: Path) -> None:
    queue = RecordQueue(tmp_path)
    sender = RecordSender(queue, topic="t", producer_factory=broker.factory, max_age_s=30)
    queue.put(_record(0, age_s=60))
    queue.put(_record(1))
    sender.start()
    _wait(lambda: sender.sent == 1)
    sender.shutdown()
    assert sender.lost == 1
    assert _values(broker) == [b"up 1\n"]


def test_stop_does_not_hang_while_the_broker_is_down(broker, tmp_path: Path) -> None:
    broker.down = True
    queue = RecordQueue(tmp_path)
    sender = RecordSender(
        queue, topic="t", producer_factory=broker.factory, max_age_s=60, flush_timeout_s=0.5
    )
    queue.put(_record(0))
    sender.start()
    _wait(lambda: sender.retries >= 1)
    started = time.monotonic()
    sender.shutdown(1_000)
    assert time.monotonic() - started < 3.0
    assert queue.depth == 1


def test_the_sender_has_the_sink_shape(broker, tmp_path: Path) -> None:
    from continuum._sink import ExportResult

    sender = RecordSender(
        RecordQueue(tmp_path), topic="t", producer_factory=broker.factory, max_age_s=60
    )
    sender.start()
    assert sender.export([_record(0), _record(1)]) is ExportResult.SUCCESS
    assert sender.force_flush(5_000)
    assert _values(broker) == [b"up 0\n", b"up 1\n"]
    sender.shutdown(1_000)
    assert sender.export([_record(2)]) is ExportResult.FAILURE
