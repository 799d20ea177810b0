"""Release the SDK's state for series of containers that are gone.

The OTel SDK keeps one aggregation per attribute set an instrument ever saw, for the life of
the process, and past ``cardinality_limit`` (2000 by default) folds new sets into an
``otel.metric.overflow`` series. Observable instruments already stop reporting a set that the
callback no longer observes, so nothing stale is exported; but on a node where containers come
and go (CronJobs, CI runners) the dead sets pile up, each collection walks them all, and after a
few thousand the live containers would be folded into the overflow series. The meter provider's
views belong to the shared wiring, so this module trims the dead sets after each cycle and lifts
the limit on the container instruments, through the SDK's internals, guarded so that a changed
SDK only disables the trimming (logged once)::

    pruner = SeriesPruner(provider, {"container.cpu.time", ...})
    pruner.prune(live_ids={"abc..."})
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider

__all__ = ["CARDINALITY_LIMIT", "SWEEP_EVERY", "SeriesPruner"]

_log = logging.getLogger(__name__)

#: Attribute sets one container instrument may hold (live containers times their sets).
CARDINALITY_LIMIT = 200_000
#: Calls between full scans when no container left.
SWEEP_EVERY = 30


class SeriesPruner:
    """Drops the SDK aggregations of containers no longer present.

    Args:
        provider: the agent's meter provider.
        instrument_names: the instruments with per-container attribute sets.
        key: the attribute that identifies a container.
    """

    def __init__(
        self, provider: MeterProvider, instrument_names: Iterable[str], key: str = "container.id"
    ) -> None:
        self._provider = provider
        self._names = frozenset(instrument_names)
        self._key = key
        self._broken = False
        self._last_live: frozenset[str] = frozenset()
        self._calls = 0
        #: Aggregations released since start.
        self.released = 0

    def _matches(self) -> list[Any]:
        consumer = self._provider._measurement_consumer
        matches: list[Any] = []
        for storage in consumer._reader_storages.values():
            with storage._lock:
                items = list(storage._instrument_view_instrument_matches.items())
            for instrument, instrument_matches in items:
                if instrument.name in self._names:
                    matches.extend(instrument_matches)
        return matches

    def prune(self, live_ids: frozenset[str]) -> int:
        """Release the aggregations of every container not in ``live_ids``.

        Returns:
            How many were released this time.
        """
        if self._broken:
            return 0
        # Scanning the tables costs one step per series: do it when a container left, and
        # every SWEEP_EVERY calls for sets a scrape racing the last scan may have re-created.
        self._calls += 1
        gone = not self._last_live <= live_ids or self._calls % SWEEP_EVERY == 0
        self._last_live = live_ids
        released = 0
        try:
            for match in self._matches():
                with match._lock:
                    match._cardinality_limit = max(match._cardinality_limit, CARDINALITY_LIMIT)
                    if not gone:
                        continue
                    table = match._attributes_aggregation
                    stale = [
                        k
                        for k, aggregation in table.items()
                        if aggregation._attributes.get(self._key, None) not in live_ids
                        and self._key in aggregation._attributes
                    ]
                    for k in stale:
                        del table[k]
                    released += len(stale)
        except (AttributeError, TypeError) as err:
            self._broken = True
            _log.warning("cannot trim series of vanished containers with this SDK: %r", err)
            return 0
        self.released += released
        return released
