"""continuum.agent.collector.up: every collector, hardware source and probe kind says whether it
delivered in the last cycle, and why not."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from agents._otel import CollectorRunner, InstrumentKind, InstrumentSpec, Reading
from agents._otel._selftel import COLLECTOR_UP, SELF_INSTRUMENTS, collector_up_readings
from agents.node._hardware import SourceState, source_state

SPEC = InstrumentSpec("test.value", InstrumentKind.GAUGE, "1", "A test value.")


class Steady:
    instruments = (SPEC,)

    def __init__(self, name: str, extra: Sequence[Reading] = ()) -> None:
        self.name = name
        self.extra = list(extra)

    def collect(self) -> Sequence[Reading]:
        return [Reading("test.value", 1.0, {"source": self.name}), *self.extra]


class Broken(Steady):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.broken = True

    def collect(self) -> Sequence[Reading]:
        if self.broken:
            raise OSError("sensor gone")
        return super().collect()


class Hung(Steady):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()

    def collect(self) -> Sequence[Reading]:
        self.release.wait(30)
        return super().collect()


def _probe(kind: str, target: str, success: bool) -> Reading:
    labels = {"probe": target, "probe_kind": kind, "peer": "", "peer_site": ""}
    return Reading("continuum.probe.success", 1.0 if success else 0.0, labels)


def _failures(kind: str, target: str, reason: str, count: int) -> Reading:
    labels = {"probe": target, "probe_kind": kind, "peer": "", "peer_site": "", "reason": reason}
    return Reading("continuum.probe.failures", count, labels)


def _up(readings: list[Reading]) -> dict[str, tuple[float, str]]:
    assert {r.instrument for r in readings} == {COLLECTOR_UP.name}
    return {r.attributes["collector"]: (r.value, str(r.attributes["reason"])) for r in readings}


def test_collectors_report_ok_failed_and_timeout_and_recover() -> None:
    broken, hung = Broken("smart"), Hung("nfs")
    runner = CollectorRunner([Steady("cpu"), broken, hung], timeout_s=0.2)
    try:
        readings = runner.run_once()
        up = _up(collector_up_readings("node", runner.stats, readings))
        assert up == {"cpu": (1.0, "ok"), "smart": (0.0, "failed"), "nfs": (0.0, "timeout")}
        broken.broken = False
        hung.release.set()
        hung.release = threading.Event()
        runner.run_once()  # the hung call returns meanwhile; its thread is free again
        readings = runner.run_once()
        up = _up(collector_up_readings("node", runner.stats, readings))
        assert up["smart"] == (1.0, "ok")
    finally:
        hung.release.set()
        runner.shutdown()
    assert all(r.attributes["agent"] == "node" for r in collector_up_readings("node", {}, {}))


def test_hardware_sources_report_their_state() -> None:
    sensors = Steady(
        "sensors",
        [
            source_state("rapl", SourceState.NOT_PERMITTED),
            source_state("hwmon", SourceState.OK),
            source_state("nvml", SourceState.ABSENT),
        ],
    )
    runner = CollectorRunner([sensors], timeout_s=1)
    try:
        up = _up(collector_up_readings("node", runner.stats, runner.run_once()))
    finally:
        runner.shutdown()
    assert up == {
        "sensors": (1.0, "ok"),
        "rapl": (0.0, "not_permitted"),
        "hwmon": (1.0, "ok"),
        "nvml": (0.0, "absent"),
    }


def test_probe_kinds_are_up_when_a_target_succeeds_and_say_why_not() -> None:
    probes = Steady(
        "probes",
        [
            _probe("tcp", "peer-a", True),
            _probe("tcp", "peer-b", False),
            _probe("icmp", "peer-a-ping", False),
            _failures("icmp", "peer-a-ping", "not_permitted", 4),
            _probe("http", "api", False),
            _failures("http", "api", "timeout", 2),
        ],
    )
    runner = CollectorRunner([probes], timeout_s=1)
    try:
        up = _up(collector_up_readings("probes", runner.stats, runner.run_once()))
    finally:
        runner.shutdown()
    assert up == {
        "probes": (1.0, "ok"),
        "tcp": (1.0, "ok"),
        "icmp": (0.0, "not_permitted"),
        "http": (0.0, "failed"),
    }


def test_every_agent_declares_the_instrument() -> None:
    assert COLLECTOR_UP in SELF_INSTRUMENTS
