"""The Kafka settings a production profile must hold before any daemon starts.

The local broker of `continuum up` (Tansu) keeps records in memory, so the stack's durability in
production rests on Apache Kafka's settings. A ``kafka`` section with ``profile: production``
declares them (``acks``, ``topics.*``) and every daemon started by ``continuum`` checks them
first, refusing to start with a message that names each setting to fix::

    problems = violations(load_section(KafkaSettings, "kafka", Path("continuum.yaml")))
    check_profile(Path("continuum.yaml"))   # raises DurabilityError listing them

The figures behind each rule are in docs/reliability.md ("Durability in production").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from continuum.config import KafkaSettings, load_section

__all__ = [
    "MIN_INSYNC_REPLICAS",
    "MIN_REPLICATION_FACTOR",
    "MIN_RETENTION_HOURS",
    "DurabilityError",
    "Violation",
    "check_profile",
    "violations",
]

#: Copies of each partition: one broker may be down for maintenance while another fails.
MIN_REPLICATION_FACTOR = 3
#: Copies that must hold a record before ``acks=all`` answers: a record survives losing one.
MIN_INSYNC_REPLICAS = 2
#: A day-long pipeline outage, then as long again to work through the day's backlog while new
#: records keep coming (a pipeline twice as fast as the offered load needs that long).
MIN_RETENTION_HOURS = 48.0


class DurabilityError(ValueError):
    """A production profile whose Kafka settings would lose acknowledged data."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken: the continuum.yaml key, Kafka's own name for it, why, and the fix."""

    key: str
    kafka_name: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key} ({self.kafka_name}): {self.problem}; {self.fix}"


def violations(kafka: KafkaSettings) -> list[Violation]:
    """The durability rules ``kafka`` breaks (none for the ``local`` profile)."""
    if kafka.profile != "production":
        return []
    topics = kafka.topics
    found: list[Violation] = []
    if kafka.acks != "all":
        found.append(
            Violation(
                "kafka.acks",
                "acks",
                f"is {kafka.acks}: the leader answers before any follower holds the record, "
                "so a leader lost at that moment loses an acknowledged record",
                "set it to all",
            )
        )
    if topics.replication_factor < MIN_REPLICATION_FACTOR:
        found.append(
            Violation(
                "kafka.topics.replication_factor",
                "replication factor",
                f"is {topics.replication_factor}: fewer than {MIN_REPLICATION_FACTOR} copies "
                "cannot keep min.insync.replicas copies while a broker is down",
                f"set it to {MIN_REPLICATION_FACTOR} or more",
            )
        )
    if topics.min_insync_replicas < MIN_INSYNC_REPLICAS:
        found.append(
            Violation(
                "kafka.topics.min_insync_replicas",
                "min.insync.replicas",
                f"is {topics.min_insync_replicas}: acks=all is then answered by the leader "
                "alone once its followers fall behind, and losing it loses the record",
                f"set it to {MIN_INSYNC_REPLICAS}",
            )
        )
    elif topics.min_insync_replicas >= topics.replication_factor:
        found.append(
            Violation(
                "kafka.topics.min_insync_replicas",
                "min.insync.replicas",
                f"is {topics.min_insync_replicas} with a replication factor of "
                f"{topics.replication_factor}: one broker down refuses every write, and "
                "the agents' spools fill and drop their oldest exports",
                "keep it below the replication factor",
            )
        )
    if topics.unclean_leader_election:
        found.append(
            Violation(
                "kafka.topics.unclean_leader_election",
                "unclean.leader.election.enable",
                "is true: a replica missing acknowledged records may become leader and the "
                "others truncate to it",
                "set it to false",
            )
        )
    if topics.retention_hours < MIN_RETENTION_HOURS:
        found.append(
            Violation(
                "kafka.topics.retention_hours",
                "retention.ms",
                f"is {topics.retention_hours:g} h: records the pipeline has not read by then "
                f"are deleted, and a day-long outage plus its catch-up needs "
                f"{MIN_RETENTION_HOURS:g} h",
                f"set it to {MIN_RETENTION_HOURS:g} or more (the deploy profiles use 72)",
            )
        )
    return found


def check_profile(config_file: Path | None) -> None:
    """Refuse a production profile whose Kafka settings would lose acknowledged data.

    Raises:
        DurabilityError: listing every setting to fix.
        ConfigError: the ``kafka`` section itself is invalid.
    """
    problems = violations(load_section(KafkaSettings, "kafka", config_file))
    if problems:
        listed = "\n  ".join(str(p) for p in problems)
        raise DurabilityError(
            f"refusing to start: this production profile would lose acknowledged data:\n  {listed}"
        )
