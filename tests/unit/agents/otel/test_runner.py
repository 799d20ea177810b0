"""The collector runner: parallel, per-collector budgets, hung and failing collectors counted."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from agents._otel import CollectorRunner, InstrumentKind, InstrumentSpec, Reading

SPEC = InstrumentSpec("test.value", InstrumentKind.GAUGE, "1", "A test value.")


class Steady:
    instruments = (SPEC,)

    def __init__(self, name: str, value: float = 1.0) -> None:
        self.name = name
        self.value = value

    def collect(self) -> Sequence[Reading]:
        return [Reading("test.value", self.value, {"source": self.name})]


class Hung(Steady):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()
        self.calls = 0

    def collect(self) -> Sequence[Reading]:
        self.calls += 1
        self.release.wait(30)
        return super().collect()


class Broken(Steady):
    def collect(self) -> Sequence[Reading]:
        raise OSError("sensor gone")


def test_hung_collector_is_skipped_within_budget_and_not_called_again() -> None:
    hung = Hung("nfs")
    runner = CollectorRunner([Steady("a"), hung, Steady("b", 2.0)], timeout_s=0.2)
    try:
        started = time.monotonic()
        readings = runner.run_once()
        assert time.monotonic() - started < 1.0
        assert sorted(r.attributes["source"] for r in readings["test.value"]) == ["a", "b"]
        assert runner.stats["nfs"].timeouts == 1
        # Still stuck: skipped at once, with no second call piling up.
        started = time.monotonic()
        runner.run_once()
        assert time.monotonic() - started < 0.15
        assert hung.calls == 1
        assert runner.stats["nfs"].timeouts == 2
    finally:
        hung.release.set()
        runner.shutdown()


def test_failure_is_counted_and_others_still_report(caplog: pytest.LogCaptureFixture) -> None:
    runner = CollectorRunner([Broken("bad"), Steady("good")], timeout_s=1.0)
    try:
        for _ in range(3):
            readings = runner.run_once()
            assert [r.attributes["source"] for r in readings["test.value"]] == ["good"]
        assert runner.stats["bad"].failures == 3
        assert runner.stats["good"].failures == 0
        assert runner.stats["good"].readings == 1
        # Logged once per episode, not every cycle.
        assert (
            sum(
                "collector bad" in r.getMessage()
                for r in caplog.records
                if r.levelname == "WARNING"
            )
            == 1
        )
    finally:
        runner.shutdown()


def test_collectors_run_in_parallel() -> None:
    class Slow(Steady):
        def collect(self) -> Sequence[Reading]:
            time.sleep(0.2)
            return super().collect()

    runner = CollectorRunner([Slow(f"s{i}") for i in range(4)], timeout_s=2.0)
    try:
        started = time.monotonic()
        assert len(runner.run_once()["test.value"]) == 4
        assert time.monotonic() - started < 0.6
    finally:
        runner.shutdown()


def test_per_collector_budget_and_unique_names() -> None:
    with pytest.raises(ValueError, match="unique"):
        CollectorRunner([Steady("x"), Steady("x")], timeout_s=1)
    hung = Hung("slow")
    runner = CollectorRunner([hung], timeout_s=10, timeouts_s={"slow": 0.1})
    try:
        started = time.monotonic()
        runner.run_once()
        assert time.monotonic() - started < 1.0
        assert runner.stats["slow"].duration_s == 0.1
    finally:
        hung.release.set()
        runner.shutdown()
