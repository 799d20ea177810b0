"""ICMP echo round-trip time through unprivileged datagram sockets, where the host allows them.

Linux lets a process open ``SOCK_DGRAM``/``IPPROTO_ICMP`` sockets when its group is inside
``net.ipv4.ping_group_range`` (see ``Documentation/networking/ip-sysctl.rst``, "ping_group_range").
Raw sockets are never used. Where the range excludes us, :func:`icmp_permitted` says so and the
agent skips ICMP targets quietly; TCP connect RTT covers the link instead::

    if icmp_permitted():
        result = await probe_icmp("peer", "10.0.0.2", timeout_s=1.0)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import time

from agents.probes._net import classify_error
from agents.probes._results import FailureReason, ProbeResult

__all__ = ["build_echo_request", "icmp_permitted", "parse_echo_reply", "probe_icmp"]

_ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
_ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
_PROTOCOL: dict[int, int] = {
    socket.AF_INET: socket.IPPROTO_ICMP,
    socket.AF_INET6: socket.IPPROTO_ICMPV6,
}
_HEADER = struct.Struct("!BBHHH")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def build_echo_request(family: int, sequence: int, payload: bytes) -> bytes:
    """Encode an echo request (the kernel rewrites the identifier of datagram ICMP sockets)."""
    kind = _ECHO_REQUEST[family]
    header = _HEADER.pack(kind, 0, 0, 0, sequence & 0xFFFF)
    if family == socket.AF_INET6:
        # The kernel computes the ICMPv6 checksum over the pseudo-header itself.
        return header + payload
    checksum = _checksum(header + payload)
    return _HEADER.pack(kind, 0, checksum, 0, sequence & 0xFFFF) + payload


def parse_echo_reply(family: int, packet: bytes) -> int | None:
    """Return the sequence number of an echo reply, or None for any other ICMP message."""
    if len(packet) < _HEADER.size:
        return None
    kind, code, _, _, sequence = _HEADER.unpack_from(packet)
    if kind != _ECHO_REPLY[family] or code != 0:
        return None
    return int(sequence)


def icmp_permitted(family: int = socket.AF_INET) -> bool:
    """Tell whether this process may open an unprivileged ICMP datagram socket."""
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM, _PROTOCOL[family])
    except OSError:
        return False
    sock.close()
    return True


async def probe_icmp(
    name: str,
    host: str,
    *,
    timeout_s: float,
    peer: str = "",
    peer_site: str = "",
) -> ProbeResult:
    """Send one echo request to ``host`` and time the reply.

    Raises:
        PermissionError: the host does not permit unprivileged ICMP (check :func:`icmp_permitted`).
    """
    started = time.perf_counter()
    loop = asyncio.get_running_loop()

    def result(success: bool, rtt_s: float | None, failure: str | None, detail: str) -> ProbeResult:
        return ProbeResult(
            target=name,
            kind="icmp",
            success=success,
            duration_s=time.perf_counter() - started,
            peer=peer,
            peer_site=peer_site,
            rtt_s=rtt_s,
            failure=failure,
            detail=detail,
        )

    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as err:
        return result(False, None, classify_error(err), str(err))
    family, _, _, _, sockaddr = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM, _PROTOCOL[family])
    sock.setblocking(False)
    sequence = int.from_bytes(os.urandom(2), "big")
    try:
        async with asyncio.timeout(timeout_s):
            sent = time.perf_counter()
            await loop.sock_sendto(
                sock, build_echo_request(family, sequence, b"continuum"), sockaddr
            )
            while True:
                packet = await loop.sock_recv(sock, 2048)
                if parse_echo_reply(family, packet) == sequence:
                    return result(True, time.perf_counter() - sent, None, "")
    except TimeoutError:
        return result(False, None, FailureReason.TIMEOUT, "no echo reply")
    except OSError as err:
        return result(False, None, classify_error(err), str(err))
    finally:
        with contextlib.suppress(OSError):
            sock.close()
