"""Series of the pipeline worker's self-metrics (scraped from its /metrics, port 9465)."""

from __future__ import annotations

from pipeline.catalogue._series import Series, SeriesType

_C = SeriesType.COUNTER
_G = SeriesType.GAUGE
_H = SeriesType.HISTOGRAM


def _self(
    name: str, kind: SeriesType, unit: str, help_text: str, labels: tuple[str, ...] = ()
) -> Series:
    return Series(name, kind, unit, help_text, labels=labels, source="pipeline")


PIPELINE_SELF_SERIES: tuple[Series, ...] = (
    _self(
        "continuum_pipeline_records_total",
        _C,
        "",
        "Kafka records consumed, by content type.",
        ("content_type",),
    ),
    _self(
        "continuum_pipeline_dead_letters_total",
        _C,
        "",
        "Records sent to the dead-letter topic, by reason.",
        ("reason",),
    ),
    _self(
        "continuum_pipeline_samples_written_total",
        _C,
        "",
        "Samples acknowledged by the remote-write endpoint.",
    ),
    _self(
        "continuum_pipeline_samples_dropped_total",
        _C,
        "",
        "Samples (or series occurrences) dropped by cleaning, by reason.",
        ("reason",),
    ),
    _self(
        "continuum_pipeline_otlp_records_decoded_total",
        _C,
        "",
        "OTLP records decoded, by path: template (a steady node's record, one struct unpack) "
        "or full (protobuf).",
        ("path",),
    ),
    _self(
        "continuum_pipeline_samples_adjusted_total",
        _C,
        "",
        "Samples kept after an adjustment (counter reset, unit, delta), by reason.",
        ("reason",),
    ),
    _self(
        "continuum_pipeline_remote_write_requests_total",
        _C,
        "",
        "Remote-write requests by outcome (2xx, 4xx, 5xx, error).",
        ("outcome",),
    ),
    _self(
        "continuum_pipeline_remote_write_retries_total",
        _C,
        "",
        "Remote-write attempts repeated after a 5xx or a connection error.",
    ),
    _self(
        "continuum_pipeline_remote_write_duration_seconds",
        _H,
        "seconds",
        "Time of one remote-write attempt, request to answer.",
    ),
    _self(
        "continuum_pipeline_write_lag_seconds",
        _H,
        "seconds",
        "From a record's newest sample timestamp to its acknowledgement by Prometheus.",
    ),
    _self(
        "continuum_pipeline_offset_commits_total",
        _C,
        "",
        "Offset commits made after acknowledgement.",
    ),
    _self(
        "continuum_pipeline_offset_commit_failures_total",
        _C,
        "",
        "Offset commits that failed (the records will be read again).",
    ),
    _self(
        "continuum_pipeline_backpressure_seconds_total",
        _C,
        "seconds",
        "Time consumption was paused because too many samples awaited acknowledgement.",
    ),
    _self(
        "continuum_pipeline_pending_samples",
        _G,
        "",
        "Samples handed to the writer and not yet acknowledged.",
    ),
    _self(
        "continuum_pipeline_series_tracked",
        _G,
        "",
        "Series the cleaner tracks (for resets, duplicates and the series limit).",
    ),
    _self("continuum_pipeline_nodes_tracked", _G, "", "Nodes with tracked series."),
    _self(
        "continuum_pipeline_assigned_partitions",
        _G,
        "",
        "Kafka partitions this worker holds in its consumer group.",
    ),
)
