"""Network and probes: links between nodes (RTT, throughput) and service checks (variable ``node``,
the probing node)."""

from __future__ import annotations

from dashboards._spec import DashboardSpec, Panel, PanelKind, Query, Row, Variable, stat, timeseries

__all__ = ["NETWORK"]

_N = '{node="$node"}'
_PEER = "{{probe}} → {{peer}}"

_SUMMARY = Row(
    "Probes from $node",
    (
        stat("Probes", f"count(continuum_probe_success{_N})"),
        stat(
            "Failing now",
            f"count(continuum_probe_success{_N} == 0) or vector(0)",
            description="Targets whose last probe failed.",
        ),
        stat(
            "Success rate",
            f"avg(continuum_probe_success{_N})",
            unit="percentunit",
        ),
        stat(
            "Earliest certificate expiry",
            f"min(continuum_probe_tls_cert_expiry_seconds{_N}) - time()",
            unit="s",
            needs="tls",
            description="Time left on the first TLS certificate to expire among probed services.",
            width=12,
        ),
    ),
)

_LINKS = Row(
    "Links",
    (
        timeseries(
            "Round-trip time",
            Query(f"continuum_probe_rtt_seconds{_N}", f"{_PEER} ({{{{probe_kind}}}})"),
            unit="s",
            description="TCP connect or ICMP echo time; the API prices data movement with it.",
        ),
        timeseries(
            "Throughput",
            Query(f"continuum_probe_throughput_bytes_per_second{_N}", _PEER),
            unit="Bps",
            description="Bounded download test from each peer's responder.",
        ),
        timeseries(
            "Probe duration",
            Query(f"continuum_probe_duration_seconds{_N}", f"{_PEER} ({{{{probe_kind}}}})"),
            unit="s",
        ),
        timeseries(
            "Failures by reason",
            Query(
                f"sum by (probe, reason) (rate(continuum_probe_failures_total{_N}"
                "[$__rate_interval]))",
                "{{probe}}: {{reason}}",
            ),
            description="Failed probes per second: timeout, refused, dns, tls, http_status, ...",
        ),
    ),
)

_SERVICES = Row(
    "Services",
    (
        Panel(
            "Last result by target",
            (Query(f"continuum_probe_success{_N}", _PEER, instant=True),),
            kind=PanelKind.BARGAUGE,
            description="1 when the last probe succeeded, 0 when it failed.",
            width=8,
        ),
        Panel(
            "HTTP status",
            (Query(f"continuum_probe_http_status_code{_N}", "{{probe}}", instant=True),),
            kind=PanelKind.TABLE,
            width=8,
        ),
        Panel(
            "Certificate expiry",
            (
                Query(
                    f"continuum_probe_tls_cert_expiry_seconds{_N} - time()",
                    "{{probe}}",
                    instant=True,
                    needs="tls",
                ),
            ),
            kind=PanelKind.TABLE,
            unit="s",
            description="Time left before each probed service's TLS certificate expires.",
            width=8,
        ),
        timeseries(
            "Probe rate",
            Query(
                f"sum by (probe) (rate(continuum_probe_runs_total{_N}[$__rate_interval]))",
                "{{probe}}",
            ),
            description="Probes run per second, by target.",
        ),
        timeseries(
            "Throughput tests served to peers",
            Query(
                f"sum by (outcome) (rate(continuum_probe_responder_tests_total{_N}"
                "[$__rate_interval]))",
                "{{outcome}}",
            ),
            Query(
                f"rate(continuum_probe_responder_sent_bytes_total{_N}[$__rate_interval])",
                "bytes/s sent",
            ),
        ),
    ),
)

_TRAFFIC = Row(
    "Node traffic",
    (
        timeseries(
            "Received by node",
            Query("continuum:node_network_receive_bytes:rate1m", "{{node}}"),
            unit="Bps",
        ),
        timeseries(
            "Sent by node",
            Query("continuum:node_network_transmit_bytes:rate1m", "{{node}}"),
            unit="Bps",
        ),
    ),
)

NETWORK = DashboardSpec(
    uid="continuum-network",
    title="Continuum network and probes",
    description="Link RTT and throughput between nodes, service probes and certificates.",
    rows=(_SUMMARY, _LINKS, _SERVICES, _TRAFFIC),
    variables=(Variable("node", "node", "continuum_probe_runs_total", "Probing node"),),
)
