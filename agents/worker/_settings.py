"""Settings of the pull-mode worker: section ``worker`` of continuum.yaml.

Example::

    worker:
      workdir: /var/lib/continuum/worker
      max_parallel: 0        # 0: the node's CPU capacity (its cgroup limit), at least 1
      heartbeat_s: 1
      data:                  # inputs fetched from the catalogue's locations, outputs published
        listen: 0.0.0.0:9470   # serve this node's datasets to peers ("": serve none, behind NAT)
        advertise: http://10.213.1.2:9470   # the URL peers use (default: from listen)
        store_url: http://10.213.0.1:9471   # outputs also go here (`continuum agent store`)
        token_file: /etc/continuum/data-token

Every key can be overridden from the environment (``CONTINUUM_WORKER__HEARTBEAT_S=2``).
"""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path
from typing import Annotated

from msgspec import Meta, Struct, field

from agents._otel import check_listen

__all__ = ["DataSettings", "WorkerSettings", "check_data_token"]

DEFAULT_DATA_PORT = 9470


def _default_workdir() -> Path:
    return Path(tempfile.gettempdir()) / "continuum-worker"


def check_data_token(token_file: Path | None, listen: str, key: str) -> None:
    """Refuse to serve task data beyond this machine without a token (security by default).

    Raises:
        ValueError: ``listen`` is not a loopback address and no token file is given.
    """
    host = listen.rpartition(":")[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if token_file is None and not loopback:
        raise ValueError(
            f"{key}: required to serve task data on {listen}, beyond this machine: give a "
            "file holding the bearer token every data client sends"
        )


class DataSettings(Struct, kw_only=True, forbid_unknown_fields=True):
    """The ``worker.data`` keys: where task data comes from and goes.

    Attributes:
        listen: ``host:port`` where this node serves its datasets to peers; empty on a node
            nothing can reach (behind NAT), whose outputs then need a ``store_url``.
        advertise: the base URL peers fetch from (default: ``http://`` and ``listen``, which
            must then name an address, not ``0.0.0.0``).
        store_url: base URL of a data store (``continuum agent store``) every output is also
            put in; empty: outputs stay on this node.
        token_file: a file holding the bearer token every data server and store asks for.
        tls_certfile, tls_keyfile: serve this node's datasets over HTTPS.
        ca_file: CA bundle to check peers' and the store's certificates against.
    """

    listen: str = ""
    advertise: str = ""
    store_url: str = ""
    token_file: Path | None = None
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.listen:
            check_listen("listen", self.listen)
            host, _, port = self.listen.rpartition(":")
            host = host.strip("[]")
            if int(port) == 0:
                raise ValueError(
                    f"listen: port 0 in {self.listen} cannot be advertised to peers: give a port"
                )
            if not self.advertise and host in ("0.0.0.0", "::", ""):
                raise ValueError(
                    "advertise: required when listen binds every address "
                    f"({self.listen}): give the URL peers reach this node at"
                )
        for key in ("advertise", "store_url"):
            value = getattr(self, key)
            if value and not value.startswith(("http://", "https://")):
                raise ValueError(f"{key}: expected an http:// or https:// URL, got {value!r}")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_keyfile: tls_certfile and tls_keyfile go together")
        if self.listen:
            check_data_token(self.token_file, self.listen, "token_file")

    @property
    def base_url(self) -> str:
        """The URL peers fetch this node's datasets from ("" when it serves none)."""
        if not self.listen:
            return ""
        scheme = "https" if self.tls_certfile is not None else "http"
        return (self.advertise or f"{scheme}://{self.listen}").rstrip("/")

    def token(self) -> str | None:
        """The data token, read from ``token_file`` (None: no token configured).

        Raises:
            OSError: the file cannot be read.
            ValueError: it is empty (which must not turn authentication off).
        """
        if self.token_file is None:
            return None
        token = self.token_file.read_text().strip()
        if not token:
            raise ValueError(f"worker.data.token_file: {self.token_file} is empty")
        return token


class WorkerSettings(Struct, kw_only=True, forbid_unknown_fields=True):
    """The ``worker`` section.

    Attributes:
        workdir: where attempts keep their spec and result files.
        max_parallel: attempts run at once (0: the node's CPU capacity, rounded up).
        heartbeat_s: seconds between two heartbeats (the executor's liveness signal).
        poll_ms: longest wait for new assignments in one poll.
        data: where inputs are fetched from and outputs published (``DataSettings``).
    """

    workdir: Path = field(default_factory=_default_workdir)
    max_parallel: Annotated[int, Meta(ge=0, le=256)] = 0
    heartbeat_s: Annotated[float, Meta(gt=0.0, le=60.0)] = 1.0
    poll_ms: Annotated[int, Meta(ge=10, le=10_000)] = 500
    data: DataSettings = field(default_factory=DataSettings)
