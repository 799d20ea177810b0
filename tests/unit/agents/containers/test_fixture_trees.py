"""Discovery, reading and identity on fixture trees of layouts this machine cannot create.

``tests/fixtures/cgroup/v2_systemd``: pure cgroup v2, systemd driver, CRI-O pods (guaranteed
and besteffort QoS) and a podman container. ``tests/fixtures/cgroup/v1_cgroupfs``: cgroup v1,
cgroupfs driver, docker and Kubernetes pods (guaranteed and burstable) with containerd metadata.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.containers import (
    ContainerSample,
    ContainerScanner,
    MetadataResolver,
    MetadataSources,
    detect_layout,
)
from agents.containers._discovery import Discovery

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "cgroup"
A, B, C, D, E, F = ("a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64, "f" * 64)


def _collector(tree: Path) -> ContainerScanner:
    sources = MetadataSources(tree / "docker", tree / "containerd", tree / "storage")
    return ContainerScanner(
        detect_layout(tree / "cgroup"), tree / "proc", MetadataResolver(sources)
    )


def _by_id(samples: list[ContainerSample]) -> dict[str, ContainerSample]:
    return {s.attributes["container.id"]: s for s in samples}


def test_layouts_are_detected() -> None:
    v2 = detect_layout(FIXTURES / "v2_systemd" / "cgroup")
    assert v2.unified == FIXTURES / "v2_systemd" / "cgroup"
    assert v2.v1 == {}
    v1 = detect_layout(FIXTURES / "v1_cgroupfs" / "cgroup")
    assert v1.unified is None
    assert sorted(v1.v1) == ["blkio", "cpu", "cpuacct", "memory", "pids"]


def test_empty_root_has_no_hierarchies(tmp_path: Path) -> None:
    layout = detect_layout(tmp_path)
    assert layout.empty
    assert Discovery(layout).scan() == {}


def test_v2_systemd_crio_pods_and_podman() -> None:
    samples = _by_id(_collector(FIXTURES / "v2_systemd").collect())
    assert set(samples) == {A, B, C}  # conmon and system services are not containers
    guaranteed = samples[A].attributes
    assert dict(guaranteed) == {
        "container.id": A,
        "container.runtime": "crio",
        "container.name": "nginx",
        "container.image.name": "docker.io/library/nginx:1.27",
        "k8s.pod.uid": "0a1b2c3d-1111-2222-3333-444455556666",
        "k8s.pod.qos_class": "guaranteed",
        "k8s.pod.name": "web-0",
        "k8s.namespace.name": "shop",
    }
    besteffort = samples[B].attributes
    assert besteffort["k8s.pod.qos_class"] == "besteffort"
    assert besteffort["k8s.pod.uid"] == "99998888-7777-6666-5555-444433332222"
    assert "container.name" not in besteffort  # no metadata: the id alone, no error
    podman = samples[C].attributes
    assert (podman["container.runtime"], podman["container.name"]) == ("podman", "db")
    assert podman["container.image.name"] == "docker.io/library/postgres:16"
    assert "k8s.pod.uid" not in podman


def test_v2_counters() -> None:
    stats = _by_id(_collector(FIXTURES / "v2_systemd").collect())[A].stats
    assert (stats.cpu_user_s, stats.cpu_system_s) == (2.0, 1.0)
    assert (stats.cpu_periods, stats.cpu_throttled_periods, stats.cpu_throttled_s) == (500, 20, 1.5)
    mem = 104857600
    assert stats.memory_usage_bytes == mem
    assert stats.memory_working_set_bytes == mem - mem // 8
    assert (stats.memory_rss_bytes, stats.memory_cache_bytes) == (mem // 2, mem // 4)
    assert (stats.memory_limit_bytes, stats.memory_swap_bytes) == (536870912, 8192)
    assert stats.memory_oom_kills == 1
    assert stats.pressure_stall_s[("cpu", "some")] == 2.5
    assert stats.pressure_stall_s[("io", "full")] == 0.1
    assert (stats.disk_read_bytes, stats.disk_write_bytes) == (1048576 + 1024, 2097152)
    assert (stats.disk_read_ops, stats.disk_write_ops) == (11, 20)
    assert (stats.pids_count, stats.pids_limit) == (7, None)
    # The container's own network namespace, read through its pid; lo is left out.
    assert list(stats.network) == ["eth0"]
    assert (stats.network["eth0"].receive_bytes, stats.network["eth0"].transmit_bytes) == (
        123456,
        65432,
    )


def test_v2_without_cpu_controller_has_no_throttling_and_no_limit() -> None:
    stats = _by_id(_collector(FIXTURES / "v2_systemd").collect())[B].stats
    assert stats.cpu_throttled_periods is None
    assert stats.memory_limit_bytes is None
    assert stats.network == {}  # no pid to read it through


def test_v1_cgroupfs_docker_and_kubepods() -> None:
    samples = _by_id(_collector(FIXTURES / "v1_cgroupfs").collect())
    assert set(samples) == {D, E, F}
    docker = samples[D].attributes
    assert dict(docker) == {
        "container.id": D,
        "container.runtime": "docker",
        "container.name": "redis",
        "container.image.name": "redis:7",
    }
    guaranteed = samples[E].attributes
    assert guaranteed["k8s.pod.uid"] == "11112222-3333-4444-5555-666677778888"
    assert guaranteed["k8s.pod.qos_class"] == "guaranteed"
    # A bare id under kubepods: metadata found in containerd's state names it.
    assert (guaranteed["container.name"], guaranteed["k8s.pod.name"]) == ("app", "app-7d9f")
    assert guaranteed["k8s.namespace.name"] == "prod"
    assert "container.runtime" not in guaranteed
    burstable = samples[F].attributes
    assert burstable["k8s.pod.qos_class"] == "burstable"
    assert burstable["k8s.pod.uid"] == "aaaabbbb-cccc-dddd-eeee-ffff00001111"


def test_v1_counters() -> None:
    stats = _by_id(_collector(FIXTURES / "v1_cgroupfs").collect())[D].stats
    assert (stats.cpu_user_s, stats.cpu_system_s) == (1.5, 0.5)
    assert (stats.cpu_periods, stats.cpu_throttled_periods, stats.cpu_throttled_s) == (40, 4, 0.25)
    usage = 52428800
    assert stats.memory_usage_bytes == usage
    assert stats.memory_working_set_bytes == usage - usage // 8
    assert (stats.memory_rss_bytes, stats.memory_cache_bytes) == (usage // 2, usage // 4)
    assert stats.memory_limit_bytes is None  # v1's "unlimited"
    assert (stats.memory_swap_bytes, stats.memory_oom_kills) == (4096, 2)
    assert (stats.disk_read_bytes, stats.disk_write_bytes) == (4096, 8192)
    assert (stats.disk_read_ops, stats.disk_write_ops) == (1, 2)
    assert (stats.pids_count, stats.pids_limit) == (3, 100)
    assert stats.pressure_stall_s == {}


def test_v1_falls_back_to_cpuacct_stat_ticks(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "v1_cgroupfs", tree)
    for name in ("cpuacct.usage_user", "cpuacct.usage_sys"):
        (tree / "cgroup" / "cpuacct" / "docker" / D / name).unlink()
    stats = _by_id(_collector(tree).collect())[D].stats
    assert (stats.cpu_user_s, stats.cpu_system_s) == (1.5, 0.5)


def test_vanished_containers_leave_no_state(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "v1_cgroupfs", tree)
    collector = _collector(tree)
    assert len(collector.collect()) == 3
    for controller in ("cpu", "cpuacct", "memory", "pids", "blkio"):
        shutil.rmtree(tree / "cgroup" / controller / "docker" / D)
    samples = _by_id(collector.collect())
    assert set(samples) == {E, F}
    assert collector.tracked == 2


def test_group_vanishing_during_read_is_dropped_quietly(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "v2_systemd", tree)
    collector = _collector(tree)
    collector.collect()
    # Files disappear after the walk found the group: counted as gone, not as an error.
    (tree / "cgroup" / "machine.slice" / f"libpod-{C}.scope" / "cpu.stat").unlink()
    assert C not in _by_id(collector.collect())
    assert collector.read_errors == 0


def test_unreadable_file_is_counted_and_others_still_read(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "v2_systemd", tree)
    collector = _collector(tree)
    (tree / "cgroup" / "machine.slice" / f"libpod-{C}.scope" / "pids.current").write_text("x\n")
    samples = _by_id(collector.collect())
    assert set(samples) == {A, B}
    assert collector.read_errors == 1


@pytest.mark.parametrize("depth", [1, 2])
def test_max_depth_bounds_the_walk(depth: int) -> None:
    layout = detect_layout(FIXTURES / "v2_systemd" / "cgroup")
    found = Discovery(layout, max_depth=depth).scan()
    # machine.slice/libpod-* is at depth 2; pods are deeper.
    assert set(found) == (set() if depth == 1 else {C})


def test_co_mounted_cpu_cpuacct_is_walked_once(tmp_path: Path) -> None:
    # Many v1 nodes mount cpu and cpuacct together and link both names to the one mount.
    root = tmp_path / "cgroup"
    shared = root / "cpu,cpuacct"
    group = shared / "docker" / D
    group.mkdir(parents=True)
    (shared / "cgroup.procs").write_text("1\n")
    (group / "cpuacct.usage_user").write_text("2000000000\n")
    (group / "cpuacct.usage_sys").write_text("1000000000\n")
    (root / "cpu").symlink_to(shared)
    (root / "cpuacct").symlink_to(shared)
    layout = detect_layout(root)
    assert layout.walk_roots() == [shared.resolve()]
    discovery = Discovery(layout)
    groups = discovery.scan()
    assert set(groups[D].v1_dirs) == {"cpu", "cpuacct"}
    assert discovery.directories_listed == 2  # the mount and docker/, once
    stats = _by_id(_collector(tmp_path).collect())[D].stats
    assert (stats.cpu_user_s, stats.cpu_system_s) == (2.0, 1.0)
