"""ICMP echo encoding and the certificate expiry parser."""

from __future__ import annotations

import calendar
import os
import socket
from pathlib import Path

import pytest

from agents.probes._icmp import build_echo_request, icmp_permitted, parse_echo_reply
from agents.probes._tls import CertificateParseError, cert_not_after_s


def _checksum_ok(packet: bytes) -> bool:
    data = packet + (b"\x00" if len(packet) % 2 else b"")
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_echo_request_has_valid_checksum_and_sequence() -> None:
    packet = build_echo_request(socket.AF_INET, 0x1234, b"continuum")
    assert packet[0] == 8  # echo request
    assert _checksum_ok(packet)
    assert packet[6:8] == b"\x12\x34"


def test_echo_reply_is_matched_by_sequence() -> None:
    reply = bytes([0, 0, 0, 0, 0, 7, 0x12, 0x34]) + b"continuum"
    assert parse_echo_reply(socket.AF_INET, reply) == 0x1234
    unreachable = bytes([3, 1, 0, 0, 0, 0, 0, 0])
    assert parse_echo_reply(socket.AF_INET, unreachable) is None
    assert parse_echo_reply(socket.AF_INET, b"\x00") is None
    v6_reply = bytes([129, 0, 0, 0, 0, 1, 0, 9])
    assert parse_echo_reply(socket.AF_INET6, v6_reply) == 9


def test_icmp_permission_matches_the_kernel_setting() -> None:
    text = Path("/proc/sys/net/ipv4/ping_group_range").read_text()
    low, high = (int(x) for x in text.split())
    allowed = any(low <= gid <= high for gid in [*os.getgroups(), os.getgid()])
    assert icmp_permitted() is allowed


def _tlv(tag: int, value: bytes) -> bytes:
    if len(value) < 128:
        return bytes([tag, len(value)]) + value
    length = len(value).to_bytes(2, "big")
    return bytes([tag, 0x82]) + length + value


def _certificate(not_after: bytes, tag: int, *, version: bool = True) -> bytes:
    seq = 0x30
    validity = _tlv(seq, _tlv(0x17, b"250101000000Z") + _tlv(tag, not_after))
    tbs = b"".join(
        [
            _tlv(0xA0, _tlv(0x02, b"\x02")) if version else b"",
            _tlv(0x02, b"\x01\x02"),  # serial
            _tlv(seq, _tlv(0x06, b"\x2a\x86\x48")),  # signature algorithm
            _tlv(seq, b"\x00" * 150),  # issuer, long enough for a two-byte length
            validity,
        ]
    )
    return _tlv(seq, _tlv(seq, tbs) + _tlv(seq, b"") + _tlv(0x03, b"\x00"))


@pytest.mark.parametrize(
    ("raw", "tag", "expected"),
    [
        (b"301231235959Z", 0x17, (2030, 12, 31, 23, 59, 59)),
        (b"991231235959Z", 0x17, (1999, 12, 31, 23, 59, 59)),
        (b"20510101000000Z", 0x18, (2051, 1, 1, 0, 0, 0)),
    ],
)
def test_not_after_is_read_from_der(raw: bytes, tag: int, expected: tuple[int, ...]) -> None:
    want = calendar.timegm((*expected, 0, 0, 0))
    assert cert_not_after_s(_certificate(raw, tag)) == want
    assert cert_not_after_s(_certificate(raw, tag, version=False)) == want


@pytest.mark.parametrize("der", [b"", b"\x02\x01\x00", b"\x30\x05\x30", b"\x30\x82\xff\xff"])
def test_garbage_is_a_parse_error(der: bytes) -> None:
    with pytest.raises(CertificateParseError):
        cert_not_after_s(der)
