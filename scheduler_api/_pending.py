"""Load placed on nodes that their metrics do not show yet.

Without this, a burst of requests all see the same snapshot and all pick the same best node.
Each placement is counted against its node until it expires (by then the pipeline's one-minute
averages carry it)::

    ledger = PendingLedger(ttl_s=60)
    ledger.add("n1", Reservation(cpu_cores=2), now_s=time.time())
    ledger.totals(now_s=time.time())  # {"n1": Reservation(cpu_cores=2, ...)}
"""

from __future__ import annotations

import threading
from collections import deque

from scheduler_api.ranking import Reservation

__all__ = ["PendingLedger"]


class PendingLedger:
    """Recent reservations per node, each expiring ``ttl_s`` after it was made."""

    def __init__(self, ttl_s: float):
        self.ttl_s = ttl_s
        self._entries: deque[tuple[float, str, Reservation]] = deque()
        self._totals: dict[str, Reservation] = {}
        self._lock = threading.Lock()

    def add(self, node_id: str, reservation: Reservation, *, now_s: float) -> None:
        """Count ``reservation`` against ``node_id`` from now on."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._expire(now_s)
            self._entries.append((now_s + self.ttl_s, node_id, reservation))
            self._totals[node_id] = self._totals.get(node_id, Reservation()) + reservation

    def totals(self, *, now_s: float) -> dict[str, Reservation]:
        """Unexpired reservations summed per node."""
        with self._lock:
            self._expire(now_s)
            return dict(self._totals)

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self, now_s: float) -> None:
        # Entries are appended in time order with one TTL, so expiries are sorted too.
        while self._entries and self._entries[0][0] <= now_s:
            _, node_id, reservation = self._entries.popleft()
            left = self._totals[node_id] + Reservation(
                -reservation.cpu_cores, -reservation.memory_bytes, -reservation.gpus
            )
            if left.cpu_cores <= 1e-9 and left.memory_bytes <= 0.5 and left.gpus <= 0:
                del self._totals[node_id]
            else:
                self._totals[node_id] = left
