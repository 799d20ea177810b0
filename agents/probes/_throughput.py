"""Bounded throughput tests: a small responder every probe agent serves, and the client probe.

The protocol is one line each way over TCP, then the payload::

    client:    CONTINUUM-TP 1 <size_bytes>\\n
    responder: OK <size_bytes>\\n  followed by exactly size_bytes bytes, then close
           or: ERR <reason>\\n     then close (busy, rate limited, too large, bad request)

The rate is the payload size over the time from the ``OK`` line to the last byte, so the
connect and request round trip are not counted. The responder bounds what any client can ask:
a per-test size cap, concurrent sessions, and a minimum gap between tests, so a misconfigured or
hostile peer cannot turn the agent into a link saturator::

    responder = ThroughputResponder(max_size_bytes=8 << 20, max_sessions=2, min_gap_s=1.0)
    server = await responder.start("127.0.0.1", 9469)
    result = await probe_throughput("peer-a", "10.0.0.2:9469", size_bytes=1 << 20, timeout_s=10)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from agents.probes._net import classify_error, split_host_port
from agents.probes._results import FailureReason, ProbeResult

__all__ = ["PROTOCOL_MAGIC", "ThroughputResponder", "probe_throughput"]

_log = logging.getLogger(__name__)

PROTOCOL_MAGIC = b"CONTINUUM-TP 1"
_CHUNK_BYTES = 64 * 1024
_ZEROS = bytes(_CHUNK_BYTES)
_MAX_LINE_BYTES = 64


class ThroughputResponder:
    """Serve bounded payloads to peers' throughput probes.

    Args:
        max_size_bytes: the largest payload one test may ask for.
        max_sessions: tests served at the same time; more are refused with ``busy``.
        min_gap_s: minimum time between the starts of two tests (any client).
        request_timeout_s: how long a client may take to send its request line.
    """

    def __init__(
        self,
        *,
        max_size_bytes: int,
        max_sessions: int = 2,
        min_gap_s: float = 1.0,
        request_timeout_s: float = 5.0,
    ) -> None:
        self.max_size_bytes = max_size_bytes
        self.max_sessions = max_sessions
        self.min_gap_s = min_gap_s
        self.request_timeout_s = request_timeout_s
        self.sessions = 0
        self.served_tests = 0
        self.served_bytes = 0
        self.refused_tests = 0
        self._last_start = -float("inf")

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on ``host:port`` (port 0 picks a free one; see ``server.sockets``)."""
        return await asyncio.start_server(self._serve, host, port)

    def _admit(self, size_bytes: int) -> str | None:
        """Return a refusal reason, or None and account the new session."""
        now = time.monotonic()
        if size_bytes <= 0 or size_bytes > self.max_size_bytes:
            return f"size must be 1..{self.max_size_bytes}"
        if self.sessions >= self.max_sessions:
            return "busy"
        if now - self._last_start < self.min_gap_s:
            return "rate limited"
        self._last_start = now
        self.sessions += 1
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        admitted = False
        try:
            async with asyncio.timeout(self.request_timeout_s):
                line = await reader.readuntil(b"\n")
            magic, _, size_text = line[:_MAX_LINE_BYTES].rstrip(b"\n").rpartition(b" ")
            if magic != PROTOCOL_MAGIC or not size_text.isdigit():
                refusal: str | None = "bad request"
            else:
                size_bytes = int(size_text)
                refusal = self._admit(size_bytes)
            if refusal is not None:
                self.refused_tests += 1
                writer.write(b"ERR " + refusal.encode() + b"\n")
                await writer.drain()
                return
            admitted = True
            writer.write(b"OK %d\n" % size_bytes)
            remaining = size_bytes
            while remaining > 0:
                chunk = _ZEROS if remaining >= _CHUNK_BYTES else _ZEROS[:remaining]
                writer.write(chunk)
                await writer.drain()
                remaining -= len(chunk)
            self.served_tests += 1
            self.served_bytes += size_bytes
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            _log.debug("throughput session ended early", exc_info=True)
        finally:
            if admitted:
                self.sessions -= 1
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()


async def probe_throughput(
    name: str,
    address: str,
    *,
    size_bytes: int,
    timeout_s: float,
    peer: str = "",
    peer_site: str = "",
) -> ProbeResult:
    """Download ``size_bytes`` from a peer's responder and report the rate.

    Args:
        name: the target's name.
        address: ``host:port`` of the peer's responder.
        size_bytes: payload to ask for (the responder may refuse more than its cap).
        timeout_s: budget for the whole test; a slow link fails rather than lingering.
        peer: peer node label.
        peer_site: peer site label.
    """
    started = time.perf_counter()
    host, port = split_host_port(address)
    writer: asyncio.StreamWriter | None = None
    received = 0
    rtt_s: float | None = None

    def result(success: bool, rate: float | None, failure: str | None, detail: str) -> ProbeResult:
        return ProbeResult(
            target=name,
            kind="throughput",
            success=success,
            duration_s=time.perf_counter() - started,
            peer=peer,
            peer_site=peer_site,
            rtt_s=rtt_s,
            throughput_bytes_per_s=rate,
            transferred_bytes=received,
            failure=failure,
            detail=detail,
        )

    try:
        async with asyncio.timeout(timeout_s):
            connect_started = time.perf_counter()
            reader, writer = await asyncio.open_connection(host, port)
            rtt_s = time.perf_counter() - connect_started
            writer.write(PROTOCOL_MAGIC + b" %d\n" % size_bytes)
            await writer.drain()
            header = await reader.readuntil(b"\n")
            first_byte = time.perf_counter()
            if not header.startswith(b"OK "):
                reason = header.decode("ascii", "replace").strip()
                return result(False, None, FailureReason.PROTOCOL, reason)
            while received < size_bytes:
                chunk = await reader.read(min(_CHUNK_BYTES, size_bytes - received))
                if not chunk:
                    break
                received += len(chunk)
            elapsed_s = time.perf_counter() - first_byte
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
        return result(False, None, classify_error(err), f"{type(err).__name__}: {err}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
    if received < size_bytes:
        return result(False, None, FailureReason.PROTOCOL, f"short transfer: {received} bytes")
    return result(True, received / max(elapsed_s, 1e-9), None, "")
