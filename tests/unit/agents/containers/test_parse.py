"""Parsers of cgroup and procfs file text."""

from __future__ import annotations

import pytest

from agents.containers._parse import (
    parse_blkio,
    parse_flat_keyed,
    parse_io_stat,
    parse_limit,
    parse_net_dev,
    parse_pressure,
)


def test_flat_keyed_skips_malformed_lines() -> None:
    text = "usage_usec 12\nuser_usec 7\nbroken\nsystem_usec x\n"
    assert parse_flat_keyed(text) == {"usage_usec": 12, "user_usec": 7}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max\n", None),
        ("536870912\n", 536870912),
        ("9223372036854771712\n", None),  # v1 "unlimited"
        ("", None),
        ("garbage", None),
    ],
)
def test_limits(text: str, expected: int | None) -> None:
    assert parse_limit(text) == expected


def test_pressure_totals_in_seconds() -> None:
    text = (
        "some avg10=1.00 avg60=0.50 avg300=0.10 total=2500000\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n"
    )
    assert parse_pressure(text) == {"some": 2.5, "full": 0.001}


def test_io_stat_sums_devices() -> None:
    text = (
        "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
        "259:0 rbytes=1 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"
    )
    assert parse_io_stat(text) == (101, 200, 2, 2)


def test_blkio_sums_read_and_write_only() -> None:
    text = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Total 12288\n8:16 Read 4\nTotal 12292\n"
    assert parse_blkio(text) == (4100, 8192)


def test_net_dev_reads_each_interface_and_excludes() -> None:
    text = (
        "Inter-|   Receive |  Transmit\n"
        " face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop\n"
        "    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n"
        "  eth0: 1000 10 1 2 0 0 0 0 500 5 3 4 0 0 0 0\n"
    )
    interfaces = parse_net_dev(text, frozenset({"lo"}))
    assert list(interfaces) == ["eth0"]
    eth0 = interfaces["eth0"]
    assert (eth0.receive_bytes, eth0.receive_packets, eth0.receive_errors) == (1000, 10, 1)
    assert (eth0.transmit_bytes, eth0.transmit_packets, eth0.transmit_errors) == (500, 5, 3)
    assert (eth0.receive_dropped, eth0.transmit_dropped) == (2, 4)
