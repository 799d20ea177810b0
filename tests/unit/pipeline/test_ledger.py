"""The offset ledger: commits follow acknowledgements, in record order, across shards."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline._ledger import OffsetLedger

P0, P1 = ("metrics", 0), ("metrics", 1)


@dataclass
class Letter:
    delivered: bool = False
    attempts: int = 0

    def settle(self) -> bool:
        self.attempts += 1
        return self.delivered


def test_nothing_commits_before_every_batch_is_acknowledged() -> None:
    ledger = OffsetLedger()
    ledger.record(P0, 10)
    ledger.record(P0, 11)
    ticket = ledger.seal(batches=2)
    assert ticket is not None
    assert ledger.committable() == {}
    ledger.done(ticket)
    assert ledger.committable() == {}
    ledger.done(ticket)
    assert ledger.committable() == {P0: 12}
    assert ledger.committable() == {}


def test_a_later_ticket_done_first_waits_for_the_earlier_one() -> None:
    # Two flushes on different shards; the second is acknowledged first.
    ledger = OffsetLedger()
    ledger.record(P0, 1)
    first = ledger.seal(batches=1)
    ledger.record(P0, 2)
    ledger.record(P1, 7)
    second = ledger.seal(batches=1)
    assert first is not None
    assert second is not None
    ledger.done(second)
    assert ledger.committable() == {}
    ledger.done(first)
    assert ledger.committable() == {P0: 3, P1: 8}


def test_a_revoked_partition_is_not_committed_by_this_worker() -> None:
    # Rebalance mid-batch: partition 1 moves away before its batch is acknowledged.
    ledger = OffsetLedger()
    ledger.record(P0, 5)
    ledger.record(P1, 9)
    ticket = ledger.seal(batches=1)
    ledger.record(P1, 10)  # read after the seal, not yet flushed
    ledger.revoke([P1])
    assert ticket is not None
    ledger.done(ticket)
    assert ledger.committable() == {P0: 6}
    assert ledger.seal(batches=0) is None  # the open ticket lost its only partition


def test_a_dead_letter_holds_its_ticket_until_delivered() -> None:
    ledger = OffsetLedger()
    ledger.record(P0, 3)
    ticket = ledger.seal(batches=1)
    assert ticket is not None
    letter = Letter()
    ledger.dead_letter(letter, ticket)
    ledger.done(ticket)
    assert ledger.committable() == {}
    assert not ledger.drained()
    letter.delivered = True
    assert ledger.committable() == {P0: 4}
    assert letter.attempts >= 2  # each look drove a resend


def test_a_record_with_no_samples_commits_at_once() -> None:
    ledger = OffsetLedger()
    ledger.record(P0, 0)
    assert ledger.seal(batches=0) is not None
    assert ledger.committable() == {P0: 1}
    assert ledger.seal(batches=0) is None


def test_done_more_often_than_sealed_is_a_bug_not_a_commit() -> None:
    ledger = OffsetLedger()
    ledger.record(P0, 0)
    ticket = ledger.seal(batches=1)
    assert ticket is not None
    ledger.done(ticket)
    with pytest.raises(ValueError, match="more often"):
        ledger.done(ticket)


@settings(max_examples=200, deadline=None)
@given(
    flushes=st.lists(
        st.tuples(st.lists(st.sampled_from([0, 1]), min_size=1, max_size=4), st.integers(1, 3)),
        min_size=1,
        max_size=8,
    ),
    order=st.randoms(use_true_random=False),
)
def test_commits_never_pass_an_unacknowledged_record(
    flushes: list[tuple[list[int], int]], order: object
) -> None:
    """Whatever order the shards acknowledge in, a committed offset never covers a record
    whose batches are not all done, and everything commits once all are."""
    ledger = OffsetLedger()
    next_offset = {0: 0, 1: 0}
    owner: list[tuple[int, int, object]] = []  # (partition, offset, ticket)
    pending = []
    for partitions, batches in flushes:
        for partition in partitions:
            ledger.record(("metrics", partition), next_offset[partition])
            owner.append((partition, next_offset[partition], None))
            next_offset[partition] += 1
        ticket = ledger.seal(batches)
        assert ticket is not None
        owner = [(p, o, t if t is not None else ticket) for p, o, t in owner]
        pending += [ticket] * batches
    order.shuffle(pending)  # type: ignore[attr-defined]
    committed = {0: 0, 1: 0}
    done: dict[int, int] = {}
    for ticket in pending:
        ledger.done(ticket)
        done[id(ticket)] = done.get(id(ticket), 0) + 1
        for (_, partition), offset in ledger.committable().items():
            assert offset >= committed[partition]  # offsets only move forward
            committed[partition] = offset
        for partition, offset, owning in owner:
            if offset < committed[partition]:
                assert owning.pending == 0  # type: ignore[attr-defined]
    assert committed == next_offset
    assert ledger.drained()
    assert len(ledger) == 0
