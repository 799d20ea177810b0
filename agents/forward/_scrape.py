"""Scrape one Prometheus/OpenMetrics endpoint, preferring OpenMetrics, with a size cap.

The ``Accept`` header asks for OpenMetrics 1.0.0 first and the classic text format second, as
Prometheus itself negotiates; the body and the ``Content-Type`` are kept exactly as received::

    scraper = Scraper("http://127.0.0.1:9100/metrics", timeout_s=10, max_bytes=32 << 20)
    scrape = scraper.scrape()        # raises ScrapeError
    scrape.content_type, len(scrape.body)
    scraper.close()
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

import httpx

__all__ = ["ACCEPT", "DEFAULT_CONTENT_TYPE", "Scrape", "ScrapeError", "Scraper"]

ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
#: What a target that sends no Content-Type is taken to speak (the classic text format).
DEFAULT_CONTENT_TYPE = "text/plain; version=0.0.4"


class ScrapeError(Exception):
    """A scrape failed; ``reason`` is a short label (timeout, connect, status, too_large, ...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Scrape:
    """One exposition as received.

    Attributes:
        body: the bytes (decompressed if the transfer was compressed).
        content_type: the ``Content-Type`` header as received.
        timestamp_ms: when the scrape started (the time samples without one take).
        duration_s: wall time of the scrape.
    """

    body: bytes
    content_type: str
    timestamp_ms: int
    duration_s: float


class Scraper:
    """Scrapes one URL with a reused connection.

    Args:
        url: the endpoint.
        timeout_s: budget of one scrape.
        max_bytes: the largest body accepted.
        verify: TLS verification (a context, or a bool).
        transport: an httpx transport (tests inject ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        max_bytes: int,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._max_bytes = max_bytes
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            verify=verify,
            transport=transport,
            trust_env=False,
            headers={
                "Accept": ACCEPT,
                "User-Agent": "continuum-forward",
                # Prometheus sends it so exporters can bound their own work.
                "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout_s:g}",
            },
        )

    def scrape(self) -> Scrape:
        """Fetch the exposition once.

        Raises:
            ScrapeError: connection failure, timeout, non-200 status or an oversized body.
        """
        started_ms = time.time_ns() // 1_000_000
        started = time.perf_counter()
        try:
            with self._client.stream("GET", self.url) as response:
                if response.status_code != 200:
                    raise ScrapeError("status", f"HTTP {response.status_code} from {self.url}")
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                    raise ScrapeError("too_large", f"{declared} bytes > {self._max_bytes}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise ScrapeError("too_large", f"more than {self._max_bytes} bytes")
                    chunks.append(chunk)
                content_type = response.headers.get("Content-Type") or DEFAULT_CONTENT_TYPE
        except httpx.TimeoutException as err:
            raise ScrapeError("timeout", f"{self.url}: {err!r}") from err
        except httpx.TransportError as err:
            raise ScrapeError("connect", f"{self.url}: {err!r}") from err
        except httpx.HTTPError as err:
            raise ScrapeError("http", f"{self.url}: {err!r}") from err
        return Scrape(
            body=b"".join(chunks),
            content_type=content_type,
            timestamp_ms=started_ms,
            duration_s=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Release the connection."""
        self._client.close()
