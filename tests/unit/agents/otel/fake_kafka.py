"""An in-memory stand-in for kafka-python's producer, with a switch to make the broker vanish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class _Future:
    def __init__(self, ok: bool) -> None:
        self._ok = ok
        self.exception = None if ok else ConnectionError("broker unreachable")

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
    """Records what it is sent; while ``down`` every send fails like an unreachable broker."""

    down: bool = False
    records: list[Record] = field(default_factory=list)
    created: int = 0
    closed: int = 0

    def __call__(self) -> FakeProducer:
        # Used as the producer factory: creating fails while the broker is down.
        if self.down:
            raise ConnectionError("NoBrokersAvailable")
        self.created += 1
        return self

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Any:
        if self.down:
            return _Future(False)
        self.records.append(Record(topic, key, value, headers))
        return _Future(True)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed += 1
