"""Scraping with content negotiation, as-received content types, and bounded bodies."""

from __future__ import annotations

import httpx
import pytest

from agents.forward._scrape import DEFAULT_CONTENT_TYPE, ScrapeError, Scraper

URL = "http://exporter.test/metrics"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _scraper(handler, max_bytes: int = 1 << 20) -> Scraper:
    return Scraper(URL, timeout_s=1.0, max_bytes=max_bytes, transport=httpx.MockTransport(handler))


def test_prefers_openmetrics_and_keeps_what_came() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["accept"] = request.headers["accept"]
        return httpx.Response(200, content=b"up 1\n# EOF\n", headers={"Content-Type": OM})

    scrape = _scraper(handler).scrape()
    first = seen["accept"].split(",")[0]
    assert first.startswith("application/openmetrics-text;version=1.0.0")
    assert "text/plain;version=0.0.4" in seen["accept"]
    assert scrape.content_type == OM
    assert scrape.body == b"up 1\n# EOF\n"
    assert scrape.timestamp_ms > 1_600_000_000_000
    assert scrape.duration_s >= 0


def test_missing_content_type_means_classic_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"up 1\n"))

    assert _scraper(handler).scrape().content_type == DEFAULT_CONTENT_TYPE


def test_gzip_body_is_decompressed() -> None:
    import gzip

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=gzip.compress(b"up 1\n"),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; version=0.0.4"},
        )

    assert _scraper(handler).scrape().body == b"up 1\n"


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (lambda r: httpx.Response(503, content=b"down"), "status"),
        (lambda r: httpx.Response(200, content=b"x" * 5000), "too_large"),
        (lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)), "connect"),
        (lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)), "timeout"),
    ],
)
def test_failures_raise_scrape_error_with_reason(handler, reason: str) -> None:
    with pytest.raises(ScrapeError) as info:
        _scraper(handler, max_bytes=1024).scrape()
    assert info.value.reason == reason
