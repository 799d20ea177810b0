"""TCP and HTTP probes against loopback servers started here, TLS expiry from a self-signed cert."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from agents.probes import FailureReason
from agents.probes._http import probe_http
from agents.probes._icmp import icmp_permitted, probe_icmp
from agents.probes._tcp import probe_tcp
from agents.probes._tls import client_context


def test_tcp_probe_measures_connect_rtt(tcp_listener: str) -> None:
    result = asyncio.run(probe_tcp("svc", tcp_listener, timeout_s=2.0, peer="n2", peer_site="s"))
    assert result.success
    assert result.rtt_s is not None
    assert 0 < result.rtt_s < 1.0
    assert result.duration_s >= result.rtt_s
    assert (result.peer, result.peer_site, result.kind) == ("n2", "s", "tcp")


def test_tcp_probe_reports_refused(closed_port: str) -> None:
    result = asyncio.run(probe_tcp("svc", closed_port, timeout_s=2.0))
    assert not result.success
    assert result.failure == FailureReason.REFUSED
    assert result.rtt_s is None


def test_tcp_probe_times_out_when_tls_handshake_never_answers(tcp_listener: str) -> None:
    # The listener accepts (kernel backlog) but never speaks TLS: the handshake hangs.
    context = client_context(insecure_skip_verify=True)
    result = asyncio.run(probe_tcp("svc", tcp_listener, timeout_s=0.3, tls_context=context))
    assert not result.success
    assert result.failure == FailureReason.TIMEOUT
    assert result.rtt_s is not None  # the connect itself worked
    assert result.duration_s < 1.5


def test_tcp_probe_with_tls_reports_certificate_expiry(https_server, self_signed) -> None:
    address = https_server.url.removeprefix("https://")
    context = client_context(ca_file=self_signed.cert)
    result = asyncio.run(probe_tcp("svc", address, timeout_s=3.0, tls_context=context))
    assert result.success, result.detail
    assert result.cert_expiry_s == self_signed.not_after_s


def test_http_probe_ok(http_server) -> None:
    result = asyncio.run(probe_http("web", http_server.url + "/", timeout_s=3.0, verify=False))
    assert result.success
    assert result.status_code == 200
    assert result.cert_expiry_s is None
    assert 0 < result.duration_s < 3.0


def test_http_probe_bad_status_fails_with_code(http_server) -> None:
    result = asyncio.run(probe_http("web", http_server.url + "/fail", timeout_s=3.0, verify=False))
    assert not result.success
    assert result.status_code == 500
    assert result.failure == FailureReason.HTTP_STATUS


def test_http_probe_valid_status_codes_override(http_server) -> None:
    result = asyncio.run(
        probe_http(
            "web", http_server.url + "/fail", timeout_s=3.0, verify=False, valid_status_codes=[500]
        )
    )
    assert result.success


def test_http_probe_refused(closed_port: str) -> None:
    result = asyncio.run(probe_http("web", f"http://{closed_port}/", timeout_s=2.0, verify=False))
    assert not result.success
    assert result.failure == FailureReason.REFUSED
    assert result.status_code is None


def test_http_probe_timeout(http_server) -> None:
    http_server.server.delay_s = 1.0
    result = asyncio.run(probe_http("web", http_server.url + "/", timeout_s=0.2, verify=False))
    assert not result.success
    assert result.failure == FailureReason.TIMEOUT


def test_https_probe_reports_certificate_expiry(https_server, self_signed) -> None:
    context = client_context(ca_file=self_signed.cert)
    result = asyncio.run(probe_http("web", https_server.url + "/", timeout_s=3.0, verify=context))
    assert result.success, result.detail
    assert result.cert_expiry_s == self_signed.not_after_s


def test_https_probe_untrusted_certificate_fails_as_tls(https_server) -> None:
    result = asyncio.run(
        probe_http(
            "web", https_server.url + "/", timeout_s=3.0, verify=ssl.create_default_context()
        )
    )
    assert not result.success
    assert result.failure == FailureReason.TLS


@pytest.mark.parametrize("kind", ["tcp", "http"])
def test_insecure_skip_verify_still_reports_expiry(https_server, self_signed, kind: str) -> None:
    context = client_context(insecure_skip_verify=True)
    if kind == "tcp":
        address = https_server.url.removeprefix("https://")
        result = asyncio.run(probe_tcp("svc", address, timeout_s=3.0, tls_context=context))
    else:
        result = asyncio.run(
            probe_http("web", https_server.url + "/", timeout_s=3.0, verify=context)
        )
    assert result.success, result.detail
    assert result.cert_expiry_s == self_signed.not_after_s


@pytest.mark.skipif(
    not icmp_permitted(), reason="unprivileged ICMP is not permitted (net.ipv4.ping_group_range)"
)
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_icmp_echo_rtt_on_loopback(host: str) -> None:
    result = asyncio.run(probe_icmp("lo", host, timeout_s=1.0))
    assert result.success, result.detail
    assert result.rtt_s is not None
    assert 0 < result.rtt_s < 1.0
