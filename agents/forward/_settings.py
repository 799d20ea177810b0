"""Settings of the forwarder: section ``forward`` of continuum.yaml.

Example::

    forward:
      listen: 127.0.0.1:9468     # the forwarder's own /metrics
      interval_s: 15             # time between scrapes of the target
      scrape_timeout_s: 10
      queue_max_records: 64      # expositions held in memory; then they go to the spool
      spool_max_bytes: 268435456 # the spool's cap (the agents' key); oldest dropped past it

The target URL is not configuration but the command's argument
(``continuum agent forward --target URL``), so one file serves several forwarders.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from agents._otel._settings import AgentSettings

__all__ = ["DEFAULT_LISTEN", "ForwardSettings"]

DEFAULT_LISTEN = "127.0.0.1:9468"
DEFAULT_INTERVAL_S = 15.0
DEFAULT_SCRAPE_TIMEOUT_S = 10.0
DEFAULT_QUEUE_MAX_RECORDS = 64
#: The largest exposition read from a target; larger answers are refused as a scrape error.
DEFAULT_MAX_SCRAPE_BYTES = 32 << 20
#: Prometheus accepts samples up to its out-of-order window (10 min here) behind its head.
DEFAULT_MAX_RECORD_AGE_S = 600.0


class ForwardSettings(AgentSettings, kw_only=True):
    """The ``forward`` section: the shared agent keys plus the forwarder's own."""

    listen: Annotated[str, Meta(description="host:port where /metrics is served")] = DEFAULT_LISTEN
    interval_s: Annotated[
        float, Meta(ge=1.0, description="seconds between scrapes of the target")
    ] = DEFAULT_INTERVAL_S
    scrape_timeout_s: Annotated[
        float, Meta(gt=0.0, description="seconds one scrape may take, below interval_s")
    ] = DEFAULT_SCRAPE_TIMEOUT_S
    max_scrape_bytes: Annotated[
        int, Meta(ge=1024, description="largest exposition accepted, in bytes")
    ] = DEFAULT_MAX_SCRAPE_BYTES
    queue_max_records: Annotated[
        int, Meta(ge=1, description="records held in memory before spilling to the spool")
    ] = DEFAULT_QUEUE_MAX_RECORDS
    max_record_age_s: Annotated[
        float,
        Meta(gt=0.0, description="seconds a record may wait for Kafka before it is counted lost"),
    ] = DEFAULT_MAX_RECORD_AGE_S
    tls_insecure_skip_verify: Annotated[
        bool, Meta(description="scrape https targets without verifying their certificate")
    ] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scrape_timeout_s > self.interval_s:
            raise ValueError("scrape_timeout_s: must not exceed interval_s")
