"""The forwarder: scrape a target every interval and queue its exposition for Kafka.

One thread owns the schedule (``Event.wait``); a scrape that fails is counted and logged once
per episode, and the next one runs on time. The sender thread delivers independently, so a slow
broker never delays a scrape. :class:`ForwardCollector` reports the counters as the agent's
``continuum.forward.*`` instruments::

    forwarder = Forwarder(scraper, queue, sender, identity=identity, interval_s=15,
                          max_message_bytes=900_000)
    forwarder.start()
    ...
    forwarder.stop()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from agents._otel._records import InstrumentKind, InstrumentSpec, Reading
from agents._otel._settings import IdentitySettings
from agents.forward._records import build_record
from agents.forward._scrape import ScrapeError, Scraper
from agents.forward._sender import RecordQueue, RecordSender
from agents.forward._split import split_exposition

__all__ = ["FORWARD_INSTRUMENTS", "ForwardCollector", "Forwarder"]

_log = logging.getLogger(__name__)

_OPENMETRICS = "application/openmetrics-text"


class Forwarder:
    """Scrapes on a schedule and queues records.

    Args:
        scraper: the target's scraper.
        queue: where records go.
        sender: the queue's sender (started and stopped with the forwarder).
        identity: the ``identity`` section (record key and headers).
        interval_s: time between scrape starts.
        max_message_bytes: larger expositions are split at family bounds.
    """

    def __init__(
        self,
        scraper: Scraper,
        queue: RecordQueue,
        sender: RecordSender,
        *,
        identity: IdentitySettings,
        interval_s: float,
        max_message_bytes: int,
    ) -> None:
        self.scraper = scraper
        self.queue = queue
        self.sender = sender
        self._identity = identity
        self._interval_s = interval_s
        self._max_message_bytes = max_message_bytes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.scrapes_ok = 0
        self.scrapes_failed = 0
        self.last_duration_s: float | None = None
        self.last_size_bytes: int | None = None

    def start(self) -> None:
        """Start sending and scraping."""
        self.sender.start()
        self._thread = threading.Thread(target=self._loop, name="forward-scrape", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop scraping, deliver what is queued within ``timeout_s``, release (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
            self.sender.shutdown(timeout_s * 1000)
            self.scraper.close()

    def scrape_once(self) -> int:
        """Scrape and queue; return the records queued (0 when the scrape failed)."""
        try:
            scrape = self.scraper.scrape()
            openmetrics = scrape.content_type.startswith(_OPENMETRICS)
            parts = split_exposition(
                scrape.body, max_bytes=self._max_message_bytes, openmetrics=openmetrics
            )
        except (ScrapeError, ValueError) as err:
            self.scrapes_failed += 1
            if not self._failing:
                self._failing = True
                _log.warning(
                    "scrape of %s failed (%s); retrying every interval", self.scraper.url, err
                )
            return 0
        if self._failing:
            self._failing = False
            _log.info("scrape of %s works again", self.scraper.url)
        self.scrapes_ok += 1
        self.last_duration_s = scrape.duration_s
        self.last_size_bytes = len(scrape.body)
        for part in parts:
            self.queue.put(build_record(scrape, part, self._identity, self.scraper.url))
        return len(parts)

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.scrape_once()
            except Exception:  # a broken cycle must not end the daemon
                _log.exception("forward cycle failed")
            next_at += self._interval_s
            now = time.monotonic()
            if next_at < now:  # fell behind: skip, do not burst
                next_at = now + self._interval_s
            self._stop.wait(next_at - now)


_G, _C = InstrumentKind.GAUGE, InstrumentKind.COUNTER

#: The forwarder's own instruments (``pipeline/catalogue/_probes.py`` catalogues them).
FORWARD_INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    InstrumentSpec(
        "continuum.forward.scrapes",
        _C,
        "{scrape}",
        "Scrapes of the forwarded endpoint by outcome (ok, error).",
    ),
    InstrumentSpec(
        "continuum.forward.scrape.duration",
        _G,
        "s",
        "Wall time of the last scrape of the forwarded endpoint.",
    ),
    InstrumentSpec(
        "continuum.forward.scrape.size",
        _G,
        "By",
        "Size of the last exposition scraped from the forwarded endpoint.",
    ),
    InstrumentSpec(
        "continuum.forward.records",
        _C,
        "{record}",
        "Expositions handed to Kafka by outcome (sent, dropped: queue full, lost: retries spent).",
    ),
    InstrumentSpec(
        "continuum.forward.sent",
        _C,
        "By",
        "Exposition bytes acknowledged by Kafka.",
    ),
    InstrumentSpec(
        "continuum.forward.retries",
        _C,
        "{retry}",
        "Sends to Kafka retried after an error.",
    ),
    InstrumentSpec(
        "continuum.forward.queue.depth",
        _G,
        "{record}",
        "Expositions waiting in the forwarder's bounded queue.",
    ),
)


class ForwardCollector:
    """A collector (``agents._otel`` protocol) over a :class:`Forwarder`'s counters."""

    name = "forward"
    instruments: Sequence[InstrumentSpec] = FORWARD_INSTRUMENTS

    def __init__(self, forwarder: Forwarder) -> None:
        self._forwarder = forwarder

    def collect(self) -> list[Reading]:
        """Read the counters."""
        fw = self._forwarder
        target = {"scrape_target": fw.scraper.url}
        readings = [
            Reading("continuum.forward.scrapes", fw.scrapes_ok, {**target, "outcome": "ok"}),
            Reading("continuum.forward.scrapes", fw.scrapes_failed, {**target, "outcome": "error"}),
            Reading("continuum.forward.records", fw.sender.sent, {**target, "outcome": "sent"}),
            Reading(
                "continuum.forward.records", fw.queue.dropped, {**target, "outcome": "dropped"}
            ),
            Reading("continuum.forward.records", fw.sender.lost, {**target, "outcome": "lost"}),
            Reading("continuum.forward.sent", fw.sender.sent_bytes, target),
            Reading("continuum.forward.retries", fw.sender.retries, target),
            Reading("continuum.forward.queue.depth", fw.queue.depth, target),
        ]
        if fw.last_duration_s is not None:
            readings.append(
                Reading("continuum.forward.scrape.duration", fw.last_duration_s, target)
            )
        if fw.last_size_bytes is not None:
            readings.append(Reading("continuum.forward.scrape.size", fw.last_size_bytes, target))
        return readings
