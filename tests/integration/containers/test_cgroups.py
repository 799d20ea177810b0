"""The container collector on real cgroups: runtime-shaped paths, v2 and v1, live workloads."""

from __future__ import annotations

from pathlib import Path

from agents.containers import (
    CgroupLayout,
    ContainerSample,
    ContainerScanner,
    MetadataResolver,
    MetadataSources,
)
from tests.integration.containers.conftest import CgroupMaker, container_id, pod_uid

PROC = Path("/proc")


def _collector(layout: CgroupLayout, tmp_path: Path, **kwargs: object) -> ContainerScanner:
    # No runtime state on this machine: metadata lookups find nothing and must not fail.
    sources = MetadataSources(tmp_path / "docker", tmp_path / "containerd", tmp_path / "storage")
    return ContainerScanner(layout, PROC, MetadataResolver(sources), **kwargs)  # type: ignore[arg-type]


def _find(collector: ContainerScanner, cid: str) -> ContainerSample | None:
    for sample in collector.collect():
        if sample.attributes["container.id"] == cid:
            return sample
    return None


def _assert_cpu_close(sample: ContainerSample, used_s: float) -> None:
    assert sample.stats.cpu_user_s is not None
    assert sample.stats.cpu_system_s is not None
    reported_s = sample.stats.cpu_user_s + sample.stats.cpu_system_s
    assert used_s > 0.5
    assert abs(reported_s - used_s) <= 0.1 * used_s, (reported_s, used_s)


def test_v2_kubepods_containerd_container(cgroups: CgroupMaker, tmp_path: Path) -> None:
    cid, uid = container_id(), pod_uid()
    pod = f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    rel = f"kubepods.slice/kubepods-burstable.slice/{pod}/cri-containerd-{cid}.scope"
    groups = cgroups.make(rel, v2=True, v1=False)
    workload = cgroups.run(groups, cpu_s=1.0, memory_mb=8)
    workload.wait_ready()
    collector = _collector(CgroupLayout(unified=cgroups.layout.unified), tmp_path)

    sample = _find(collector, cid)

    assert sample is not None
    assert dict(sample.attributes) == {
        "container.id": cid,
        "container.runtime": "containerd",
        "k8s.pod.uid": uid,
        "k8s.pod.qos_class": "burstable",
    }
    _assert_cpu_close(sample, workload.cpu_used_s())
    assert ("cpu", "some") in sample.stats.pressure_stall_s
    # Stopped and removed: gone from the next cycle, and from the collector's state.
    workload.stop()
    cgroups.remove(groups)
    assert _find(collector, cid) is None
    assert all(s.attributes["container.id"] != cid for s in collector.collect())


def test_v1_docker_container_cpu_memory_pids(cgroups: CgroupMaker, tmp_path: Path) -> None:
    cid = container_id()
    groups = cgroups.make(f"system.slice/docker-{cid}.scope", v2=False, v1=True)
    limit_bytes = 256 * 1024 * 1024
    for group in groups:
        if (group / "memory.limit_in_bytes").exists():
            (group / "memory.limit_in_bytes").write_text(str(limit_bytes))
        if (group / "pids.max").exists():
            (group / "pids.max").write_text("50")
    workload = cgroups.run(groups, cpu_s=1.0, memory_mb=64)
    workload.wait_ready()
    collector = _collector(CgroupLayout(v1=dict(cgroups.layout.v1)), tmp_path)

    sample = _find(collector, cid)

    assert sample is not None
    assert dict(sample.attributes) == {"container.id": cid, "container.runtime": "docker"}
    _assert_cpu_close(sample, workload.cpu_used_s())
    stats = sample.stats
    assert stats.memory_usage_bytes is not None
    assert stats.memory_rss_bytes is not None
    assert 64 * 2**20 <= stats.memory_usage_bytes <= limit_bytes
    assert stats.memory_rss_bytes >= 60 * 2**20
    assert stats.memory_working_set_bytes is not None
    assert stats.memory_rss_bytes <= stats.memory_working_set_bytes <= stats.memory_usage_bytes
    assert stats.memory_limit_bytes == limit_bytes
    assert stats.memory_oom_kills == 0
    assert (stats.pids_count, stats.pids_limit) == (1, 50)
    assert stats.cpu_throttled_periods == 0
    assert stats.disk_read_bytes is not None


def test_hybrid_container_in_both_hierarchies_with_own_network(
    cgroups: CgroupMaker, tmp_path: Path
) -> None:
    cid, uid = container_id(), pod_uid()
    rel = f"kubepods.slice/kubepods-pod{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope"
    groups = cgroups.make(rel, v2=True, v1=True)
    net_bytes = 200_000
    workload = cgroups.run(groups, cpu_s=0.8, memory_mb=32, net_bytes=net_bytes)
    workload.wait_ready()
    collector = _collector(cgroups.layout, tmp_path, net_exclude=frozenset())

    sample = _find(collector, cid)

    assert sample is not None
    assert sample.attributes["k8s.pod.qos_class"] == "guaranteed"
    _assert_cpu_close(sample, workload.cpu_used_s())  # from v2 cpu.stat
    assert sample.stats.memory_usage_bytes is not None  # from the v1 memory controller
    assert sample.stats.memory_usage_bytes >= 32 * 2**20
    # Its own network namespace: only its loopback traffic, not the host's.
    lo = sample.stats.network["lo"]
    assert net_bytes <= lo.transmit_bytes < 2 * net_bytes + 100_000
    assert lo.transmit_packets >= net_bytes // 1000


def test_host_network_containers_report_no_network(cgroups: CgroupMaker, tmp_path: Path) -> None:
    cid = container_id()
    groups = cgroups.make(f"system.slice/docker-{cid}.scope", v2=True, v1=False)
    workload = cgroups.run(groups, cpu_s=0.1, memory_mb=1)
    workload.wait_ready()
    collector = _collector(cgroups.layout, tmp_path, net_exclude=frozenset())
    sample = _find(collector, cid)
    assert sample is not None
    assert sample.stats.network == {}


def test_churn_leaves_no_state_and_no_growth(cgroups: CgroupMaker, tmp_path: Path) -> None:
    collector = _collector(cgroups.layout, tmp_path)
    cgroups.make("system.slice")  # the parent stays; containers come and go below it
    baseline = {s.attributes["container.id"] for s in collector.collect()}
    listed_idle = collector._discovery.directories_listed
    for _ in range(3):
        batch = [cgroups.make(f"system.slice/docker-{container_id()}.scope") for _ in range(20)]
        ours = {group[0].name.removeprefix("docker-").removesuffix(".scope") for group in batch}
        live = {s.attributes["container.id"] for s in collector.collect()}
        assert ours <= live
        for groups in batch:
            cgroups.remove(groups)
        live = {s.attributes["container.id"] for s in collector.collect()}
        assert not ours & live
        # State follows the live set: nothing of the removed containers is kept ...
        assert collector.tracked == len(live)
        # ... and a cycle lists no more directories than before they came (others' tests
        # running at the same time may add a few).
        assert collector._discovery.directories_listed <= listed_idle + len(live - baseline) * 6
