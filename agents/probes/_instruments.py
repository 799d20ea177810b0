"""The probe agent's instruments, as a collector that reads the latest probe results.

Probes run on their own schedules (see ``_engine``); this collector only turns the latest result
of each target into readings, so a collection cycle costs a dictionary copy whatever the probes
are doing. Names and units are the ``continuum.probe.*`` entries of
``pipeline/catalogue/_probes.py`` (a unit test pins the translation)::

    collector = ProbeCollector(store, runner)
    readings = collector.collect()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agents._otel._records import InstrumentKind, InstrumentSpec, Reading
from agents.probes._engine import ProbeRunner
from agents.probes._results import FAILURE_REASONS, ProbeResult, ResultStore

__all__ = ["PROBE_INSTRUMENTS", "ProbeCollector"]

_GAUGE, _COUNTER = InstrumentKind.GAUGE, InstrumentKind.COUNTER

SUCCESS = InstrumentSpec(
    "continuum.probe.success",
    _GAUGE,
    "1",
    "1 when the last probe of the target succeeded, 0 when it failed.",
)
DURATION = InstrumentSpec(
    "continuum.probe.duration",
    _GAUGE,
    "s",
    "Wall time of the last probe of the target (response time for HTTP).",
)
RTT = InstrumentSpec(
    "continuum.probe.rtt",
    _GAUGE,
    "s",
    "Round-trip time to the target: TCP connect time or ICMP echo time (probe_kind).",
)
THROUGHPUT = InstrumentSpec(
    "continuum.probe.throughput",
    _GAUGE,
    "By/s",
    "Download rate of the last bounded throughput test from the peer's responder.",
)
HTTP_STATUS = InstrumentSpec(
    "continuum.probe.http.status_code",
    _GAUGE,
    "",
    "HTTP status code of the last answer of the target.",
)
CERT_EXPIRY = InstrumentSpec(
    "continuum.probe.tls.cert_expiry",
    _GAUGE,
    "s",
    "Unix time at which the target's TLS leaf certificate expires (notAfter).",
)
RUNS = InstrumentSpec(
    "continuum.probe.runs",
    _COUNTER,
    "{probe}",
    "Probes of the target run since the agent started.",
)
FAILURES = InstrumentSpec(
    "continuum.probe.failures",
    _COUNTER,
    "{probe}",
    "Failed probes of the target by reason (timeout, refused, dns, tls, http_status, ...).",
)
RESPONDER_TESTS = InstrumentSpec(
    "continuum.probe.responder.tests",
    _COUNTER,
    "{test}",
    "Throughput tests the local responder served or refused (outcome), for peers.",
)
RESPONDER_SENT = InstrumentSpec(
    "continuum.probe.responder.sent",
    _COUNTER,
    "By",
    "Payload bytes the local throughput responder sent to peers.",
)

#: Every instrument of the probe agent.
PROBE_INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    SUCCESS,
    DURATION,
    RTT,
    THROUGHPUT,
    HTTP_STATUS,
    CERT_EXPIRY,
    RUNS,
    FAILURES,
    RESPONDER_TESTS,
    RESPONDER_SENT,
)

# Kinds whose RTT is a link round trip (a throughput test's connect time is not reported twice).
_RTT_KINDS = frozenset({"tcp", "icmp"})


def _labels(result: ProbeResult) -> dict[str, str]:
    return {
        "probe": result.target,
        "probe_kind": result.kind,
        "peer": result.peer,
        "peer_site": result.peer_site,
    }


def _peer_labels(result: ProbeResult) -> dict[str, str]:
    return {"probe": result.target, "peer": result.peer, "peer_site": result.peer_site}


# (instrument, value of a result or None when not measured, labels)
_PER_RESULT: tuple[
    tuple[
        InstrumentSpec,
        Callable[[ProbeResult], float | None],
        Callable[[ProbeResult], dict[str, str]],
    ],
    ...,
] = (
    (SUCCESS, lambda r: 1.0 if r.success else 0.0, _labels),
    (DURATION, lambda r: r.duration_s, _labels),
    (RTT, lambda r: r.rtt_s if r.kind in _RTT_KINDS and r.success else None, _labels),
    (THROUGHPUT, lambda r: r.throughput_bytes_per_s, _peer_labels),
    (HTTP_STATUS, lambda r: r.status_code, _peer_labels),
    (CERT_EXPIRY, lambda r: r.cert_expiry_s, _labels),
)


class ProbeCollector:
    """A collector (``agents._otel`` protocol) over the probe results and the responder.

    Args:
        store: the latest results.
        runner: the probe runner (targets and the local throughput responder).
    """

    name = "probes"
    instruments: Sequence[InstrumentSpec] = PROBE_INSTRUMENTS

    def __init__(self, store: ResultStore, runner: ProbeRunner) -> None:
        self._store = store
        self._runner = runner

    def collect(self) -> list[Reading]:
        """Readings of the latest result of every target, run and failure counts, responder."""
        latest = {result.target: result for result in self._store.snapshot()}
        readings: list[Reading] = []
        for result in latest.values():
            for spec, value, labels in _PER_RESULT:
                measured = value(result)
                if measured is not None:
                    readings.append(Reading(spec.name, float(measured), labels(result)))
        for name, count in self._store.runs().items():
            if name in latest:
                readings.append(Reading(RUNS.name, count, _labels(latest[name])))
        # Every known reason of every target that ran, from 0: a panel or rule over the
        # failures shows 0, not "No data", until the first one (Prometheus's practice for
        # counters with known label values).
        failures = self._store.failures()
        for name, result in latest.items():
            for reason in FAILURE_REASONS:
                failure_labels = {**_labels(result), "reason": reason}
                count = failures.get((name, reason), 0)
                readings.append(Reading(FAILURES.name, count, failure_labels))
        responder = self._runner.responder
        if responder is not None:
            readings.append(
                Reading(RESPONDER_TESTS.name, responder.served_tests, {"outcome": "served"})
            )
            readings.append(
                Reading(RESPONDER_TESTS.name, responder.refused_tests, {"outcome": "refused"})
            )
            readings.append(Reading(RESPONDER_SENT.name, responder.served_bytes))
        return readings
