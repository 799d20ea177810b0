"""The probe runner: schedules, bounded concurrency, ICMP not permitted, its own responder."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agents._otel import validate_section
from agents.probes import ProbeRunner, ProbesSettings, ResultStore


def _probes(**values: Any) -> ProbesSettings:
    return validate_section(ProbesSettings, "probes", values)


def _wait(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_runner_probes_every_kind_and_serves_throughput(tcp_listener, http_server) -> None:
    settings = _probes(
        interval_s=1,
        timeout_s=0.5,
        targets=[
            {"name": "tcp", "kind": "tcp", "address": tcp_listener, "peer": "n2", "site": "s2"},
            {"name": "web", "kind": "http", "address": http_server.url + "/"},
            {"name": "ping", "kind": "icmp", "address": "127.0.0.1"},
        ],
        throughput={"listen": "127.0.0.1:0", "min_gap_s": 0},
    )
    store = ResultStore()
    runner = ProbeRunner(settings, store, icmp_allowed=False)
    runner.start()
    try:
        assert runner.responder_address is not None
        host, port = runner.responder_address
        # A second runner plays the peer that measures this one's responder.
        peer_settings = _probes(
            interval_s=1,
            timeout_s=0.5,
            targets=[
                {
                    "name": "bw",
                    "kind": "throughput",
                    "address": f"{host}:{port}",
                    "peer": "n1",
                    "size_bytes": 256 * 1024,
                    "interval_s": 5,
                }
            ],
            throughput={"listen": None},
        )
        peer_store = ResultStore()
        peer = ProbeRunner(peer_settings, peer_store, icmp_allowed=False)
        peer.start()
        try:
            _wait(lambda: store.runs().get("tcp", 0) >= 2 and store.get("web") is not None)
            _wait(lambda: peer_store.get("bw") is not None)
        finally:
            peer.stop()
        assert peer.responder is None
    finally:
        runner.stop()
    tcp = store.get("tcp")
    assert tcp is not None
    assert tcp.success
    assert tcp.peer == "n2"
    assert tcp.peer_site == "s2"
    web = store.get("web")
    assert web is not None
    assert web.success
    assert web.status_code == 200
    ping = store.get("ping")  # not permitted here: reported as such, never silently skipped
    assert ping is not None
    assert not ping.success
    assert ping.failure == "not_permitted"
    bw = peer_store.get("bw")
    assert bw is not None
    assert bw.success, bw
    assert bw.transferred_bytes == 256 * 1024
    assert runner.responder is not None
    assert runner.responder.served_bytes == 256 * 1024


def test_runner_bounds_concurrency(http_server) -> None:
    http_server.server.delay_s = 0.3
    settings = _probes(
        interval_s=2,
        timeout_s=1.5,
        max_concurrency=2,
        targets=[
            {"name": f"web{i}", "kind": "http", "address": http_server.url + "/"} for i in range(6)
        ],
        throughput={"listen": None},
    )
    store = ResultStore()
    runner = ProbeRunner(settings, store, icmp_allowed=False)
    runner.start()
    try:
        _wait(lambda: len(store.snapshot()) == 6)
    finally:
        runner.stop()
    assert all(result.success for result in store.snapshot())
    assert http_server.server.max_in_flight <= 2


def test_runner_counts_failures_and_keeps_going(closed_port: str) -> None:
    settings = _probes(
        interval_s=1,
        timeout_s=0.5,
        targets=[{"name": "down", "kind": "tcp", "address": closed_port}],
        throughput={"listen": None},
    )
    store = ResultStore()
    runner = ProbeRunner(settings, store, icmp_allowed=False)
    runner.start()
    try:
        _wait(lambda: store.runs().get("down", 0) >= 2, timeout_s=5.0)
    finally:
        runner.stop()
    assert store.failures()[("down", "refused")] >= 2


def test_runner_survives_responder_port_in_use(tcp_listener: str) -> None:
    settings = _probes(interval_s=1, timeout_s=0.5, throughput={"listen": tcp_listener})
    runner = ProbeRunner(settings, ResultStore(), icmp_allowed=False)
    runner.start()
    runner.stop()
    assert runner.responder is None
    assert runner.errors == 1


def test_target_whose_ca_bundle_does_not_load_is_skipped(tmp_path, tcp_listener: str) -> None:
    bundle = tmp_path / "not-a-bundle.pem"
    bundle.write_text("garbage\n")
    settings = _probes(
        interval_s=1,
        timeout_s=0.5,
        targets=[
            {"name": "bad", "kind": "tcp", "address": tcp_listener, "tls": True, "ca_file": bundle},
            {"name": "good", "kind": "tcp", "address": tcp_listener},
        ],
        throughput={"listen": None},
    )
    store = ResultStore()
    runner = ProbeRunner(settings, store, icmp_allowed=False)
    runner.start()
    try:
        _wait(lambda: store.get("good") is not None)
    finally:
        runner.stop()
    assert store.get("bad") is None
    assert runner.errors == 1
