"""The probe agent: link round-trip time and throughput to peers, and service checks.

Targets are probed on their own schedules with bounded concurrency and timeouts: TCP connect
RTT, ICMP echo RTT where unprivileged ICMP is permitted (skipped quietly otherwise), bounded
throughput tests against the responder every probe agent serves, and HTTP/TCP service checks
(availability, response time, status code, TLS certificate expiry), in the manner of
blackbox_exporter. Link series carry ``peer`` and ``peer_site`` so the API can price moving
data between nodes::

    from agents.probes import local_stack_targets, run
    run(Path("continuum.yaml"))       # blocks until SIGTERM

Errors: :class:`agents._otel.ConfigError` for bad settings; nothing else escapes a running agent
(probe failures are results, counted by reason).
"""

from __future__ import annotations

from agents.probes._defaults import local_stack_targets
from agents.probes._engine import ProbeRunner
from agents.probes._icmp import icmp_permitted
from agents.probes._instruments import PROBE_INSTRUMENTS, ProbeCollector
from agents.probes._main import run
from agents.probes._results import FailureReason, ProbeResult, ResultStore
from agents.probes._settings import ProbeKind, ProbesSettings, ProbeTarget, ThroughputSettings
from agents.probes._throughput import ThroughputResponder, probe_throughput

__all__ = [
    "PROBE_INSTRUMENTS",
    "FailureReason",
    "ProbeCollector",
    "ProbeKind",
    "ProbeResult",
    "ProbeRunner",
    "ProbeTarget",
    "ProbesSettings",
    "ResultStore",
    "ThroughputResponder",
    "ThroughputSettings",
    "icmp_permitted",
    "local_stack_targets",
    "probe_throughput",
    "run",
]
