"""The delivery FIFO: memory head, on-disk spool, order, cap, restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents._otel import DeliveryQueue


def drain(queue: DeliveryQueue) -> list[bytes]:
    out = []
    while batch := queue.peek(3):
        out += [m.value for m in batch]
        queue.ack(batch[-1].seq)
    return out


def test_memory_then_disk_keeps_fifo_order(tmp_path: Path) -> None:
    queue = DeliveryQueue(tmp_path, max_memory_messages=2, max_spool_bytes=1 << 20)
    for i in range(5):
        queue.put(b"n", b"m%d" % i, points=10)
    assert queue.depth == 5
    assert queue.spool_bytes > 0  # 3 went to disk once memory was full
    assert queue.pending_points == 50
    assert drain(queue) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert queue.depth == 0
    assert queue.spool_bytes == 0
    assert not list(tmp_path.iterdir())


def test_unreachable_spills_memory_and_new_messages_to_disk(tmp_path: Path) -> None:
    queue = DeliveryQueue(tmp_path, max_memory_messages=100, max_spool_bytes=1 << 20)
    queue.put(b"n", b"a", points=1)
    queue.set_reachable(False)
    queue.put(b"n", b"b", points=1)
    assert len(list(tmp_path.glob("*.msg"))) == 2
    queue.set_reachable(True)
    queue.put(b"n", b"c", points=1)  # behind spooled ones: to disk too, so order holds
    assert drain(queue) == [b"a", b"b", b"c"]


def test_spool_survives_a_restart_in_order(tmp_path: Path) -> None:
    queue = DeliveryQueue(tmp_path, max_memory_messages=2, max_spool_bytes=1 << 20)
    for i in range(4):
        queue.put(b"node-1", b"m%d" % i, points=i)
    queue.spill()  # what shutdown does
    again = DeliveryQueue(tmp_path, max_memory_messages=2, max_spool_bytes=1 << 20)
    assert again.depth == 4
    first = again.peek(1)[0]
    assert (first.key, first.value, first.points) == (b"node-1", b"m0", 0)
    again.put(b"node-1", b"m4", points=4)
    assert drain(again) == [b"m0", b"m1", b"m2", b"m3", b"m4"]


def test_cap_drops_oldest_and_counts_points(tmp_path: Path) -> None:
    queue = DeliveryQueue(tmp_path, max_memory_messages=1, max_spool_bytes=350)
    queue.set_reachable(False)
    for i in range(6):
        queue.put(b"n", bytes([i]) * 100, points=7)
    assert queue.spool_bytes <= 350
    assert queue.dropped_messages == 3
    assert queue.dropped_points == 21
    assert [m.value[0] for m in queue.peek(10)] == [3, 4, 5]


def test_corrupt_spool_file_is_removed_at_start(tmp_path: Path) -> None:
    (tmp_path / f"{7:020d}.msg").write_bytes(b"garbage")
    queue = DeliveryQueue(tmp_path, max_memory_messages=1, max_spool_bytes=1 << 20)
    assert queue.depth == 0
    assert not list(tmp_path.glob("*.msg"))


def test_unwritable_spool_drops_and_counts(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    queue = DeliveryQueue(blocker / "spool", max_memory_messages=1, max_spool_bytes=1 << 20)
    queue.set_reachable(False)
    try:
        queue.put(b"n", b"x", points=5)
    except OSError:
        raise AssertionError("a spool write error must not escape") from None
    assert queue.dropped_points == 5


def test_a_spill_the_disk_cannot_take_keeps_messages_in_memory_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = DeliveryQueue(tmp_path, max_memory_messages=3, max_spool_bytes=1 << 20)
    for name in (b"a", b"b", b"c"):
        queue.put(b"n", name, points=1)
    real_write = Path.write_bytes
    room = [1]  # the disk takes one more file, then it is full

    def write_bytes(path: Path, data: bytes) -> int:
        if room[0] <= 0:
            raise OSError(28, "No space left on device")
        room[0] -= 1
        return real_write(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    queue.set_reachable(False)  # spill: a goes to disk, b and c stay in memory
    assert queue.dropped_messages == 0
    assert queue.depth == 3
    queue.put(b"n", b"d", points=1)  # new and the disk is full: dropped, counted
    assert queue.dropped_points == 1
    room[0] = 10
    queue.put(b"n", b"e", points=1)
    assert not list(tmp_path.glob("*.tmp"))
    assert drain(queue) == [b"a", b"b", b"c", b"e"]
    assert queue.depth == 0
