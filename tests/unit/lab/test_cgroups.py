"""Node cgroups on fake v1 and v2 trees: where they go, what limits they get, removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum.lab import LabError
from continuum.lab._cgroups import detect_backend, kill_and_remove


def _v1_tree(root: Path) -> Path:
    for controller in ("cpu", "cpuacct", "memory"):
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
    proc = root / "proc-cgroup"
    proc.write_text("4:memory:/session/42\n2:cpuacct:/\n1:cpu:/\n0::/\n")
    return proc


def test_v1_groups_nest_under_this_process_group_with_cfs_quota_and_memory_limit(
    tmp_path: Path,
) -> None:
    proc = _v1_tree(tmp_path)
    backend = detect_backend(tmp_path, proc)
    assert backend.version == 1
    group = backend.create("continuum-lab", "edge-1", cpu_cores=0.25, memory_bytes=256 << 20)
    cpu, memory, cpuacct = group.paths  # limits first, accounting after
    assert cpu == tmp_path / "cpu" / "continuum-lab" / "edge-1"
    assert cpuacct == tmp_path / "cpuacct" / "continuum-lab" / "edge-1"
    assert memory == tmp_path / "memory" / "session" / "42" / "continuum-lab" / "edge-1"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "25000"
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000"
    assert (memory / "memory.limit_in_bytes").read_text() == str(256 << 20)
    assert group.procs_files[0] == cpu / "cgroup.procs"


def test_v2_groups_get_cpu_max_and_memory_max_with_controllers_handed_down(
    tmp_path: Path,
) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    proc = tmp_path / "proc-cgroup"
    proc.write_text("0::/user.slice\n")
    backend = detect_backend(tmp_path, proc)
    assert backend.version == 2
    (group_dir,) = backend.create(
        "continuum-lab", "hpc-1", cpu_cores=0.5, memory_bytes=1 << 30
    ).paths
    assert group_dir == tmp_path / "continuum-lab" / "hpc-1"
    assert (group_dir / "cpu.max").read_text() == "50000 100000"
    assert (group_dir / "memory.max").read_text() == str(1 << 30)
    assert (tmp_path / "continuum-lab" / "cgroup.subtree_control").read_text() == "+cpu +memory"


def test_no_usable_hierarchy_is_an_error_that_says_so(tmp_path: Path) -> None:
    proc = tmp_path / "proc-cgroup"
    proc.write_text("0::/\n")
    with pytest.raises(LabError, match="cannot limit its nodes here"):
        detect_backend(tmp_path, proc)


def test_removal_takes_children_first_and_reports_what_stays(tmp_path: Path) -> None:
    group = tmp_path / "lab" / "node"
    group.mkdir(parents=True)
    assert kill_and_remove([group, tmp_path / "lab", tmp_path / "gone"]) == []
    assert not (tmp_path / "lab").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "file").write_text("not a cgroup: rmdir fails")
    [line] = kill_and_remove([kept])
    assert line.startswith(f"cgroup {kept}:")
