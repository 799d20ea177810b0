"""The agent's own cgroup limits as capacity, on v1 and v2 trees built per test."""

from __future__ import annotations

import shutil
from pathlib import Path

from agents.node._cgroup_limits import CgroupLimits, QuotaUtilization, cgroup_limits
from agents.node._cpu import CpuCollector
from agents.node._memory import MemoryCollector
from tests.unit.agents.node.fakes import PROC, SYS


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _roots(tmp_path: Path, cgroup: str) -> tuple[Path, Path]:
    proc = Path(shutil.copytree(PROC, tmp_path / "proc"))
    sys = Path(shutil.copytree(SYS, tmp_path / "sys"))
    _write(proc / "self" / "cgroup", cgroup)
    return proc, sys


def test_v1_limits_are_the_tightest_on_the_path_to_the_root(tmp_path: Path) -> None:
    proc, sys = _roots(tmp_path, "4:memory:/pod/ctr\n3:cpuacct:/pod/ctr\n2:cpu:/pod/ctr\n")
    cg = sys / "fs" / "cgroup"
    _write(cg / "cpu" / "pod" / "cpu.cfs_quota_us", "50000")
    _write(cg / "cpu" / "pod" / "cpu.cfs_period_us", "100000")
    _write(cg / "cpu" / "pod" / "ctr" / "cpu.cfs_quota_us", "-1")
    _write(cg / "cpu" / "pod" / "ctr" / "cpu.cfs_period_us", "100000")
    _write(cg / "memory" / "memory.limit_in_bytes", str(2**63 - 4096))  # v1's "no limit"
    _write(cg / "memory" / "pod" / "ctr" / "memory.limit_in_bytes", str(256 << 20))
    _write(cg / "memory" / "pod" / "ctr" / "memory.usage_in_bytes", str(100 << 20))
    _write(cg / "cpuacct" / "pod" / "ctr" / "cpuacct.usage", "2500000000")
    assert cgroup_limits(proc, sys) == CgroupLimits(0.5, 256 << 20, 100 << 20, 2.5)


def test_v2_limits_read_cpu_max_and_memory_max(tmp_path: Path) -> None:
    proc, sys = _roots(tmp_path, "0::/lab/edge-1\n")
    cg = sys / "fs" / "cgroup"
    _write(cg / "cgroup.controllers", "cpu memory")
    _write(cg / "lab" / "edge-1" / "cpu.max", "25000 100000\n")
    _write(cg / "lab" / "edge-1" / "memory.max", "max\n")
    _write(cg / "lab" / "memory.max", str(1 << 30))
    _write(cg / "lab" / "edge-1" / "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n")
    limits = cgroup_limits(proc, sys)
    assert (limits.cpu_cores, limits.memory_bytes, limits.cpu_usage_s) == (0.25, 1 << 30, 1.5)


def test_unlimited_or_unknown_groups_report_no_limit(tmp_path: Path) -> None:
    proc, sys = _roots(tmp_path, "2:cpu:/\n")
    assert cgroup_limits(proc, sys) == CgroupLimits()


def test_capacity_is_the_limit_with_the_host_figure_beside(tmp_path: Path) -> None:
    proc, sys = _roots(tmp_path, "4:memory:/n\n2:cpu:/n\n")
    cg = sys / "fs" / "cgroup"
    _write(cg / "cpu" / "n" / "cpu.cfs_quota_us", "30000")
    _write(cg / "cpu" / "n" / "cpu.cfs_period_us", "100000")
    _write(cg / "memory" / "n" / "memory.limit_in_bytes", str(288 << 20))
    _write(cg / "memory" / "n" / "memory.usage_in_bytes", str(88 << 20))
    cpu = {r.instrument: r.value for r in CpuCollector(proc, sys).collect() if not r.attributes}
    assert cpu["continuum.node.logical_cpus"] == 0.3
    assert cpu["continuum.node.host.logical_cpus"] == 2.0
    memory = {r.instrument: r.value for r in MemoryCollector(proc, sys).collect()}
    assert memory["system.memory.limit"] == 288 << 20
    assert memory["continuum.node.host.memory.limit"] > 288 << 20
    assert memory["system.linux.memory.available"] == 200 << 20


def test_busy_share_of_a_quota_between_two_readings() -> None:
    quota = QuotaUtilization()
    assert quota.busy(CgroupLimits(0.5, cpu_usage_s=10.0), now_s=100.0) is None
    assert quota.busy(CgroupLimits(0.5, cpu_usage_s=10.5), now_s=102.0) == 0.5
    assert quota.busy(CgroupLimits(0.5, cpu_usage_s=20.0), now_s=103.0) == 1.0  # capped
    assert quota.busy(CgroupLimits(None, cpu_usage_s=21.0), now_s=104.0) is None
