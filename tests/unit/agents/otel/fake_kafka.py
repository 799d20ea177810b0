"""An in-memory stand-in for kafka-python's producer, with a switch to make the broker vanish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class FatalProducerError(Exception):
    """A non-retriable producer error (like UnknownProducerIdError after a restart)."""

    retriable = False


class _Future:
    def __init__(self, ok: bool, fatal: bool = False) -> None:
        self._ok = ok
        error = FatalProducerError("producer fenced") if fatal else ConnectionError("unreachable")
        self.exception = None if ok else error

    def succeeded(self) -> bool:
        return self._ok

    def failed(self) -> bool:
        return not self._ok


@dataclass
class Record:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class FakeProducer:
    """Records what it is sent; while ``down`` every send fails like an unreachable broker.

    While ``broken``, sends fail with a fatal error until a new producer is created.
    """

    down: bool = False
    broken: bool = False
    records: list[Record] = field(default_factory=list)
    created: int = 0
    closed: int = 0

    def __call__(self) -> FakeProducer:
        # Used as the producer factory: creating fails while the broker is down.
        if self.down:
            raise ConnectionError("NoBrokersAvailable")
        self.created += 1
        self.broken = False
        return self

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Any:
        if self.down or self.broken:
            return _Future(False, fatal=self.broken)
        self.records.append(Record(topic, key, value, headers))
        return _Future(True)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed += 1
