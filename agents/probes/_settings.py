"""Settings of the probe agent: section ``probes`` of continuum.yaml.

Example::

    probes:
      listen: 127.0.0.1:9466
      interval_s: 15
      targets:
        - {name: kafka, kind: tcp, address: 127.0.0.1:9092}
        - {name: api, kind: http, address: http://127.0.0.1:8080/healthz}
        - {name: hpc-1, kind: tcp, address: 10.0.0.7:22, peer: hpc-1, site: bsc}
        - {name: hpc-1-bw, kind: throughput, address: 10.0.0.7:9469, peer: hpc-1, site: bsc}
      throughput: {listen: 127.0.0.1:9469, interval_s: 300, size_bytes: 1048576}

Every key can be overridden from the environment (``CONTINUUM_PROBES__INTERVAL_S=5``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from msgspec import Meta, Struct, field

from agents._otel._settings import AgentSettings, check_listen
from agents.probes._inventory import InventorySettings

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_THROUGHPUT_LISTEN",
    "ProbeKind",
    "ProbeTarget",
    "ProbesSettings",
    "ThroughputSettings",
]

DEFAULT_LISTEN = "127.0.0.1:9466"
DEFAULT_THROUGHPUT_LISTEN = "127.0.0.1:9469"
DEFAULT_INTERVAL_S = 15.0
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_THROUGHPUT_INTERVAL_S = 300.0
DEFAULT_THROUGHPUT_SIZE_BYTES = 1 << 20
#: The largest payload a test may move: bounded so a probe never saturates a link for long.
MAX_THROUGHPUT_SIZE_BYTES = 64 << 20


class ProbeKind(StrEnum):
    """What a target is probed with."""

    TCP = "tcp"
    ICMP = "icmp"
    HTTP = "http"
    THROUGHPUT = "throughput"


class ProbeTarget(Struct, kw_only=True):
    """One thing to probe.

    Attributes:
        name: unique name, the ``probe`` label.
        kind: ``tcp`` (connect RTT), ``icmp`` (echo RTT, where permitted), ``http`` (service
            check) or ``throughput`` (bounded download from a peer's responder).
        address: ``host:port`` for tcp and throughput, a host for icmp, a URL for http.
        peer: the peer node id this target measures the link to ("" for a plain service).
        site: the peer's site.
        interval_s: overrides the section's interval (throughput: the throughput interval).
        timeout_s: overrides the section's timeout.
        tls: tcp only, also do a TLS handshake and report the certificate expiry.
        method: http only.
        valid_status_codes: http only; empty means any 2xx.
        ca_file: trusted CA bundle for TLS instead of the system store.
        insecure_skip_verify: accept any certificate (expiry is still reported).
        size_bytes: throughput only, overrides ``throughput.size_bytes``.
    """

    name: Annotated[str, Meta(min_length=1)]
    kind: ProbeKind
    address: Annotated[str, Meta(min_length=1)]
    peer: str = ""
    site: str = ""
    interval_s: Annotated[float, Meta(ge=1.0)] | None = None
    timeout_s: Annotated[float, Meta(gt=0.0)] | None = None
    tls: bool = False
    method: str = "GET"
    valid_status_codes: list[int] = field(default_factory=list)
    ca_file: Path | None = None
    insecure_skip_verify: bool = False
    size_bytes: Annotated[int, Meta(ge=1024, le=MAX_THROUGHPUT_SIZE_BYTES)] | None = None

    def __post_init__(self) -> None:
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file: {self.ca_file} is not a readable file")
        if self.kind is ProbeKind.HTTP and not self.address.startswith(("http://", "https://")):
            raise ValueError("address: an http target needs an http:// or https:// URL")
        if self.kind in (ProbeKind.TCP, ProbeKind.THROUGHPUT):
            tail = self.address.rsplit(":", 1)
            if len(tail) != 2 or not tail[1].strip("/").isdigit():
                raise ValueError(f"address: a {self.kind} target needs host:port")


class ThroughputSettings(Struct, kw_only=True):
    """Throughput tests: the local responder and how often and how much the client measures."""

    listen: str | None = DEFAULT_THROUGHPUT_LISTEN
    interval_s: Annotated[float, Meta(ge=5.0)] = DEFAULT_THROUGHPUT_INTERVAL_S
    size_bytes: Annotated[int, Meta(ge=1024, le=MAX_THROUGHPUT_SIZE_BYTES)] = (
        DEFAULT_THROUGHPUT_SIZE_BYTES
    )
    timeout_s: Annotated[float, Meta(gt=0.0)] = 30.0
    max_size_bytes: Annotated[int, Meta(ge=1024, le=MAX_THROUGHPUT_SIZE_BYTES)] = 16 << 20
    max_sessions: Annotated[int, Meta(ge=1, le=16)] = 2
    min_gap_s: Annotated[float, Meta(ge=0.0)] = 1.0

    def __post_init__(self) -> None:
        if self.listen:
            check_listen("listen", self.listen)


class ProbesSettings(AgentSettings, kw_only=True):
    """The ``probes`` section: the shared agent keys plus the probes' own.

    Attributes:
        listen: ``host:port`` of the /metrics endpoint.
        interval_s: default time between two runs of a target (and between exports).
        timeout_s: default budget of one probe; must be below the interval.
        max_concurrency: probes in flight at once, all targets together.
        targets: what to probe.
        throughput: the responder and throughput test bounds.
        inventory: where to discover peers (the API's inventory); None: configured targets only.
    """

    listen: Annotated[str, Meta(description="host:port where /metrics is served")] = DEFAULT_LISTEN
    interval_s: Annotated[
        float, Meta(ge=1.0, description="seconds between two runs of a target")
    ] = DEFAULT_INTERVAL_S
    timeout_s: Annotated[
        float, Meta(gt=0.0, description="seconds one probe may take, below interval_s")
    ] = DEFAULT_TIMEOUT_S
    max_concurrency: Annotated[
        int, Meta(ge=1, le=256, description="probes in flight at once (1..256)")
    ] = DEFAULT_MAX_CONCURRENCY
    targets: Annotated[
        list[ProbeTarget], Meta(description="list of {name, kind, address, peer, site, ...}")
    ] = field(default_factory=list)
    throughput: Annotated[
        ThroughputSettings, Meta(description="throughput responder and test bounds")
    ] = field(default_factory=ThroughputSettings)
    inventory: Annotated[
        InventorySettings | None, Meta(description="{api_url, token_file, refresh_s, port}")
    ] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.timeout_s >= self.interval_s:
            raise ValueError(
                "timeout_s: must be below interval_s (a probe must end before the next)"
            )
        names = [target.name for target in self.targets]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"targets: names must be unique; repeated: {', '.join(duplicates)}")
