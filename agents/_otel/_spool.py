"""A FIFO of export messages: a bounded memory head with an on-disk spool behind it.

While the broker takes messages they stay in memory; once it is unreachable (or the memory part
is full) they go to files in the spool directory, named by sequence number, so order survives a
restart of the agent. The sender always takes the oldest message first, so messages reach the
broker in the order they were exported. Past the byte cap the oldest spooled messages are dropped
and their points counted::

    fifo = DeliveryQueue(Path("/var/lib/continuum/spool"), max_memory_messages=64,
                         max_spool_bytes=256 << 20)
    fifo.put(b"edge-01", payload, points=250)
    batch = fifo.peek(16)
    fifo.ack(batch[-1].seq)          # delivered: forget everything up to this one
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import struct
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DeliveryQueue", "Message"]

_log = logging.getLogger(__name__)

_MAGIC = b"CSP1"
_HEADER = struct.Struct(">4sII")  # magic, key length, points
_SUFFIX = ".msg"


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message waiting for delivery.

    Attributes:
        seq: position in the FIFO (increasing, survives restarts through the file names).
        key: the Kafka key.
        value: the payload.
        points: data points it carries (for loss accounting).
    """

    seq: int
    key: bytes
    value: bytes
    points: int


@dataclass(frozen=True, slots=True)
class _SpoolEntry:
    seq: int
    size_bytes: int
    points: int


class DeliveryQueue:
    """Thread-safe FIFO of messages, memory first, spilling to disk.

    Args:
        spool_dir: where spooled messages live (created when needed). Messages already there
            from an earlier run are delivered first.
        max_memory_messages: messages kept in memory before new ones go to disk.
        max_spool_bytes: bytes the spool may hold; past it the oldest files are dropped.
    """

    def __init__(self, spool_dir: Path, *, max_memory_messages: int, max_spool_bytes: int) -> None:
        self._dir = spool_dir
        self._max_memory = max_memory_messages
        self._max_spool_bytes = max_spool_bytes
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._memory: deque[Message] = deque()
        self._spool: deque[_SpoolEntry] = deque()
        self._spool_bytes = 0
        self._reachable = True
        self.dropped_messages = 0
        self.dropped_points = 0
        self._next_seq = self._load_spool()

    # -- state -------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Messages waiting, in memory and on disk."""
        with self._lock:
            return len(self._memory) + len(self._spool)

    @property
    def spool_bytes(self) -> int:
        """Bytes held in the spool directory."""
        with self._lock:
            return self._spool_bytes

    @property
    def pending_points(self) -> int:
        """Data points waiting, in memory and on disk."""
        with self._lock:
            return sum(m.points for m in self._memory) + sum(e.points for e in self._spool)

    def set_reachable(self, reachable: bool) -> None:
        """Tell the queue whether the broker takes messages; unreachable spills memory to disk."""
        with self._lock:
            if self._reachable == reachable:
                return
            self._reachable = reachable
            if not reachable:
                self._spill_memory_locked()

    # -- producer side -----------------------------------------------------------------------

    def put(self, key: bytes, value: bytes, points: int) -> None:
        """Append a message (to disk when the broker is unreachable or memory is full)."""
        with self._lock:
            message = Message(self._next_seq, key, value, points)
            self._next_seq += 1
            # Disk only ever holds the newest messages, so memory-then-disk is the FIFO order.
            to_disk = (
                bool(self._spool) or not self._reachable or len(self._memory) >= self._max_memory
            )
            if to_disk:
                entry = self._write_locked(message)
                if entry is not None:
                    self._spool.append(entry)
                    self._enforce_cap_locked()
            else:
                self._memory.append(message)
            self._ready.notify_all()

    # -- consumer side -----------------------------------------------------------------------

    def wait(self, timeout_s: float) -> bool:
        """Wait until a message is waiting; return whether one is."""
        with self._lock:
            if not self._memory and not self._spool:
                self._ready.wait(timeout_s)
            return bool(self._memory or self._spool)

    def wake(self) -> None:
        """Wake a consumer blocked in :meth:`wait` (on shutdown)."""
        with self._lock:
            self._ready.notify_all()

    def peek(self, limit: int) -> list[Message]:
        """The oldest ``limit`` messages, without removing them."""
        with self._lock:
            memory = list(self._memory)[:limit]
            entries = list(self._spool)[:limit]
        # Usually memory is older than the whole spool; after a spill the disk could not take,
        # the spool's head is older than memory's (each side is in order): merge by sequence.
        oldest: Iterator[Message | _SpoolEntry] = heapq.merge(
            memory, entries, key=lambda item: item.seq
        )
        batch: list[Message] = []
        for item in itertools.islice(oldest, limit):
            message = item if isinstance(item, Message) else self._read(item)
            if message is not None:
                batch.append(message)
        return batch

    def ack(self, up_to_seq: int) -> None:
        """Forget every message with ``seq <= up_to_seq`` (they were delivered)."""
        with self._lock:
            while self._memory and self._memory[0].seq <= up_to_seq:
                self._memory.popleft()
            while self._spool and self._spool[0].seq <= up_to_seq:
                self._remove_locked(self._spool.popleft())

    def spill(self) -> None:
        """Write every in-memory message to disk (on shutdown, so a restart delivers them)."""
        with self._lock:
            self._spill_memory_locked()

    # -- disk --------------------------------------------------------------------------------

    def _path(self, seq: int) -> Path:
        return self._dir / f"{seq:020d}{_SUFFIX}"

    def _load_spool(self) -> int:
        if not self._dir.is_dir():
            return 0
        last = -1
        for path in sorted(self._dir.glob(f"*{_SUFFIX}")):
            try:
                seq = int(path.stem)
                with path.open("rb") as handle:
                    magic, _, points = _HEADER.unpack(handle.read(_HEADER.size))
                if magic != _MAGIC:
                    raise ValueError("bad magic")
                size = path.stat().st_size
            except (OSError, ValueError, struct.error) as err:
                _log.warning("spool file %s is unreadable (%s); removed", path, err)
                path.unlink(missing_ok=True)
                continue
            self._spool.append(_SpoolEntry(seq, size, points))
            self._spool_bytes += size
            last = seq
        if self._spool:
            _log.info("spool holds %d messages from an earlier run", len(self._spool))
        return last + 1

    def _spill_memory_locked(self) -> None:
        # Memory holds the oldest messages: they go to disk ahead of the spooled ones. What the
        # disk cannot take (full, read-only) stays in memory, which it already fits: accepted
        # exports are not dropped for a spill, and peek() merges both sides by sequence.
        written: list[_SpoolEntry] = []
        while self._memory:
            entry = self._store_locked(self._memory[0])
            if isinstance(entry, OSError):
                _log.warning(
                    "spool write to %s failed (%s); %d messages stay in memory",
                    self._dir,
                    entry,
                    len(self._memory),
                )
                break
            written.append(entry)
            self._memory.popleft()
        self._spool.extendleft(reversed(written))
        self._enforce_cap_locked()

    def _write_locked(self, message: Message) -> _SpoolEntry | None:
        entry = self._store_locked(message)
        if isinstance(entry, OSError):
            # A full or read-only disk must not stop the agent: the message is lost, and counted.
            self.dropped_messages += 1
            self.dropped_points += message.points
            _log.warning(
                "spool write to %s failed (%s); message dropped", self._path(message.seq), entry
            )
            return None
        return entry

    def _store_locked(self, message: Message) -> _SpoolEntry | OSError:
        """Write ``message`` to its spool file; the error instead of raising it."""
        data = _HEADER.pack(_MAGIC, len(message.key), message.points) + message.key + message.value
        path = self._path(message.seq)
        tmp = path.with_suffix(".tmp")
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return err
        self._spool_bytes += len(data)
        return _SpoolEntry(message.seq, len(data), message.points)

    def _enforce_cap_locked(self) -> None:
        while self._spool and self._spool_bytes > self._max_spool_bytes:
            entry = self._spool.popleft()
            self._remove_locked(entry)
            self.dropped_messages += 1
            self.dropped_points += entry.points
            _log.warning(
                "spool over %d bytes: dropped message %d (%d points)",
                self._max_spool_bytes,
                entry.seq,
                entry.points,
            )

    def _remove_locked(self, entry: _SpoolEntry) -> None:
        self._spool_bytes -= entry.size_bytes
        self._path(entry.seq).unlink(missing_ok=True)

    def _read(self, entry: _SpoolEntry) -> Message | None:
        try:
            data = self._path(entry.seq).read_bytes()
            _, key_len, points = _HEADER.unpack_from(data)
        except (OSError, struct.error):
            # Dropped over the cap while we looked: the next peek starts after it.
            return None
        start = _HEADER.size
        return Message(entry.seq, data[start : start + key_len], data[start + key_len :], points)
