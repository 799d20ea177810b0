"""HTTP probe: availability, response time, status code and TLS certificate expiry.

Each run opens a fresh connection (a new client per probe) so that the response time includes
the connect and handshake a new user would pay, as blackbox_exporter measures it::

    result = await probe_http("api", "http://127.0.0.1:8080/healthz", timeout_s=5.0)
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Collection

import httpx

from agents.probes._results import FailureReason, ProbeResult
from agents.probes._tls import CertificateParseError, cert_not_after_s

__all__ = ["probe_http"]

#: Bytes of body read at most; the probe checks availability, not content.
MAX_BODY_BYTES = 64 * 1024


def _cert_expiry_s(response: httpx.Response) -> float | None:
    # httpcore exposes the live stream; its ssl_object is only there while the response is open.
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    with contextlib.suppress(CertificateParseError):
        return cert_not_after_s(der)
    return None


def _classify(err: httpx.HTTPError) -> str:
    if isinstance(err, httpx.TimeoutException):
        return FailureReason.TIMEOUT
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return FailureReason.TLS
        if isinstance(cause, ConnectionRefusedError):
            return FailureReason.REFUSED
        cause = cause.__cause__ or cause.__context__
    text = str(err).lower()
    if "name or service not known" in text or "nodename nor servname" in text:
        return FailureReason.DNS
    if "certificate" in text or "ssl" in text:
        return FailureReason.TLS
    if "refused" in text:
        return FailureReason.REFUSED
    if isinstance(err, httpx.ConnectError):
        return FailureReason.UNREACHABLE
    return FailureReason.PROTOCOL


async def probe_http(
    name: str,
    url: str,
    *,
    timeout_s: float,
    method: str = "GET",
    valid_status_codes: Collection[int] = (),
    verify: ssl.SSLContext | bool = True,
    follow_redirects: bool = True,
    peer: str = "",
    peer_site: str = "",
) -> ProbeResult:
    """Request ``url`` once and report what came back.

    Args:
        name: the target's name.
        url: the URL to request.
        timeout_s: budget for the whole exchange.
        method: HTTP method.
        valid_status_codes: codes counted as success (empty: any 2xx).
        verify: a TLS context, or whether to verify with the system store.
        follow_redirects: follow up to five redirects.
        peer: peer node label.
        peer_site: peer site label.
    """
    started = time.perf_counter()
    status_code: int | None = None
    expiry_s: float | None = None
    try:
        async with (
            httpx.AsyncClient(
                verify=verify,
                timeout=httpx.Timeout(timeout_s),
                follow_redirects=follow_redirects,
                max_redirects=5,
                trust_env=False,
            ) as client,
            client.stream(method, url, headers={"User-Agent": "continuum-probe"}) as response,
        ):
            status_code = response.status_code
            expiry_s = _cert_expiry_s(response)
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= MAX_BODY_BYTES:
                    break
    except httpx.HTTPError as err:
        return ProbeResult(
            target=name,
            kind="http",
            success=False,
            duration_s=time.perf_counter() - started,
            peer=peer,
            peer_site=peer_site,
            status_code=status_code,
            cert_expiry_s=expiry_s,
            failure=_classify(err),
            detail=f"{type(err).__name__}: {err}",
        )
    ok = status_code in valid_status_codes if valid_status_codes else 200 <= status_code < 300
    return ProbeResult(
        target=name,
        kind="http",
        success=ok,
        duration_s=time.perf_counter() - started,
        peer=peer,
        peer_site=peer_site,
        status_code=status_code,
        cert_expiry_s=expiry_s,
        failure=None if ok else FailureReason.HTTP_STATUS,
        detail="" if ok else f"status {status_code}",
    )
