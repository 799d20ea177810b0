"""Backoff: doubling, capped, jittered delays, and a wait that ends on shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from continuum._backoff import Backoff


@given(
    initial=st.floats(0.001, 10.0),
    factor=st.floats(1.0, 100.0),
    steps=st.integers(1, 40),
)
def test_delays_double_to_the_cap_within_their_jitter(
    initial: float, factor: float, steps: int
) -> None:
    backoff = Backoff(initial, initial * factor)
    nominal = initial
    for _ in range(steps):
        delay = backoff.next_delay()
        assert nominal / 2 <= delay <= nominal
        nominal = min(nominal * 2, initial * factor)


def test_reset_starts_over() -> None:
    backoff = Backoff(1.0, 8.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 1.0


def test_a_wait_ends_at_once_when_stop_is_set() -> None:
    stop = threading.Event()
    backoff = Backoff(30.0, 60.0)
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    assert backoff.wait(stop) is True
    assert time.monotonic() - started < 5.0


def test_a_wait_without_stop_returns_false() -> None:
    assert Backoff(0.001, 0.002).wait(threading.Event()) is False


@pytest.mark.parametrize(("initial", "maximum"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_bad_bounds_are_refused(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial, maximum)
