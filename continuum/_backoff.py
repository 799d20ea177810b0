"""Retry delays: capped exponential backoff with jitter, waited on a stop event.

Every loop that retries something remote (the agents' and the forwarder's Kafka delivery, the
pipeline's broker connection and remote write) waits through one of these, so each doubles its
delay up to a cap, spreads a fleet's retries apart, and ends its wait the moment shutdown is
asked for::

    backoff = Backoff(0.1, 5.0)
    while not deliver():
        if backoff.wait(stop):      # True: stop was set during the wait
            return
    backoff.reset()
"""

from __future__ import annotations

import random
import threading

__all__ = ["Backoff"]


class Backoff:
    """Delays of ``initial_s``, doubling to ``max_s``, each drawn from ``[delay/2, delay]``.

    The jitter is what keeps a fleet of agents that lost the broker together from coming
    back in lockstep.
    """

    def __init__(self, initial_s: float, max_s: float) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got {initial_s} and {max_s}")
        self.initial_s = initial_s
        self.max_s = max_s
        self._delay_s = initial_s

    def reset(self) -> None:
        """Back to the first delay, after a success."""
        self._delay_s = self.initial_s

    def next_delay(self) -> float:
        """The next (jittered) delay in seconds; the one after is twice as long, up to the cap."""
        delay = random.uniform(self._delay_s / 2, self._delay_s)
        self._delay_s = min(self._delay_s * 2, self.max_s)
        return delay

    def wait(self, stop: threading.Event) -> bool:
        """Wait the next delay, or until ``stop`` is set; True if it was."""
        return stop.wait(self.next_delay())
