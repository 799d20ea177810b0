"""Exceptions of the pipeline package.

::

    PipelineError
     └── RecordError      a Kafka record unusable as a whole (dead-lettered with its reason)
    ConfigError (ValueError, in pipeline._settings)  a bad setting, naming its key
"""

from __future__ import annotations

__all__ = ["DEAD_LETTER_REASONS", "PipelineError", "RecordError"]

#: Every reason a record is dead-lettered for (the ``reason`` label of the dead-letter counter,
#: whose series start at 0): the reasons of :class:`RecordError`, a decoder's own failure
#: (``internal``) and a part Prometheus refused for good (``remote_write_rejected``).
DEAD_LETTER_REASONS = (
    "bad_header",
    "content_type",
    "missing_identity",
    "parse",
    "invalid_utf8",
    "internal",
    "remote_write_rejected",
)


class PipelineError(Exception):
    """Base of the pipeline's own errors."""


class RecordError(PipelineError):
    """A record cannot be used at all; it goes to the dead-letter topic.

    Attributes:
        reason: a short machine-readable reason (the ``error.reason`` header).
        detail: what was wrong, for people (the ``error.detail`` header).
    """

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
