"""The kafka-python names the worker uses, imported quietly.

kafka-python 3.0.12 calls the deprecated ``importlib.resources.read_text`` while importing, which
a test suite run with warnings as errors would fail on; the warning is not ours to fix.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
    from kafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError
    from kafka.structs import OffsetAndMetadata, TopicPartition

__all__ = [
    "ConsumerRebalanceListener",
    "KafkaConsumer",
    "KafkaError",
    "KafkaProducer",
    "MessageSizeTooLargeError",
    "OffsetAndMetadata",
    "RecordListTooLargeError",
    "TopicPartition",
]
