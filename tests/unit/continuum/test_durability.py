"""The durability rules of a production profile, one test per rule, and the deploy profiles."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from agents._otel._kafka import default_producer_factory
from agents._otel._settings import KafkaSettings, TopicSettings, load_section
from continuum._durability import (
    MIN_RETENTION_HOURS,
    DurabilityError,
    Violation,
    check_profile,
    violations,
)
from continuum.cli import cli

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
_TOPICS = ("otlp_metrics", "otlp_metrics.dlq")


def _production(**changes: Any) -> KafkaSettings:
    topics = {
        "replication_factor": 3,
        "min_insync_replicas": 2,
        "retention_hours": 72.0,
        "unclean_leader_election": False,
    }
    kafka: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
    for key, value in changes.items():
        (topics if key in topics else kafka)[key] = value
    return KafkaSettings(profile="production", topics=TopicSettings(**topics), **kafka)


def _only(settings: KafkaSettings) -> Violation:
    found = violations(settings)
    assert len(found) == 1, found
    return found[0]


def test_a_sound_production_profile_and_any_local_one_pass() -> None:
    assert violations(_production()) == []
    # The in-memory local broker is not held to production rules (its loss is documented).
    assert violations(KafkaSettings()) == []


def test_acks_below_all_is_refused() -> None:
    for acks in (1, 0):
        found = _only(_production(acks=acks))
        assert found.key == "kafka.acks"
        assert "set it to all" in str(found)


def test_fewer_than_three_replicas_is_refused() -> None:
    found = violations(_production(replication_factor=2))
    assert [v.key for v in found] == [
        "kafka.topics.replication_factor",
        "kafka.topics.min_insync_replicas",  # 2 of 2: one broker down refuses writes
    ]
    assert "set it to 3 or more" in str(found[0])


def test_min_insync_replicas_of_one_is_refused() -> None:
    found = _only(_production(min_insync_replicas=1))
    assert found.key == "kafka.topics.min_insync_replicas"
    assert found.kafka_name == "min.insync.replicas"
    assert "set it to 2" in str(found)


def test_min_insync_replicas_equal_to_the_replicas_is_refused() -> None:
    found = _only(_production(min_insync_replicas=3))
    assert found.key == "kafka.topics.min_insync_replicas"
    assert "below the replication factor" in str(found)


def test_unclean_leader_election_is_refused() -> None:
    found = _only(_production(unclean_leader_election=True))
    assert found.kafka_name == "unclean.leader.election.enable"
    assert "set it to false" in str(found)


def test_retention_shorter_than_a_day_long_outage_and_its_catch_up_is_refused() -> None:
    assert violations(_production(retention_hours=MIN_RETENTION_HOURS)) == []
    found = _only(_production(retention_hours=24))
    assert found.key == "kafka.topics.retention_hours"
    assert found.kafka_name == "retention.ms"


def _kafka_section(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if "data" in document:  # a ConfigMap
        document = yaml.safe_load(document["data"]["continuum.yaml"])
    section: dict[str, Any] = document["kafka"]
    return section


_PROFILES = [DEPLOY / "compose" / "continuum.yaml", DEPLOY / "kubernetes" / "config.yaml"]


@pytest.mark.parametrize("profile", _PROFILES, ids=["compose", "kubernetes"])
def test_the_deploy_profiles_are_production_and_pass(profile: Path, tmp_path: Path) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(yaml.safe_dump({"kafka": _kafka_section(profile)}))
    kafka = load_section(KafkaSettings, "kafka", config)
    assert kafka.profile == "production"
    assert kafka.acks == "all"
    assert kafka.enable_idempotence is True  # Apache Kafka supports it
    check_profile(config)


def _topic_script(text: str) -> str:
    """The shell script that creates the topics, from a compose service or a Job."""
    document = yaml.safe_load(text)
    if "services" in document:
        return str(document["services"]["kafka-topics"]["command"][0])
    return str(document["spec"]["template"]["spec"]["containers"][0]["args"][0])


@pytest.mark.parametrize(
    ("profile", "topics_file"),
    [
        (_PROFILES[0], DEPLOY / "compose" / "compose.yaml"),
        (_PROFILES[1], DEPLOY / "kubernetes" / "kafka-topics.yaml"),
    ],
    ids=["compose", "kubernetes"],
)
def test_the_brokers_get_what_the_profile_declares(profile: Path, topics_file: Path) -> None:
    declared = _kafka_section(profile)["topics"]
    script = _topic_script(topics_file.read_text())
    words = shlex.split(script.replace("$$", "$").replace("\\\n", " "))
    assert words[words.index("--replication-factor") + 1] == str(declared["replication_factor"])
    configs = dict(
        pair.split("=", 1)
        for i, word in enumerate(words)
        if word in ("--config", "--add-config")
        for pair in words[i + 1].split(",")
    )
    assert configs["min.insync.replicas"] == str(declared["min_insync_replicas"])
    assert int(configs["retention.ms"]) == declared["retention_hours"] * 3_600_000
    assert (
        configs["unclean.leader.election.enable"]
        == str(declared["unclean_leader_election"]).lower()
    )
    assert re.search(r"for topic in otlp_metrics otlp_metrics\.dlq;", script), script


def test_the_compose_brokers_default_to_the_same_settings() -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    declared = _kafka_section(_PROFILES[0])["topics"]
    for broker in ("kafka-1", "kafka-2", "kafka-3"):
        env = compose["services"][broker]["environment"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == declared["replication_factor"]
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == declared["min_insync_replicas"]
        assert env["KAFKA_LOG_RETENTION_HOURS"] == declared["retention_hours"]
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        # The pipeline's committed offsets live in an internal topic: as durable as ours.
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == declared["replication_factor"]
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_a_daemon_refuses_to_start_and_names_every_setting_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "continuum.yaml"
    kafka = _kafka_section(_PROFILES[0]) | {"acks": 1}
    kafka["topics"] = kafka["topics"] | {"retention_hours": 12}
    config.write_text(yaml.safe_dump({"kafka": kafka}))
    for command in (["agent", "node"], ["pipeline"], ["api"]):
        result = CliRunner().invoke(cli, [*command, "--config", str(config)])
        assert result.exit_code != 0
        assert "would lose acknowledged data" in result.output
        assert "kafka.acks (acks): is 1" in result.output
        assert "kafka.topics.retention_hours (retention.ms)" in result.output
    # The environment overrides the file, and is checked the same way.
    config.write_text(yaml.safe_dump({"kafka": _kafka_section(_PROFILES[0])}))
    monkeypatch.setenv("CONTINUUM_KAFKA__TOPICS__MIN_INSYNC_REPLICAS", "1")
    with pytest.raises(
        DurabilityError,
        match=re.escape("kafka.topics.min_insync_replicas (min.insync.replicas): is 1"),
    ):
        check_profile(config)


def test_the_producers_take_acks_and_idempotence_from_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kafka

    made: list[dict[str, Any]] = []
    monkeypatch.setattr(kafka, "KafkaProducer", lambda **options: made.append(options))
    default_producer_factory(_production(), 900_000)()
    default_producer_factory(KafkaSettings(), 900_000)()
    production, local = made
    assert (production["acks"], production["enable_idempotence"]) == ("all", True)
    # kafka-python refuses idempotence with retries=0; ordering needs <= 5 in flight.
    assert production["retries"] > 0
    assert production["max_in_flight_requests_per_connection"] <= 5
    # Tansu breaks idempotent producers on restart (docs/platform.md): off locally.
    assert (local["acks"], local["enable_idempotence"], local["retries"]) == (1, False, 0)


def test_the_local_stack_runs_a_production_file_as_the_local_profile(tmp_path: Path) -> None:
    from continuum._stack import LocalStack
    from continuum._stack_settings import StackSettings
    from continuum._state import StateDir

    user = {"kafka": _kafka_section(_PROFILES[0])}
    config = LocalStack(StateDir(tmp_path), StackSettings(), user).daemon_config()
    kafka = config["kafka"]
    assert (kafka["profile"], kafka["enable_idempotence"]) == ("local", False)
    assert kafka["bootstrap_servers"] == "127.0.0.1:9092"
    written = tmp_path / "continuum.yaml"
    written.write_text(yaml.safe_dump(config))
    check_profile(written)  # the daemons of `continuum up` start
