"""Dead letters: records unusable as a whole, sent to ``otlp_metrics.dlq`` (docs/contracts.md §3.3).

Each carries the original key and bytes, the original headers, and ``error.reason``,
``error.detail``, ``source.partition``, ``source.offset``. A record's offset is committed only
once its dead letter is delivered, so sending never gives up: a failed send is retried (at most
once a second). A record too large for the producer or the broker goes without its value, with
``error.value_dropped`` saying how large it was, rather than blocking the partition forever::

    letter = DeadLetter(producer, "otlp_metrics.dlq", ref, "decode", "not protobuf")
    while not letter.settle():   # resends after a failure; True once delivered
        ...
"""

from __future__ import annotations

import time
from typing import Any

from pipeline._kafka import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError
from pipeline._writer import RecordRef

__all__ = ["DeadLetter", "dead_letter_headers"]

_RESEND_INTERVAL_S = 1.0
_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError)


def dead_letter_headers(ref: RecordRef, reason: str, detail: str) -> list[tuple[str, bytes]]:
    """The record's own headers (earlier error headers replaced) plus the error headers."""
    kept = [(k, v) for k, v in ref.headers if not k.startswith(("error.", "source."))]
    return [
        *kept,
        ("error.reason", reason.encode()),
        ("error.detail", detail[:1000].encode()),
        ("source.partition", str(ref.partition).encode()),
        ("source.offset", str(ref.offset).encode()),
    ]


class DeadLetter:
    """One dead letter on its way; :meth:`settle` drives it until delivered.

    Args:
        producer: a thread-safe kafka-python producer.
        topic: the dead-letter topic.
        ref: the record.
        reason: ``error.reason``.
        detail: ``error.detail``.
    """

    def __init__(self, producer: Any, topic: str, ref: RecordRef, reason: str, detail: str):
        self._producer = producer
        self._topic = topic
        self.ref = ref
        self.reason = reason
        self.detail = detail
        self.value_dropped = False
        self.last_error: str | None = None
        self._future: Any = None
        self._sent_at = 0.0
        self._send()

    def _send(self) -> None:
        self._sent_at = time.monotonic()
        headers = dead_letter_headers(self.ref, self.reason, self.detail)
        value = self.ref.value
        if self.value_dropped:
            size = f"{len(value)} bytes, too large to forward"
            headers.append(("error.value_dropped", size.encode()))
            value = b""
        try:
            self._future = self._producer.send(
                self._topic, key=self.ref.key, value=value, headers=headers
            )
        except _TOO_LARGE as err:
            self._future = None
            self.last_error = str(err)
            if not self.value_dropped:
                self.value_dropped = True
                self._send()
        except KafkaError as err:
            self._future = None
            self.last_error = str(err)

    def settle(self) -> bool:
        """Return True once delivered; after a failure, send again (at most once a second)."""
        future = self._future
        if future is not None:
            if not future.is_done:
                return False
            if future.succeeded():
                return True
            error = future.exception
            self.last_error = str(error)
            if isinstance(error, _TOO_LARGE) or "too large" in str(error).lower():
                self.value_dropped = True
            self._future = None
        if time.monotonic() - self._sent_at >= _RESEND_INTERVAL_S:
            self._send()
        return False
