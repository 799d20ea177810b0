"""Splitting expositions at family bounds under the message limit."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from agents.forward import split_exposition


def _exposition(families: int, samples: int, openmetrics: bool = False) -> bytes:
    lines = []
    for f in range(families):
        lines.append(f"# HELP fam{f} Family {f}.")
        lines.append(f"# TYPE fam{f} gauge")
        lines.extend(f'fam{f}{{i="{i}"}} {i}' for i in range(samples))
    if openmetrics:
        lines.append("# EOF")
    return ("\n".join(lines) + "\n").encode()


def _samples(parts: list[bytes], openmetrics: bool) -> list[tuple[str, tuple, float]]:
    parse = parse_openmetrics if openmetrics else parse_text
    return [
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for part in parts
        for family in parse(part.decode())
        for s in family.samples
    ]


def test_small_exposition_is_sent_whole() -> None:
    body = _exposition(3, 3)
    assert split_exposition(body, max_bytes=len(body), openmetrics=False) == [body]


@pytest.mark.parametrize("openmetrics", [False, True])
def test_large_exposition_splits_at_family_bounds(openmetrics: bool) -> None:
    body = _exposition(40, 20, openmetrics)
    parts = split_exposition(body, max_bytes=2000, openmetrics=openmetrics)
    assert len(parts) > 1
    assert all(len(part) <= 2000 for part in parts)
    if openmetrics:
        assert all(part.endswith(b"# EOF\n") for part in parts)
    # No family is cut: each appears in exactly one part.
    for f in range(40):
        assert sum(f"# TYPE fam{f} gauge".encode() in part for part in parts) == 1
    assert sorted(_samples(parts, openmetrics)) == sorted(_samples([body], openmetrics))


def test_one_oversized_family_repeats_its_metadata() -> None:
    body = _exposition(1, 400)
    parts = split_exposition(body, max_bytes=1000, openmetrics=False)
    assert len(parts) > 1
    assert all(part.startswith(b"# HELP fam0 Family 0.\n# TYPE fam0 gauge\n") for part in parts)
    assert sorted(_samples(parts, False)) == sorted(_samples([body], False))


def test_sample_line_over_the_limit_raises() -> None:
    body = b'# TYPE big gauge\nbig{l="' + b"x" * 500 + b'"} 1\n' + _exposition(5, 5)
    with pytest.raises(ValueError, match="exceeds"):
        split_exposition(body, max_bytes=200, openmetrics=False)
