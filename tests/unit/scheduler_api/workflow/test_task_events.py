"""The task-event record and the assignment record on the wire."""

from __future__ import annotations

import pytest

from scheduler_api.workflow import (
    Assignment,
    EventError,
    TaskEvent,
    WorkerHeartbeat,
    assignments_topic,
)


def test_records_round_trip_as_json() -> None:
    event = TaskEvent(
        "finished", "wf", "t", 2, "edge-1", 10.0, 9.0, 1.0, 0.5, 1 << 20, 10, 20, "", [1, 2]
    )
    assert TaskEvent.decode(event.encode()) == event
    started = TaskEvent.started(workflow="wf", task="t", attempt=1, node="n")
    assert started.at_s == started.started_s
    assignment = Assignment("wf", "t", 1, "n", module="m", function="f", args=[1], kwargs={"k": 2})
    assert Assignment.decode(assignment.encode()) == assignment
    beat = WorkerHeartbeat("n", 1.0, ["wf/t/1"])
    assert WorkerHeartbeat.decode(beat.encode()) == beat
    assert assignments_topic("edge-1") == "continuum.tasks.edge-1"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (
            b'{"kind": "exploded", "workflow": "w", "task": "t", "attempt": 1, "node": "n", '
            b'"at_s": 0}',
            "kind: 'exploded'",
        ),
        (b'{"kind": "started"}', "missing"),
    ],
)
def test_bad_events_are_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(EventError, match=message):
        TaskEvent.decode(raw)


def test_fields_of_a_newer_release_are_skipped_so_mixed_fleets_work() -> None:
    newer = (
        b'{"kind": "finished", "workflow": "w", "task": "t", "attempt": 1, "node": "n", '
        b'"at_s": 2.0, "value": 9, "gpu_s": 1.5}'
    )
    event = TaskEvent.decode(newer)
    assert (event.kind, event.value) == ("finished", 9)
    beat = WorkerHeartbeat.decode(b'{"node": "n", "at_s": 1.0, "load": 0.3}')
    assert beat.node == "n"


def test_an_assignment_runs_a_command_or_a_function_never_both() -> None:
    with pytest.raises(EventError, match="exactly one"):
        Assignment("wf", "t", 1, "n")
    with pytest.raises(EventError, match="exactly one"):
        Assignment("wf", "t", 1, "n", argv=["true"], module="m", function="f")
    with pytest.raises(EventError, match="module or file"):
        Assignment("wf", "t", 1, "n", function="f")
