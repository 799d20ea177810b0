"""Network plumbing shared by the probes: address parsing, resolution, error classification."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from urllib.parse import urlsplit

from agents.probes._results import FailureReason

__all__ = ["classify_error", "resolve", "split_host_port"]


def split_host_port(address: str, default_port: int | None = None) -> tuple[str, int]:
    """Split ``host:port``, ``[v6]:port`` or ``scheme://host:port/...`` into host and port.

    Raises:
        ValueError: no port and no default.
    """
    if "://" in address:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
        if not host:
            raise ValueError(f"{address!r} has no host")
    else:
        host_part, sep, port_text = address.rpartition(":")
        if not sep or "]" in port_text:
            host, port = address.strip("[]"), None
        else:
            host, port = host_part.strip("[]"), int(port_text)
    port = port if port is not None else default_port
    if port is None:
        raise ValueError(f"{address!r} names no port")
    return host, port


async def resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """Resolve a host to its first stream address: (family, sockaddr)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise socket.gaierror(f"no address for {host}")
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def classify_error(err: BaseException) -> str:
    """Map an exception raised by a probe to a :class:`FailureReason`."""
    if isinstance(err, TimeoutError):
        return FailureReason.TIMEOUT
    if isinstance(err, socket.gaierror):
        return FailureReason.DNS
    if isinstance(err, ssl.SSLError | ssl.CertificateError):
        return FailureReason.TLS
    if isinstance(err, ConnectionRefusedError):
        return FailureReason.REFUSED
    if isinstance(err, OSError) and err.errno in (
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
    ):
        return FailureReason.UNREACHABLE
    return FailureReason.ERROR
