"""TCP probe: connect time as round-trip time, optionally a TLS handshake and its certificate.

The connect is timed after name resolution, so the RTT is one SYN/SYN-ACK exchange and not the
resolver's latency::

    result = await probe_tcp("kafka", "127.0.0.1:9092", timeout_s=2.0)
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

from agents.probes._net import classify_error, resolve, split_host_port
from agents.probes._results import ProbeResult
from agents.probes._tls import CertificateParseError, cert_not_after_s

__all__ = ["probe_tcp"]


async def probe_tcp(
    name: str,
    address: str,
    *,
    timeout_s: float,
    tls_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    peer: str = "",
    peer_site: str = "",
) -> ProbeResult:
    """Connect to ``host:port`` and report reachability, connect RTT and certificate expiry.

    Args:
        name: the target's name.
        address: ``host:port`` (or ``tcp://host:port``).
        timeout_s: budget for the whole probe.
        tls_context: when given, a TLS handshake follows the connect.
        server_hostname: SNI and verification name (defaults to the host).
        peer: peer node label.
        peer_site: peer site label.
    """
    started = time.perf_counter()
    host, port = split_host_port(address)
    rtt_s: float | None = None
    expiry_s: float | None = None
    writer: asyncio.StreamWriter | None = None

    def result(success: bool, failure: str | None = None, detail: str = "") -> ProbeResult:
        return ProbeResult(
            target=name,
            kind="tcp",
            success=success,
            duration_s=time.perf_counter() - started,
            peer=peer,
            peer_site=peer_site,
            rtt_s=rtt_s,
            cert_expiry_s=expiry_s,
            failure=failure,
            detail=detail,
        )

    try:
        async with asyncio.timeout(timeout_s):
            _, (ip, ip_port) = await resolve(host, port)
            connect_started = time.perf_counter()
            _, writer = await asyncio.open_connection(ip, ip_port)
            rtt_s = time.perf_counter() - connect_started
            if tls_context is not None:
                await writer.start_tls(tls_context, server_hostname=server_hostname or host)
                ssl_object = writer.get_extra_info("ssl_object")
                der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
                if der:
                    with contextlib.suppress(CertificateParseError):
                        expiry_s = cert_not_after_s(der)
    except (OSError, TimeoutError, ssl.SSLError) as err:
        return result(False, classify_error(err), f"{type(err).__name__}: {err}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
    return result(True)
