"""Capture a task's stdout and stderr in the process that runs it, bounded and redacted.

The worker's file descriptors 1 and 2 are pointed at temporary files for the call, so output
of C extensions and child processes is caught along with ``print``. Each stream keeps its last
``max_bytes_per_stream`` bytes (the end of a failing task's output says most), behind a marker
that says how much was dropped. Values of the environment variables named in ``redact_env``, as
the worker sees them, are replaced by ``[REDACTED]`` before the text leaves the worker::

    capture = LogCapture(max_bytes_per_stream=1 << 20, redact_env=("AWS_SECRET_ACCESS_KEY",))
    with capture.capturing() as output:
        task()
    output.result.stdout
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TextIO

__all__ = [
    "DEFAULT_MAX_BYTES_PER_STREAM",
    "REDACTED",
    "LogCapture",
    "TaskOutput",
    "bound_text",
    "redact",
    "secret_values",
]

#: Output kept per stream per attempt unless configured otherwise.
DEFAULT_MAX_BYTES_PER_STREAM = 1 << 20
REDACTED = "[REDACTED]"
# Shorter values would redact half of every log ("1", "true").
_MIN_SECRET_CHARS = 4


@dataclass(frozen=True, slots=True)
class TaskOutput:
    """What one attempt wrote.

    Attributes:
        stdout: the kept text of standard output (with a truncation marker when cut).
        stderr: the same for standard error.
        stdout_dropped_bytes: bytes of standard output dropped from the start.
        stderr_dropped_bytes: the same for standard error.
    """

    stdout: str = ""
    stderr: str = ""
    stdout_dropped_bytes: int = 0
    stderr_dropped_bytes: int = 0


def secret_values(names: Iterable[str], environ: dict[str, str] | None = None) -> list[str]:
    """The values of the named environment variables that are long enough to redact."""
    env = os.environ if environ is None else environ
    values = {env[name] for name in names if len(env.get(name, "")) >= _MIN_SECRET_CHARS}
    # Longest first, so a secret that contains another is replaced whole.
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``[REDACTED]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _marker(stream: str, dropped: int) -> str:
    return f"[continuum: the first {dropped} bytes of {stream} were dropped]\n"


def bound_text(
    raw: bytes, total_bytes: int, stream: str, max_bytes: int, secrets: Iterable[str]
) -> tuple[str, int]:
    """Redact, then keep the last ``max_bytes`` bytes of a stream's tail ``raw``.

    Args:
        raw: the stream's last bytes (a little more than ``max_bytes`` when it was longer, so
            a secret cut by the boundary is still recognised).
        total_bytes: how many bytes the stream had in all.
        stream: ``stdout`` or ``stderr``, for the marker.
        max_bytes: how many bytes to keep.
        secrets: values to redact.

    Returns:
        The text to keep (with a marker when bytes were dropped) and how many were dropped.
    """
    secrets = list(secrets)
    text = redact(raw.decode("utf-8", errors="replace"), secrets)
    encoded = text.encode("utf-8")
    skipped = total_bytes - len(raw)
    if len(encoded) <= max_bytes and skipped == 0:
        return text, 0
    kept = encoded[-max_bytes:] if max_bytes > 0 else b""
    dropped = total_bytes - len(raw) + len(encoded) - len(kept)
    # A cut through a multi-byte character leaves replacement characters; ignore those.
    return _marker(stream, dropped) + kept.decode("utf-8", errors="ignore"), dropped


@dataclass(slots=True)
class _Holder:
    result: TaskOutput = field(default_factory=TaskOutput)


@dataclass(frozen=True, slots=True)
class LogCapture:
    """How executors capture task output.

    Attributes:
        max_bytes_per_stream: bytes kept per stream per attempt.
        redact_env: names of environment variables whose values never appear in logs.
    """

    max_bytes_per_stream: int = DEFAULT_MAX_BYTES_PER_STREAM
    redact_env: tuple[str, ...] = ()

    @contextmanager
    def capturing(self) -> Iterator[_Holder]:
        """Point fds 1 and 2 at temporary files for the block; the holder gets the output.

        One task runs at a time in a worker process (process pools, Ray workers), so the
        process-wide descriptors belong to the task for the duration of the call.
        """
        holder = _Holder()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            saved = _redirect(out, err)
            try:
                yield holder
            finally:
                _restore(*saved)
                secrets = secret_values(self.redact_env)
                stdout, out_dropped = self._read(out, "stdout", secrets)
                stderr, err_dropped = self._read(err, "stderr", secrets)
                holder.result = TaskOutput(stdout, stderr, out_dropped, err_dropped)

    def _read(self, handle: IO[bytes], stream: str, secrets: list[str]) -> tuple[str, int]:
        total = handle.seek(0, os.SEEK_END)
        margin = max((len(s.encode()) for s in secrets), default=0)
        start = max(0, total - self.max_bytes_per_stream - margin)
        handle.seek(start)
        return bound_text(handle.read(), total, stream, self.max_bytes_per_stream, secrets)


_Saved = tuple[tuple[TextIO, TextIO], tuple[int, int]]


def _redirect(out: IO[bytes], err: IO[bytes]) -> _Saved:
    python_streams = (sys.stdout, sys.stderr)
    for stream in python_streams:
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    copies = (os.dup(1), os.dup(2))
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    # sys.stdout may not write to fd 1 (a test runner's capture, a notebook): give the task
    # streams that do, for the duration of the call.
    sys.stdout = open(1, "w", 1, "utf-8", "replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", 1, "utf-8", "replace", closefd=False)  # noqa: SIM115
    return python_streams, copies


def _restore(python_streams: tuple[TextIO, TextIO], copies: tuple[int, int]) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a task that closed its stream
            stream.close()
    sys.stdout, sys.stderr = python_streams
    for fd, copy in zip((1, 2), copies, strict=True):
        os.dup2(copy, fd)
        os.close(copy)
