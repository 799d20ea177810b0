"""A broker SIGKILLed while holding records nobody has read yet, and restarted: nothing is lost.

The in-memory Tansu of the other fault tests would lose those records (docs/reliability.md), so
this broker stores in S3 (Tansu's ``s3://`` engine on a moto server): what it acknowledged is in
the bucket before the acknowledgement, as with Apache Kafka's log on disk. Every sample goes the
agents' way (spool, sender) into Kafka, the pipeline reads them only after the restart, and each
must land in Prometheus.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from continuum.services import PrometheusServer, S3Server, TansuBroker, free_port
from tests.reliability.conftest import TunedRunFactory
from tests.reliability.faults import SeqProducer, landed, record_figure, wait_for

pytest.importorskip("moto", reason="moto[server] (a dev dependency) serves the broker's S3")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_leaked_sockets"),
]

_SAMPLES = 300


@pytest.fixture
def durable_tansu(tmp_path: Path) -> Iterator[TansuBroker]:
    s3 = S3Server("127.0.0.1", free_port(), tmp_path / "s3")
    s3.start()
    broker = TansuBroker("127.0.0.1", free_port(), tmp_path / "tansu", s3=s3)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        s3.stop()


def test_a_durable_broker_killed_with_unread_records_loses_none(
    durable_tansu: TansuBroker,
    prometheus: PrometheusServer,
    tuned_run_factory: TunedRunFactory,
    tmp_path: Path,
) -> None:
    run = tuned_run_factory(durable_tansu.bootstrap, prometheus.remote_write_url)
    tag = secrets.token_hex(3)
    metric, name = f"rel.durable.{tag}", f"rel_durable_{tag}"
    producer = SeqProducer(tmp_path, durable_tansu.bootstrap, run.topic, metric)
    producer.sender.start()
    producer.put(_SAMPLES)
    assert producer.sender.force_flush(60_000), "the broker did not acknowledge every sample"
    acknowledged = producer.sender.delivered_messages
    assert acknowledged == _SAMPLES

    # Every sample acknowledged, none read: the broker dies as in a crash.
    durable_tansu.kill()
    durable_tansu.start()
    restarted = time.monotonic()
    run.start_worker()
    wait_for(
        lambda: landed(prometheus, name) >= _SAMPLES,
        120,
        f"every acknowledged sample ({landed(prometheus, name)} of {_SAMPLES})\n{run.logs()}",
    )
    recovery_s = time.monotonic() - restarted
    producer.stop()
    assert landed(prometheus, name) == _SAMPLES
    record_figure(
        "durable_broker_sigkill_unread",
        sent=_SAMPLES,
        lost=_SAMPLES - landed(prometheus, name),
        recovery_s=round(recovery_s, 1),
    )


def test_the_in_memory_local_broker_loses_what_was_unread(
    fresh_tansu: TansuBroker, tmp_path: Path
) -> None:
    """The control: the loss docs/reliability.md allows locally, and the test above closes."""
    from kafka import KafkaConsumer, TopicPartition

    topic = f"rel-memory-{secrets.token_hex(3)}"
    producer = SeqProducer(tmp_path, fresh_tansu.bootstrap, topic, "rel.memory")
    producer.sender.start()
    producer.put(_SAMPLES)
    assert producer.sender.force_flush(60_000)
    producer.stop()
    assert producer.sender.delivered_messages == _SAMPLES

    def records_held() -> int:
        """The topic's high watermarks, summed over its partitions."""
        consumer = KafkaConsumer(bootstrap_servers=fresh_tansu.bootstrap)
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        finally:
            consumer.close()
        return sum(ends.values())

    # Tansu's high watermark is not a record count (it counts fewer), but it is 0 only when empty.
    assert records_held() > 0
    fresh_tansu.kill()
    fresh_tansu.start()
    assert records_held() == 0  # every acknowledged record is gone
