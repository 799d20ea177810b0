"""The container agent as a daemon on real cgroups: /metrics (pull) and Kafka to Prometheus (push).

A Kubernetes-shaped container in both the v2 hierarchy and the v1 controllers runs a CPU and
memory burner; its containerd metadata names it. Both delivery paths must show it with the
same identity labels and CPU time within 10 % of what the process used, and drop it once it
is gone.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from continuum.services import ManagedProcess, PrometheusServer, ServiceError, wait_until
from tests.conftest import LiveStack
from tests.integration.containers.conftest import CgroupMaker, Workload, container_id, pod_uid

_DEADLINE_S = 30.0


def _cpu_samples(url: str, cid: str) -> list[tuple[dict[str, str], float]]:
    text = httpx.get(url, timeout=5).text
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        if family.name == "container_cpu_time_seconds"
        for s in family.samples
        if s.labels.get("container_id") == cid and s.name.endswith("_total")
    ]


@pytest.fixture
def containerd_state(tmp_path: Path) -> Path:
    return tmp_path / "containerd"


@pytest.fixture
def containers_agent(
    live_stack: LiveStack, containerd_state: Path, tmp_path: Path
) -> Iterator[tuple[ManagedProcess, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env["CONTINUUM_CONTAINERS__CONTAINERD_STATE"] = str(containerd_state)
    argv = [sys.executable, "-m", "continuum", "agent", "containers"]
    process = ManagedProcess(
        "containers",
        [*argv, "--config", str(live_stack.config_path)],
        tmp_path / "containers.log",
        env=env,
    )
    url = f"http://127.0.0.1:{live_stack.ports['containers']}/metrics"
    process.start()
    try:
        wait_until(lambda: _ok(url), 30, f"container agent ({process.log_tail()})")
        yield process, url
    finally:
        process.stop()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class _Running:
    cid: str
    expected_labels: dict[str, str]
    used_s: float
    groups: list[Path]
    workload: Workload


@pytest.fixture
def running(cgroups: CgroupMaker, containerd_state: Path, live_stack: LiveStack) -> _Running:
    """A Kubernetes-shaped container in v2 and v1, named by its containerd metadata."""
    cid, uid = container_id(), pod_uid()
    bundle = containerd_state / "io.containerd.runtime.v2.task" / "k8s.io" / cid
    bundle.mkdir(parents=True)
    notes = {
        "io.kubernetes.cri.container-name": "app",
        "io.kubernetes.cri.image-name": "ghcr.io/acme/app:2",
        "io.kubernetes.cri.sandbox-name": "web-0",
        "io.kubernetes.cri.sandbox-namespace": "shop",
    }
    (bundle / "config.json").write_text(json.dumps({"annotations": notes}))
    pod = f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    rel = f"kubepods.slice/kubepods-burstable.slice/{pod}/cri-containerd-{cid}.scope"
    groups = cgroups.make(rel, v2=True, v1=True)
    workload = cgroups.run(groups, cpu_s=1.0, memory_mb=32)
    workload.wait_ready()
    expected = {
        "container_id": cid,
        "container": "app",
        "pod": "web-0",
        "namespace": "shop",
        "node": live_stack.node_id,
        "tier": "edge",
        "site": "itest",
        "k8s_pod_uid": uid,
        "k8s_pod_qos_class": "burstable",
        "container_runtime": "containerd",
        "container_image_name": "ghcr.io/acme/app:2",
    }
    return _Running(cid, expected, workload.cpu_used_s(), groups, workload)


def test_pull_reports_the_container_then_drops_it(
    cgroups: CgroupMaker, containers_agent: tuple[ManagedProcess, str], running: _Running
) -> None:
    process, url = containers_agent
    samples: list[tuple[dict[str, str], float]] = []

    def pulled() -> bool:
        # /metrics serves the last cycle: wait for one that ran after the burn finished.
        nonlocal samples
        samples = _cpu_samples(url, running.cid)
        return len(samples) == 2 and sum(v for _, v in samples) >= 0.9 * running.used_s

    wait_until(pulled, _DEADLINE_S, f"container in /metrics ({process.log_tail()})")
    labels = samples[0][0]
    assert {k: labels.get(k) for k in running.expected_labels} == running.expected_labels
    pulled_s = sum(value for _, value in samples)
    assert abs(pulled_s - running.used_s) <= 0.1 * running.used_s, (pulled_s, running.used_s)

    # Gone: its series leave /metrics (no stale series).
    running.workload.stop()
    cgroups.remove(running.groups)
    wait_until(lambda: not _cpu_samples(url, running.cid), _DEADLINE_S, "series to disappear")

    process.stop()
    assert process.returncode() in (None, 0)


def test_push_through_kafka_gives_the_same_series_in_prometheus(
    containers_agent: tuple[ManagedProcess, str],
    running: _Running,
    prometheus: PrometheusServer,
) -> None:
    process, _ = containers_agent
    query = f'container_cpu_time_seconds_total{{container_id="{running.cid}"}}'
    try:
        result = prometheus.wait_for(
            query,
            timeout_s=_DEADLINE_S,
            predicate=lambda r: (
                len(r) == 2 and sum(float(x["value"][1]) for x in r) >= 0.9 * running.used_s
            ),
        )
    except ServiceError as err:
        raise AssertionError(f"{err}\nagent log:\n{process.log_tail(20)}") from err
    pushed = {k: result[0]["metric"].get(k) for k in running.expected_labels}
    assert pushed == running.expected_labels
    pushed_s = sum(float(r["value"][1]) for r in result)
    assert abs(pushed_s - running.used_s) <= 0.1 * running.used_s, (pushed_s, running.used_s)
