"""Task metrics of continuum run: what each ended attempt records, on which node's resource."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from continuum._task_metrics import TaskMetrics
from scheduler_api.workflow import Transition


class Captured(MetricExporter):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.exports: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, **_: Any) -> MetricExportResult:
        self.exports.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **_: Any) -> None:
        pass


def _points(exporter: Captured) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for data in exporter.exports:
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for point in metric.data.data_points:
                        out.setdefault(metric.name, []).append((dict(point.attributes), point))
    return out


def _resource(exporter: Captured) -> dict[str, Any]:
    return dict(exporter.exports[-1].resource_metrics[0].resource.attributes)


def test_each_ended_attempt_is_recorded_on_its_node() -> None:
    exporters: dict[str, Captured] = {}

    def factory(node_id: str) -> Captured:
        return exporters.setdefault(node_id, Captured())

    metrics = TaskMetrics("run-1", {"edge-1": ("edge", "lab")}, exporter_factory=factory)
    ended: Sequence[Transition] = [
        Transition("square-1", "started", "edge-1", 1.0, name="square"),
        Transition(
            "square-1", "finished", "edge-1", 2.0, name="square", run_s=0.4, cpu_s=0.3,
            read_bytes=1000, written_bytes=10,
        ),
        Transition("square-2", "failed", "edge-1", 3.0, name="square", run_s=0.2, cpu_s=0.1),
        Transition("total-1", "finished", "hpc-1", 4.0, name="total", run_s=1.5),
        Transition("lost-1", "failed", "edge-1", 5.0, name="lost"),  # no measurement: nothing
    ]  # fmt: skip
    for transition in ended:
        metrics(transition)
    metrics.shutdown()

    edge = _points(exporters["edge-1"])
    durations = {(a["task"], a["outcome"]): p for a, p in edge["continuum.task.duration"]}
    assert set(durations) == {("square", "finished"), ("square", "failed")}
    assert durations[("square", "finished")].sum == 0.4
    assert durations[("square", "finished")].count == 1
    [(attributes, cpu)] = edge["continuum.task.cpu.time"]
    assert attributes == {"workflow": "run-1", "task": "square"}
    assert abs(cpu.value - 0.4) < 1e-9
    io = {a["disk.io.direction"]: p.value for a, p in edge["continuum.task.io"]}
    assert io == {"read": 1000, "write": 10}
    resource = _resource(exporters["edge-1"])
    assert resource["continuum.node.id"] == "edge-1"
    assert (resource["continuum.tier"], resource["continuum.site"]) == ("edge", "lab")
    assert resource["continuum.workflow"] == "run-1"
    # A node the run knew nothing about still gets its own resource.
    assert _resource(exporters["hpc-1"])["continuum.node.id"] == "hpc-1"
    assert "continuum.task.cpu.time" not in _points(exporters["hpc-1"])


def test_a_run_with_nothing_measured_exports_nothing() -> None:
    made: list[str] = []
    metrics = TaskMetrics("run-2", exporter_factory=lambda node: made.append(node) or Captured())
    metrics(Transition("a-1", "placed", "edge-1", 1.0, name="a"))
    metrics.shutdown()
    assert made == []


def test_force_flush_exports_what_was_recorded_and_the_run_goes_on() -> None:
    exporters: dict[str, Captured] = {}

    def factory(node: str) -> Captured:
        exporters[node] = Captured()
        return exporters[node]

    metrics = TaskMetrics("run-3", exporter_factory=factory)
    metrics(Transition("a-1", "finished", "edge-1", 1.0, name="a", run_s=0.5, cpu_s=0.2))
    assert metrics.force_flush()
    assert "continuum.task.duration" in _points(exporters["edge-1"])
    metrics(Transition("a-2", "finished", "edge-1", 2.0, name="a", run_s=0.7, cpu_s=0.1))
    metrics.shutdown()
    durations = _points(exporters["edge-1"])["continuum.task.duration"]
    assert max(p.count for _, p in durations) == 2  # recording went on after the flush
