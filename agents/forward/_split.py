"""Split a text exposition into parts under the Kafka message limit, at metric family bounds.

Each part is a valid exposition on its own: families are never cut unless one family alone is
over the limit, in which case its samples are spread over parts that each repeat its
``# HELP``/``# TYPE`` lines. OpenMetrics parts each end with ``# EOF``::

    parts = split_exposition(body, max_bytes=900_000, openmetrics=True)
"""

from __future__ import annotations

__all__ = ["split_exposition"]

_EOF = b"# EOF\n"


def _family_name(line: bytes) -> bytes | None:
    """The family a ``# HELP``/``# TYPE``/``# UNIT`` line names, else None."""
    parts = line.split(b" ", 3)
    if len(parts) >= 3 and parts[0] == b"#" and parts[1] in (b"HELP", b"TYPE", b"UNIT"):
        return parts[2]
    return None


def _families(lines: list[bytes]) -> list[tuple[list[bytes], list[bytes]]]:
    """Group lines into (metadata lines, sample lines) per family, in order."""
    families: list[tuple[list[bytes], list[bytes]]] = []
    current: bytes | None = None
    for line in lines:
        name = _family_name(line)
        if name is not None:
            if name != current or not families or families[-1][1]:
                families.append(([], []))
                current = name
            families[-1][0].append(line)
        elif line.startswith(b"#"):
            continue  # other comments carry nothing the pipeline reads
        else:
            if not families:
                families.append(([], []))
            families[-1][1].append(line)
    return families


def split_exposition(body: bytes, *, max_bytes: int, openmetrics: bool) -> list[bytes]:
    """Return ``body`` whole when it fits, else parts of at most ``max_bytes`` each.

    Args:
        body: a Prometheus text or OpenMetrics exposition.
        max_bytes: the largest part.
        openmetrics: whether parts must end with ``# EOF``.

    Raises:
        ValueError: a single sample line (with its family's metadata) is over ``max_bytes``.
    """
    if len(body) <= max_bytes:
        return [body]
    trailer = _EOF if openmetrics else b""
    budget = max_bytes - len(trailer)
    lines = [line + b"\n" for line in body.split(b"\n") if line and line != _EOF.strip()]
    parts: list[bytes] = []
    chunk: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal chunk, size
        if chunk:
            parts.append(b"".join(chunk) + trailer)
        chunk, size = [], 0

    for meta, samples in _families(lines):
        family_size = sum(map(len, meta)) + sum(map(len, samples))
        if size + family_size > budget:
            flush()
        if family_size <= budget:
            chunk.extend(meta)
            chunk.extend(samples)
            size += family_size
            continue
        # One family over the limit: spread its samples, repeating its metadata in each part.
        meta_size = sum(map(len, meta))
        chunk, size = list(meta), meta_size
        for sample in samples:
            if meta_size + len(sample) > budget:
                raise ValueError(f"a sample line of {len(sample)} bytes exceeds {max_bytes}")
            if size + len(sample) > budget:
                flush()
                chunk, size = list(meta), meta_size
            chunk.append(sample)
            size += len(sample)
        flush()
    flush()
    return parts
