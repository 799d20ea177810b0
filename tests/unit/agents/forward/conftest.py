"""A fake Kafka producer for the forwarder's unit tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class _Future:
    error: BaseException | None

    def succeeded(self) -> bool:
        return self.error is None

    def failed(self) -> bool:
        return self.error is not None

    @property
    def exception(self) -> BaseException | None:
        return self.error


@dataclass
class FakeBroker:
    """Records what producers sent; ``down`` makes sends fail (as an unreachable broker)."""

    down: bool = False
    records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)
    producers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def factory(self) -> Any:
        broker = self

        class Producer:
            def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> _Future:
                if broker.down:
                    return _Future(ConnectionError("broker down"))
                with broker.lock:
                    broker.records.append((topic, key, value, list(headers)))
                return _Future(None)

            def flush(self, timeout: float | None = None) -> None:
                pass

            def close(self, timeout: float | None = None) -> None:
                pass

        self.producers += 1
        return Producer()


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()
