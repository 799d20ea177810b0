"""Series of the probe agent (links and services) and of the forwarder's self-telemetry.

Link series carry ``peer`` (the peer node id) and ``peer_site``, so the API can estimate the
cost of moving data to a node from the measured RTT and bandwidth of the link, e.g.::

    max by (peer) (continuum_probe_rtt_seconds{node="edge-01", probe_kind="tcp"})
    max by (peer) (continuum_probe_throughput_bytes_per_second{node="edge-01"})

Service probes (``peer=""``) follow blackbox_exporter: success, duration, status code and the
certificate's notAfter as a timestamp.
"""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

#: Labels of every probe series beyond the identity labels.
PROBE_LABELS: tuple[str, ...] = ("probe", "probe_kind", "peer", "peer_site")
#: Labels of throughput and HTTP series (their kind is implied by the name).
_PEER_LABELS: tuple[str, ...] = ("probe", "peer", "peer_site")

_LINK_AND_SERVICE_SERIES: tuple[Series, ...] = (
    Series(
        "continuum_probe_success",
        SeriesType.GAUGE,
        "",
        "1 when the last probe of the target succeeded, 0 when it failed.",
        labels=PROBE_LABELS,
        otel_name="continuum.probe.success",
        source="probes",
    ),
    Series(
        "continuum_probe_duration_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Wall time of the last probe of the target (response time for HTTP).",
        labels=PROBE_LABELS,
        otel_name="continuum.probe.duration",
        source="probes",
    ),
    Series(
        "continuum_probe_rtt_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Round-trip time to the target: TCP connect time or ICMP echo time (probe_kind).",
        labels=PROBE_LABELS,
        otel_name="continuum.probe.rtt",
        source="probes",
    ),
    Series(
        "continuum_probe_throughput_bytes_per_second",
        SeriesType.GAUGE,
        "bytes",
        "Download rate of the last bounded throughput test from the peer's responder.",
        labels=_PEER_LABELS,
        otel_name="continuum.probe.throughput",
        source="probes",
    ),
    Series(
        "continuum_probe_http_status_code",
        SeriesType.GAUGE,
        "",
        "HTTP status code of the last answer of the target.",
        labels=_PEER_LABELS,
        otel_name="continuum.probe.http.status_code",
        source="probes",
    ),
    Series(
        "continuum_probe_tls_cert_expiry_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Unix time at which the target's TLS leaf certificate expires (notAfter).",
        labels=PROBE_LABELS,
        otel_name="continuum.probe.tls.cert_expiry",
        source="probes",
    ),
    Series(
        "continuum_probe_runs_total",
        SeriesType.COUNTER,
        "",
        "Probes of the target run since the agent started.",
        labels=PROBE_LABELS,
        otel_name="continuum.probe.runs",
        source="probes",
    ),
    Series(
        "continuum_probe_failures_total",
        SeriesType.COUNTER,
        "",
        "Failed probes of the target by reason (timeout, refused, dns, tls, http_status, ...).",
        labels=(*PROBE_LABELS, "reason"),
        otel_name="continuum.probe.failures",
        source="probes",
    ),
    Series(
        "continuum_probe_responder_tests_total",
        SeriesType.COUNTER,
        "",
        "Throughput tests the local responder served or refused (outcome), for peers.",
        labels=("outcome",),
        otel_name="continuum.probe.responder.tests",
        source="probes",
    ),
    Series(
        "continuum_probe_responder_sent_bytes_total",
        SeriesType.COUNTER,
        "bytes",
        "Payload bytes the local throughput responder sent to peers.",
        otel_name="continuum.probe.responder.sent",
        source="probes",
    ),
)

#: Self-telemetry of the forwarder (``continuum agent forward``).
FORWARD_SERIES: tuple[Series, ...] = (
    Series(
        "continuum_forward_scrapes_total",
        SeriesType.COUNTER,
        "",
        "Scrapes of the forwarded endpoint by outcome (ok, error).",
        labels=("scrape_target", "outcome"),
        otel_name="continuum.forward.scrapes",
        source="forward",
    ),
    Series(
        "continuum_forward_scrape_duration_seconds",
        SeriesType.GAUGE,
        "seconds",
        "Wall time of the last scrape of the forwarded endpoint.",
        labels=("scrape_target",),
        otel_name="continuum.forward.scrape.duration",
        source="forward",
    ),
    Series(
        "continuum_forward_scrape_size_bytes",
        SeriesType.GAUGE,
        "bytes",
        "Size of the last exposition scraped from the forwarded endpoint.",
        labels=("scrape_target",),
        otel_name="continuum.forward.scrape.size",
        source="forward",
    ),
    Series(
        "continuum_forward_records_total",
        SeriesType.COUNTER,
        "",
        "Expositions handed to Kafka by outcome (sent, dropped: queue full, lost: retries spent).",
        labels=("scrape_target", "outcome"),
        otel_name="continuum.forward.records",
        source="forward",
    ),
    Series(
        "continuum_forward_sent_bytes_total",
        SeriesType.COUNTER,
        "bytes",
        "Exposition bytes acknowledged by Kafka.",
        labels=("scrape_target",),
        otel_name="continuum.forward.sent",
        source="forward",
    ),
    Series(
        "continuum_forward_retries_total",
        SeriesType.COUNTER,
        "",
        "Sends to Kafka retried after an error.",
        labels=("scrape_target",),
        otel_name="continuum.forward.retries",
        source="forward",
    ),
    Series(
        "continuum_forward_queue_depth",
        SeriesType.GAUGE,
        "",
        "Expositions waiting in the forwarder's bounded queue.",
        labels=("scrape_target",),
        otel_name="continuum.forward.queue.depth",
        source="forward",
    ),
)

#: Everything this module catalogues; the catalogue package joins it with the other components.
PROBE_SERIES: tuple[Series, ...] = _LINK_AND_SERVICE_SERIES + FORWARD_SERIES
