"""Remote-write delivery against a scripted HTTP endpoint: retries, splits, order."""

from __future__ import annotations

import pytest

from pipeline._remote_write import SeriesRef
from pipeline._selfmetrics import SelfMetrics
from pipeline._writer import Batch, Part, RecordRef, RemoteWriter, Ticket, is_permanent_rejection
from tests.unit.pipeline.conftest import Endpoint


def _part(name: str, ts: int = 1_800_000_000_000, record: bool = True) -> Part:
    ref = RecordRef("t", 0, 0, b"k", name.encode(), []) if record else None
    return Part([(SeriesRef((("__name__", name),)), ts, 1.0)], ref, ts)


def _writer(
    endpoint: Endpoint, done: list[Batch], rejected: list[tuple[Part, int]]
) -> RemoteWriter:
    writer = RemoteWriter(
        endpoint.url,
        shards=2,
        on_done=done.append,
        on_reject=lambda batch, part, status, body: rejected.append((part, status)),
        metrics=SelfMetrics(),
        initial_backoff_s=0.01,
        max_backoff_s=0.05,
    )
    writer.start()
    return writer


def test_retries_5xx_and_connection_errors_until_acknowledged(endpoint: Endpoint) -> None:
    endpoint.script = [(503, b"busy"), (500, b"oops"), (502, b"")]
    done: list[Batch] = []
    writer = _writer(endpoint, done, [])
    writer.export(Batch(0, [_part("a")], Ticket(), 1))
    writer.shutdown(10_000)
    assert writer.clean
    assert endpoint.statuses == [503, 500, 502, 204]
    assert len(done) == 1
    assert len(endpoint.bodies) == 1


def test_a_rejected_batch_is_split_and_only_the_bad_part_rejected(endpoint: Endpoint) -> None:
    endpoint.reject_marker = b"poison"
    done: list[Batch] = []
    rejected: list[tuple[Part, int]] = []
    writer = _writer(endpoint, done, rejected)
    parts = [_part("good_a"), _part("poison"), _part("good_b"), _part("poison_agg", record=False)]
    writer.export(Batch(0, parts, Ticket(), 4))
    writer.shutdown(10_000)
    assert writer.clean
    assert [p.samples[0][0].labels[0][1] for p, _ in rejected] == ["poison", "poison_agg"]
    assert {b for b in endpoint.bodies} == {
        b for b in endpoint.bodies if b"good_a" in b or b"good_b" in b
    }
    assert len(endpoint.bodies) == 2
    assert len(done) == 1


def test_each_shard_keeps_its_order(endpoint: Endpoint) -> None:
    done: list[Batch] = []
    writer = _writer(endpoint, done, [])
    for i in range(20):
        writer.export(Batch(i % 2, [_part(f"s{i % 2}_{i:02d}")], Ticket(), 1))
    writer.shutdown(10_000)
    assert writer.clean
    for shard in (b"s0_", b"s1_"):
        seen = [b[b.index(shard) : b.index(shard) + 5] for b in endpoint.bodies if shard in b]
        assert seen == sorted(seen)
        assert len(seen) == 10


def test_abort_leaves_unacknowledged_batches_undone(endpoint: Endpoint) -> None:
    endpoint.script = [(503, b"")] * 10_000
    done: list[Batch] = []
    writer = _writer(endpoint, done, [])
    writer.export(Batch(0, [_part("a")], Ticket(), 1))
    writer.shutdown(300)
    assert not writer.clean
    assert done == []


@pytest.mark.parametrize(
    ("status", "body", "permanent"),
    [
        (400, "duplicate sample", True),
        (500, "too old sample", True),
        (500, "duplicate label names", True),
        (503, "unavailable", False),
        (500, "internal", False),
        # Credentials or rate, never the samples: retried until configuration is fixed.
        (401, "Unauthorized", False),
        (403, "forbidden", False),
        (429, "too many requests", False),
    ],
)
def test_permanent_rejections(status: int, body: str, permanent: bool) -> None:
    assert is_permanent_rejection(status, body) is permanent


def test_the_writer_has_the_sink_shape(endpoint: Endpoint) -> None:
    from continuum._sink import ExportResult

    done: list[Batch] = []
    writer = _writer(endpoint, done, [])
    assert writer.export(Batch(0, [_part("a")], Ticket(), 1)) is ExportResult.SUCCESS
    assert writer.export(Batch(1, [_part("b")], Ticket(), 1)) is ExportResult.SUCCESS
    assert writer.force_flush(5_000)
    assert len(done) == 2
    writer.shutdown(1_000)
    assert writer.clean
    assert writer.export(Batch(0, [_part("c")], Ticket(), 1)) is ExportResult.FAILURE
