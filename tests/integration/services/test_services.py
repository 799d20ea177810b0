"""The service fixtures themselves: each answers, and Prometheus takes remote writes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cramjam
import httpx

from continuum.services import PrometheusServer, TansuBroker, free_port, tcp_open


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _write_request(name: str, value: float, timestamp_ms: int) -> bytes:
    import struct

    label = _field(1, b"__name__") + _field(2, name.encode())
    sample = b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(timestamp_ms)
    series = _field(1, label) + _field(2, sample)
    return _field(1, series)


def test_tansu_accepts_connections(tansu: TansuBroker) -> None:
    host, port = tansu.bootstrap.split(":")
    assert tcp_open(host, int(port))


def test_prometheus_accepts_remote_write(prometheus: PrometheusServer) -> None:
    now_ms = int(time.time() * 1000)
    body = cramjam.snappy.compress_raw(_write_request("fixture_probe_value", 42.0, now_ms))
    response = httpx.post(
        prometheus.remote_write_url,
        content=bytes(body),
        headers={
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
    )
    assert response.status_code == 204, response.text
    result = prometheus.wait_for("fixture_probe_value", timeout_s=10)
    assert float(result[0]["value"][1]) == 42.0


def test_fresh_tansu_restarts_on_same_port(fresh_tansu: TansuBroker) -> None:
    port = fresh_tansu.port
    fresh_tansu.stop()
    host = fresh_tansu.host
    assert not tcp_open(host, port)
    fresh_tansu.start()
    assert tcp_open(host, port)


def test_prometheus_runs_with_the_gogc_it_is_given(tmp_path: Path) -> None:
    tuned = PrometheusServer("127.0.0.1", free_port(), tmp_path / "tuned", gogc=200)
    stock = PrometheusServer("127.0.0.1", free_port(), tmp_path / "stock")
    for server in (tuned, stock):
        server.start()
    try:
        assert tuned.process is not None
        assert stock.process is not None
        tuned_env = Path(f"/proc/{tuned.process.pid}/environ").read_bytes().split(b"\0")
        stock_env = Path(f"/proc/{stock.process.pid}/environ").read_bytes().split(b"\0")
        assert b"GOGC=200" in tuned_env
        assert b"PATH=" + os.environ["PATH"].encode() in tuned_env  # the rest is inherited
        inherited = [f"GOGC={os.environ['GOGC']}".encode()] if "GOGC" in os.environ else []
        assert [v for v in stock_env if v.startswith(b"GOGC=")] == inherited
    finally:
        for server in (tuned, stock):
            server.stop()
