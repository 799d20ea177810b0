"""Dead letters: headers, resend after failure, oversize records forwarded without their value."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline import _deadletter
from pipeline._deadletter import DeadLetter
from pipeline._kafka import KafkaError, MessageSizeTooLargeError
from pipeline._writer import RecordRef


class Future:
    def __init__(self, error: Exception | None = None, done: bool = True):
        self.is_done = done
        self.exception = error

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None


class Producer:
    """Answers each send with the next scripted outcome (an exception raised, or a future)."""

    def __init__(self, outcomes: list[Any]):
        self.outcomes = outcomes
        self.sent: list[dict[str, Any]] = []

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> Future:
        self.sent.append({"topic": topic, "key": key, "value": value, "headers": dict(headers)})
        outcome = self.outcomes.pop(0) if self.outcomes else Future()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


REF = RecordRef(
    "otlp_metrics", 3, 42, b"n1", b"payload", [("content-type", b"x"), ("error.reason", b"old")]
)


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_deadletter, "_RESEND_INTERVAL_S", 0.0)


def test_headers_and_delivery() -> None:
    producer = Producer([Future()])
    assert DeadLetter(producer, "dlq", REF, "decode", "bad bytes").settle()
    [sent] = producer.sent
    assert sent["topic"] == "dlq"
    assert sent["key"] == b"n1"
    assert sent["value"] == b"payload"
    assert sent["headers"] == {
        "content-type": b"x",
        "error.reason": b"decode",
        "error.detail": b"bad bytes",
        "source.partition": b"3",
        "source.offset": b"42",
    }


def test_a_failed_send_is_sent_again_until_delivered() -> None:
    producer = Producer(
        [KafkaError("no broker"), Future(KafkaError("timeout")), Future(done=False)]
    )
    letter = DeadLetter(producer, "dlq", REF, "decode", "x")
    assert not letter.settle()  # the send raised: sent again
    assert not letter.settle()  # that future failed: sent again
    assert not letter.settle()  # in flight
    letter._future.is_done = True
    assert letter.settle()
    assert len(producer.sent) == 3


@pytest.mark.parametrize("where", ["send", "future"])
def test_an_oversize_record_goes_without_its_value(where: str) -> None:
    too_large = MessageSizeTooLargeError("1200000 bytes")
    outcome = too_large if where == "send" else Future(too_large)
    producer = Producer([outcome])
    letter = DeadLetter(producer, "dlq", REF, "decode", "x")
    while not letter.settle():
        pass
    last = producer.sent[-1]
    assert last["value"] == b""
    assert last["headers"]["error.value_dropped"].startswith(b"7 bytes")
    assert last["headers"]["source.offset"] == b"42"
