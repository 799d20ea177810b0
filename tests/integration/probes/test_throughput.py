"""Bounded throughput tests between a probe and a responder on loopback."""

from __future__ import annotations

import asyncio

from agents.probes import FailureReason, ProbeResult, ThroughputResponder, probe_throughput


async def _with_responder(
    responder: ThroughputResponder, *sizes: int, concurrent: bool = False
) -> list[ProbeResult]:
    server = await responder.start("127.0.0.1", 0)
    address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        probes = [
            probe_throughput("peer", address, size_bytes=size, timeout_s=5.0, peer="n2")
            for size in sizes
        ]
        if concurrent:
            return list(await asyncio.gather(*probes))
        return [await probe for probe in probes]
    finally:
        server.close()
        await server.wait_closed()


def test_throughput_moves_exactly_the_requested_bytes() -> None:
    responder = ThroughputResponder(max_size_bytes=4 << 20, min_gap_s=0.0)
    (result,) = asyncio.run(_with_responder(responder, 2 << 20))
    assert result.success, result.detail
    assert result.transferred_bytes == 2 << 20
    assert result.throughput_bytes_per_s is not None
    assert result.throughput_bytes_per_s > 1e6
    assert result.peer == "n2"
    assert result.kind == "throughput"
    assert responder.served_bytes == 2 << 20
    assert responder.served_tests == 1
    assert responder.sessions == 0


def test_responder_refuses_more_than_its_cap() -> None:
    responder = ThroughputResponder(max_size_bytes=64 * 1024, min_gap_s=0.0)
    (result,) = asyncio.run(_with_responder(responder, 1 << 20))
    assert not result.success
    assert result.failure == FailureReason.PROTOCOL
    assert "size must be" in result.detail
    assert responder.served_bytes == 0
    assert responder.refused_tests == 1


def test_responder_rate_limits_back_to_back_tests() -> None:
    responder = ThroughputResponder(max_size_bytes=1 << 20, min_gap_s=60.0)
    first, second = asyncio.run(_with_responder(responder, 64 * 1024, 64 * 1024))
    assert first.success
    assert not second.success
    assert "rate limited" in second.detail
    assert responder.served_tests == 1


def test_responder_bounds_concurrent_sessions() -> None:
    responder = ThroughputResponder(max_size_bytes=32 << 20, max_sessions=1, min_gap_s=0.0)
    results = asyncio.run(_with_responder(responder, *([16 << 20] * 3), concurrent=True))
    refused = [r for r in results if not r.success]
    assert refused, "three concurrent tests against one session slot must not all run"
    assert all("busy" in r.detail for r in refused)
    assert responder.served_tests == 3 - len(refused)
    assert responder.sessions == 0


def test_responder_rejects_garbage_request() -> None:
    async def scenario() -> bytes:
        responder = ThroughputResponder(max_size_bytes=1024)
        server = await responder.start("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.0\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return answer

    assert asyncio.run(scenario()) == b"ERR bad request\n"


def test_probe_fails_cleanly_when_nothing_listens(closed_port: str) -> None:
    result = asyncio.run(probe_throughput("peer", closed_port, size_bytes=1024, timeout_s=2.0))
    assert not result.success
    assert result.failure == FailureReason.REFUSED
