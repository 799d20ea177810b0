"""The offset ledger: which Kafka offsets the worker may commit, and when.

Records are read in order and grouped into *tickets*: the records of one flush. Each ticket is
sealed with the number of remote-write batches built from it and completes when every one of
them is acknowledged (or its refused parts dead-lettered). Offsets move forward only over the
complete prefix of tickets, in the order they were sealed, so a batch that finishes early on
one shard never lets a commit pass a slower one on another: at-least-once. Pure bookkeeping,
no Kafka, so the rules are tested without a broker::

    ledger = OffsetLedger()
    ledger.record(tp, offset=41)          # read record 41 of partition tp
    ticket = ledger.seal(batches=2)       # flushed as two batches
    ledger.done(ticket); ledger.done(ticket)
    ledger.committable()                  # {tp: 42}: the next offset to read
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["DeadLetterLike", "OffsetLedger", "Ticket"]


class DeadLetterLike(Protocol):
    """A dead letter in flight: ``settle`` drives its send and says whether it was delivered."""

    def settle(self) -> bool: ...


@dataclass
class Ticket:
    """Records whose offsets commit together once every batch built from them is done.

    Attributes:
        offsets: the next offset to read, per partition, after this ticket's records.
        pending: batches not yet handled.
        dead_letters: letters whose delivery this ticket waits for.
    """

    offsets: dict[Any, int] = field(default_factory=dict)
    pending: int = 0
    dead_letters: list[DeadLetterLike] = field(default_factory=list)

    def complete(self) -> bool:
        """Every batch is handled and every dead letter delivered (drives their resends)."""
        # A list, not a generator: every letter gets its settle() call, whatever the first says.
        return self.pending == 0 and all([d.settle() for d in self.dead_letters])


class OffsetLedger:
    """Tickets in the order they were sealed, and the offsets their complete prefix allows.

    ``record`` and ``seal`` run on the consumer's thread; ``done`` and ``dead_letter`` may run
    on sender threads; every method is safe to call from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = Ticket()
        self._sealed: deque[Ticket] = deque()

    @property
    def open_ticket(self) -> Ticket:
        """The ticket of the records read since the last seal (batches reference it)."""
        return self._open

    def record(self, partition: Hashable, offset: int) -> None:
        """Record ``offset`` of ``partition`` as read (into the open ticket)."""
        self._open.offsets[partition] = offset + 1

    def dead_letter(self, letter: DeadLetterLike, ticket: Ticket | None = None) -> None:
        """Hold ``ticket`` (the open one by default) until ``letter`` is delivered."""
        with self._lock:
            (ticket or self._open).dead_letters.append(letter)

    def seal(self, batches: int) -> Ticket | None:
        """Close the open ticket with ``batches`` pending; None when it holds no record."""
        if not self._open.offsets:
            return None
        ticket, self._open = self._open, Ticket()
        with self._lock:
            ticket.pending = batches
            self._sealed.append(ticket)
        return ticket

    def done(self, ticket: Ticket) -> None:
        """One batch of ``ticket`` was acknowledged (or its refusals dead-lettered)."""
        with self._lock:
            if ticket.pending <= 0:
                raise ValueError("a batch was reported done more often than it was sealed")
            ticket.pending -= 1

    def committable(self) -> dict[Any, int]:
        """Pop the complete prefix of sealed tickets and return the offsets it allows."""
        offsets: dict[Any, int] = {}
        with self._lock:
            while self._sealed and self._sealed[0].complete():
                offsets.update(self._sealed.popleft().offsets)
        return offsets

    def drained(self) -> bool:
        """Whether every sealed ticket is complete."""
        with self._lock:
            return all(t.complete() for t in self._sealed)

    def revoke(self, partitions: Iterable[Hashable]) -> None:
        """Forget ``partitions``: their unacknowledged records are the next owner's to read.

        Sealed tickets keep waiting for their batches (other partitions' offsets ride on
        them); they only stop carrying offsets of the revoked partitions.
        """
        gone = set(partitions)
        with self._lock:
            for ticket in (*self._sealed, self._open):
                for partition in gone:
                    ticket.offsets.pop(partition, None)

    def __len__(self) -> int:
        """Sealed tickets not yet committed."""
        with self._lock:
            return len(self._sealed)
