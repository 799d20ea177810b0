"""Kubernetes quantities and pod requirements; the pending-load ledger."""

from __future__ import annotations

import pytest

from scheduler_api._extender import QuantityError, parse_quantity, pod_requirements
from scheduler_api._pending import PendingLedger
from scheduler_api._store import Database
from scheduler_api.ranking import DatasetLocation, Reservation


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5),
        ("2", 2.0),
        ("1Gi", 2.0**30),
        ("1G", 1e9),
        ("1e3", 1000.0),
        ("128974848", 128974848.0),
        (3, 3.0),
    ],
)
def test_parse_quantity(text: str | int, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_parse_quantity_refuses_garbage() -> None:
    with pytest.raises(QuantityError):
        parse_quantity("2 cores")


def test_pod_requirements_sum_containers_and_read_annotations() -> None:
    pod = {
        "metadata": {
            "annotations": {
                "continuum.io/tier": "edge",
                "continuum.io/datasets": "a, unknown",
                "continuum.io/duration-s": "30",
            }
        },
        "spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}},
                {"resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}}},
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "4"}}}],
        },
    }
    data = DatasetLocation("a", 10)
    requirements = pod_requirements(pod, {"a": data})
    assert requirements.cpu_cores == 4.0  # the init container needs more than the sum
    assert requirements.memory_bytes == 1536 * 2**20
    assert requirements.gpus == 1
    assert requirements.tier == "edge"
    assert requirements.datasets == (data,)
    assert requirements.duration_s == 30


def test_pending_ledger_sums_and_expires() -> None:
    ledger = PendingLedger(Database(":memory:"), ttl_s=10)
    ledger.add("a", Reservation(1.0, 100.0), now_s=0)
    ledger.add("a", Reservation(2.0, 50.0, 1), now_s=5)
    assert ledger.totals(now_s=6) == {"a": Reservation(3.0, 150.0, 1)}
    assert ledger.totals(now_s=11) == {"a": Reservation(2.0, 50.0, 1)}
    assert ledger.totals(now_s=15) == {}
    assert ledger.count(now_s=15) == 0


def test_pending_ledger_with_zero_ttl_counts_nothing() -> None:
    ledger = PendingLedger(Database(":memory:"), ttl_s=0)
    ledger.add("a", Reservation(1.0), now_s=0)
    assert ledger.totals(now_s=0) == {}


def test_pod_constraints_from_annotations_and_ephemeral_storage() -> None:
    pod = {
        "metadata": {
            "annotations": {
                "continuum.io/max-utilization": "0.75",
                "continuum.io/allow-oversubscribe": "TRUE",
                "continuum.io/not-before": "1000",
                "continuum.io/deadline": "2000.5",
            }
        },
        "spec": {"containers": [{"resources": {"requests": {"ephemeral-storage": "10Gi"}}}]},
    }
    requirements = pod_requirements(pod)
    assert requirements.disk_bytes == 10 * 2**30
    assert requirements.max_utilization == 0.75
    assert requirements.allow_oversubscribe is True
    assert (requirements.not_before_s, requirements.deadline_s) == (1000.0, 2000.5)
    assert pod_requirements({}).allow_oversubscribe is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("deadline", "tomorrow", "continuum.io/deadline: not a number"),
        ("allow-oversubscribe", "yes", "continuum.io/allow-oversubscribe: expected true or false"),
    ],
)
def test_malformed_constraint_annotations_name_the_key(name: str, value: str, message: str) -> None:
    pod = {"metadata": {"annotations": {f"continuum.io/{name}": value}}}
    with pytest.raises(QuantityError, match=message):
        pod_requirements(pod)


def test_pending_totals_follow_every_reservation_and_expiry() -> None:
    # The SQLite ledger keeps its totals between reads: each write and each expiry must show.
    ledger = PendingLedger(Database(":memory:"), ttl_s=10)
    assert ledger.totals(now_s=0) == {}
    ledger.add("a", Reservation(1.0), now_s=1)
    assert ledger.totals(now_s=1) == {"a": Reservation(1.0)}
    ledger.add("b", Reservation(2.0), now_s=2)
    assert ledger.totals(now_s=2) == {"a": Reservation(1.0), "b": Reservation(2.0)}
    assert ledger.totals(now_s=10.999) == {"a": Reservation(1.0), "b": Reservation(2.0)}
    assert ledger.totals(now_s=11) == {"b": Reservation(2.0)}
    assert ledger.totals(now_s=12) == {}
    chosen = ledger.reserve(lambda totals: None, now_s=12)
    assert chosen is None
    assert ledger.count(now_s=12) == 0
