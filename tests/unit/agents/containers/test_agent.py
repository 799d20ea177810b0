"""The container agent end to end on fixture trees: /metrics names, labels, catalogue, churn."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

# kafka-python 3.0.12 calls the deprecated importlib.resources.read_text at import; this is
# not ours to fix, and the suite turns warnings into errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka.admin  # noqa: F401

from agents._otel import ConfigError, IdentitySettings, KafkaSettings, ProducerLike, load_section
from agents.containers import ContainersAgent, ContainersSettings
from pipeline.catalogue import (
    CATALOGUE,
    CONTAINER_IDENTITY_LABELS,
    NODE_IDENTITY_LABELS,
    SeriesType,
)
from tests.unit.agents.otel.fake_kafka import FakeProducer

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "cgroup"
IDENTITY = IdentitySettings(node_id="edge-01", tier="edge", site="lab")
# The shared self-telemetry and target_info are catalogued by their own owners.
NOT_OURS = ("continuum_agent_", "target")


def _agent(
    tree: Path,
    producer_factory: Callable[[], ProducerLike] | None = None,
    **overrides: object,
) -> ContainersAgent:
    settings = ContainersSettings(
        listen="127.0.0.1:0",
        cgroup_root=tree / "cgroup",
        proc_root=tree / "proc",
        docker_root=tree / "docker",
        containerd_state=tree / "containerd",
        storage_root=tree / "storage",
        **{"push": False, **overrides},  # type: ignore[arg-type]
    )
    return ContainersAgent(
        settings, identity=IDENTITY, kafka=KafkaSettings(), producer_factory=producer_factory
    )


@pytest.fixture
def started() -> Iterator[list[ContainersAgent]]:
    agents: list[ContainersAgent] = []
    yield agents
    for agent in agents:
        agent.shutdown()


def _scrape(agent: ContainersAgent, started: list[ContainersAgent]) -> str:
    if agent not in started:
        agent.start()
        started.append(agent)
    agent.run_cycle()
    return httpx.get(f"http://127.0.0.1:{agent.server.port}/metrics").text


def _families(text: str) -> dict[str, tuple[str, str, list[dict[str, str]]]]:
    out = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        out[name] = (family.type, family.documentation, [s.labels for s in family.samples])
    return out


def test_every_exposed_series_is_catalogued_and_every_catalogued_one_is_exposed(
    started: list[ContainersAgent],
) -> None:
    exposed: dict[str, tuple[str, str, list[dict[str, str]]]] = {}
    for tree in ("v2_systemd", "v1_cgroupfs"):
        exposed.update(_families(_scrape(_agent(FIXTURES / tree), started)))
    ours = {n: f for n, f in exposed.items() if not n.startswith(NOT_OURS)}
    catalogued = {n for n, s in CATALOGUE.items() if s.source == "containers"}
    assert set(ours) == catalogued
    for name, (kind, help_text, label_sets) in ours.items():
        series = CATALOGUE[name]
        assert kind == series.type.value
        assert help_text == series.help
        allowed = {*NODE_IDENTITY_LABELS, *series.labels}
        if name != "continuum_containers":
            allowed |= set(CONTAINER_IDENTITY_LABELS)
        for labels in label_sets:
            assert set(labels) <= allowed, name
            assert {"node", "tier", "site"} <= set(labels)
    counters = [s for s in CATALOGUE.values() if s.source == "containers"]
    assert all(s.name.endswith("_total") == (s.type is SeriesType.COUNTER) for s in counters)


def test_identity_labels_follow_design(started: list[ContainersAgent]) -> None:
    text = _scrape(_agent(FIXTURES / "v2_systemd"), started)
    cpu = [
        s.labels
        for f in text_string_to_metric_families(text)
        if f.name == "container_cpu_time_seconds"
        for s in f.samples
        if s.labels.get("cpu_mode") == "user"
    ]
    nginx = next(labels for labels in cpu if labels["container"] == "nginx")
    assert nginx["container_id"] == "a" * 64
    assert (nginx["pod"], nginx["namespace"]) == ("web-0", "shop")
    assert (nginx["node"], nginx["tier"], nginx["site"]) == ("edge-01", "edge", "lab")
    assert nginx["k8s_pod_qos_class"] == "guaranteed"


def test_text_exposition_passes_promtool(started: list[ContainersAgent], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    text = _scrape(_agent(FIXTURES / "v2_systemd"), started)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _make_v2_container(root: Path, container_id: str) -> Path:
    group = root / "system.slice" / f"docker-{container_id}.scope"
    group.mkdir(parents=True)
    (group / "cpu.stat").write_text("usage_usec 30\nuser_usec 20\nsystem_usec 10\n")
    return group


def test_churn_leaves_no_state_of_vanished_containers(
    tmp_path: Path, started: list[ContainersAgent]
) -> None:
    tree = tmp_path / "tree"
    (tree / "cgroup").mkdir(parents=True)
    (tree / "cgroup" / "cgroup.controllers").write_text("cpu memory\n")
    producer = FakeProducer()
    agent = _agent(tree, push=True, spool_dir=tmp_path / "spool", producer_factory=lambda: producer)
    assert agent.exporter is not None
    live: list[Path] = []
    # 1,200 containers over the run, 2 cpu.time series each.
    for batch in range(12):
        for group in live:
            shutil.rmtree(group)
        live = [_make_v2_container(tree / "cgroup", f"{batch:04x}{i:060x}") for i in range(100)]
        text = _scrape(agent, started)
    assert "overflow" not in text
    assert text.count('cpu_mode="user"') == 100
    assert agent.containers.tracked == 100
    # The SDK's state, in each of its two readers (pull and push): the live series (the live
    # containers' and the agent's own), nothing of the 1,100 containers gone.
    live_series = sum(len(r) for r in agent.board.snapshot.readings.values())
    assert live_series < 100 * 2 + 100
    assert agent.meter.tracked_series <= 2 * live_series


def test_missing_cgroup_root_reports_no_containers(
    tmp_path: Path, started: list[ContainersAgent]
) -> None:
    text = _scrape(_agent(tmp_path / "nothing"), started)
    assert "continuum_containers" in text
    assert "container_cpu_time_seconds_total{" not in text


def test_settings_from_file_and_errors_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(
        "containers:\n  listen: 127.0.0.1:19467\n  cgroup_root: /host/sys/fs/cgroup\n"
    )
    settings = load_section(ContainersSettings, "containers", config)
    assert (settings.listen, settings.cgroup_root) == (
        "127.0.0.1:19467",
        Path("/host/sys/fs/cgroup"),
    )
    assert settings.proc_root == Path("/proc")
    assert ContainersSettings().listen == "127.0.0.1:9467"
    config.write_text("containers:\n  max_depth: 0\n")
    with pytest.raises(ConfigError, match=r"containers\.max_depth"):
        load_section(ContainersSettings, "containers", config)


def test_kubelet_lookup_is_configured_only_when_asked(tmp_path: Path) -> None:
    assert ContainersSettings().kubelet() is None
    settings = ContainersSettings(kubelet_url="https://127.0.0.1:10250/pods", kubelet_insecure=True)
    kubelet = settings.kubelet()
    assert kubelet is not None
    kubelet.close()
