"""Typed probe outcomes and the thread-safe store of the latest one per target.

The probe loop writes results as probes finish; the agent's collection cycle reads the latest
ones, so a slow probe never stalls a collection::

    store = ResultStore()
    store.put(ProbeResult(target="kafka", kind="tcp", success=True, duration_s=0.001))
    latest = store.snapshot()
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["FAILURE_REASONS", "FailureReason", "ProbeResult", "ResultStore"]


class FailureReason:
    """Why a probe failed, as the ``reason`` label of the failure counter."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    DNS = "dns"
    TLS = "tls"
    HTTP_STATUS = "http_status"
    PROTOCOL = "protocol"
    ERROR = "error"
    # The agent may not run this kind of probe here (unprivileged ICMP not permitted): the
    # target is not down, it is unmeasured, and says so instead of vanishing.
    NOT_PERMITTED = "not_permitted"


#: Every :class:`FailureReason` value, the failure counter's known ``reason`` labels.
FAILURE_REASONS: tuple[str, ...] = tuple(
    value for name, value in vars(FailureReason).items() if name.isupper()
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe run.

    Attributes:
        target: the target's configured name.
        kind: ``tcp``, ``icmp``, ``http`` or ``throughput``.
        success: whether the target answered as expected.
        duration_s: wall time of the whole probe.
        peer: the peer node or site this target stands for ("" for a plain service).
        peer_site: the peer's site ("" when unknown).
        rtt_s: round-trip time (TCP connect or ICMP echo), when measured.
        throughput_bytes_per_s: transfer rate of a throughput test, when measured.
        transferred_bytes: bytes moved by a throughput test.
        status_code: the HTTP status code, when an answer came.
        cert_expiry_s: the leaf TLS certificate's notAfter as a Unix timestamp, when TLS was used.
        failure: a :class:`FailureReason` value when ``success`` is false.
        detail: a short human message for logs.
    """

    target: str
    kind: str
    success: bool
    duration_s: float
    peer: str = ""
    peer_site: str = ""
    rtt_s: float | None = None
    throughput_bytes_per_s: float | None = None
    transferred_bytes: int | None = None
    status_code: int | None = None
    cert_expiry_s: float | None = None
    failure: str | None = None
    detail: str = ""


@dataclass
class ResultStore:
    """The latest result per target, and failure counts by target and reason."""

    _latest: dict[str, ProbeResult] = field(default_factory=dict)
    _failures: dict[tuple[str, str], int] = field(default_factory=dict)
    _runs: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, result: ProbeResult) -> None:
        """Record a finished probe."""
        with self._lock:
            self._latest[result.target] = result
            self._runs[result.target] = self._runs.get(result.target, 0) + 1
            if not result.success:
                key = (result.target, result.failure or FailureReason.ERROR)
                self._failures[key] = self._failures.get(key, 0) + 1

    def snapshot(self) -> list[ProbeResult]:
        """Return the latest result of every target that ran at least once."""
        with self._lock:
            return list(self._latest.values())

    def failures(self) -> dict[tuple[str, str], int]:
        """Return cumulative failure counts keyed by (target, reason)."""
        with self._lock:
            return dict(self._failures)

    def runs(self) -> dict[str, int]:
        """Return cumulative run counts per target."""
        with self._lock:
            return dict(self._runs)

    def get(self, target: str) -> ProbeResult | None:
        """Return the latest result of one target, if it ran."""
        with self._lock:
            return self._latest.get(target)
