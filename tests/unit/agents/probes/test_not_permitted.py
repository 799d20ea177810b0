"""A probe kind the host does not permit is reported, with the reason and the fix, not dropped."""

from __future__ import annotations

import logging
import time

import msgspec
import pytest

from agents.probes import ProbeCollector, ProbesSettings
from agents.probes._engine import ICMP_FIX, ProbeRunner
from agents.probes._results import FAILURE_REASONS, FailureReason, ProbeResult, ResultStore


def test_icmp_targets_that_cannot_run_report_not_permitted_and_warn_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = msgspec.convert(
        {
            "interval_s": 1,
            "timeout_s": 0.5,
            "targets": [
                {"name": "ping-a", "kind": "icmp", "address": "127.0.0.1"},
                {"name": "ping-b", "kind": "icmp", "address": "127.0.0.1"},
            ],
            "throughput": {"listen": None},
        },
        ProbesSettings,
    )
    store = ResultStore()
    runner = ProbeRunner(settings, store, icmp_allowed=False)
    with caplog.at_level(logging.WARNING, logger="agents.probes._engine"):
        runner.start()
        try:
            deadline = time.monotonic() + 10
            while min(store.runs().get("ping-a", 0), store.runs().get("ping-b", 0)) < 2:
                assert time.monotonic() < deadline, store.runs()
                time.sleep(0.02)
        finally:
            runner.stop()
    for name in ("ping-a", "ping-b"):
        result = store.get(name)
        assert result is not None
        assert not result.success
        assert result.failure == FailureReason.NOT_PERMITTED
        assert ICMP_FIX in result.detail
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "ping_group_range" in warnings[0].getMessage()

    readings = ProbeCollector(store, runner).collect()
    success = {r.attributes["probe"]: r.value for r in readings if r.instrument.endswith("success")}
    assert success == {"ping-a": 0.0, "ping-b": 0.0}
    failures = {
        (r.attributes["probe"], r.attributes["reason"]): r.value
        for r in readings
        if r.instrument == "continuum.probe.failures"
    }
    assert failures[("ping-a", "not_permitted")] >= 2
    assert failures[("ping-b", "not_permitted")] >= 2
    # Every other known reason is there from 0, so panels and rules see 0, not "No data".
    assert failures[("ping-a", "timeout")] == 0
    assert {reason for _name, reason in failures} == set(FAILURE_REASONS)


def test_a_target_that_never_failed_reports_every_reason_at_zero() -> None:
    settings = msgspec.convert(
        {
            "interval_s": 1,
            "timeout_s": 0.5,
            "targets": [{"name": "ok", "kind": "tcp", "address": "127.0.0.1:1"}],
            "throughput": {"listen": None},
        },
        ProbesSettings,
    )
    store = ResultStore()
    store.put(ProbeResult("ok", "tcp", True, 0.001, rtt_s=0.001))
    readings = ProbeCollector(store, ProbeRunner(settings, store)).collect()
    failures = {
        r.attributes["reason"]: r.value
        for r in readings
        if r.instrument == "continuum.probe.failures"
    }
    assert failures == dict.fromkeys(FAILURE_REASONS, 0)
