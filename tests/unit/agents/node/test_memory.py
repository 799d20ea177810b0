"""Memory collector on fixture trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.node._memory import MemoryCollector
from tests.unit.agents.node.fakes import PROC

KIB = 1024


def values(readings: list, name: str, key: str | None = None) -> dict:
    return {(r.attributes[key] if key else None): r.value for r in readings if r.instrument == name}


def test_usage_by_state_sums_to_the_limit() -> None:
    readings = MemoryCollector(PROC).collect()
    usage = values(readings, "system.memory.usage", "system.memory.state")
    assert usage == {
        "used": (8_000_000 - 2_000_000 - 100_000 - 2_700_000) * KIB,
        "free": 2_000_000 * KIB,
        "buffers": 100_000 * KIB,
        "cached": 2_700_000 * KIB,  # Cached + SReclaimable
    }
    limit = values(readings, "system.memory.limit")[None]
    assert limit == 8_000_000 * KIB
    assert sum(usage.values()) == limit
    assert values(readings, "system.linux.memory.available")[None] == 5_000_000 * KIB
    util = values(readings, "system.memory.utilization", "system.memory.state")
    assert sum(util.values()) == pytest.approx(1.0)


def test_swap_and_paging() -> None:
    readings = MemoryCollector(PROC).collect()
    assert values(readings, "system.paging.usage", "system.paging.state") == {
        "used": 100_000 * KIB,
        "free": 900_000 * KIB,
    }
    assert values(readings, "system.paging.operations", "system.paging.direction") == {
        "in": 10,
        "out": 20,
    }
    assert values(readings, "system.paging.faults", "system.paging.type") == {
        "major": 300,
        "minor": 100_000 - 300,
    }


def test_missing_vmstat_keeps_memory(tmp_path: Path) -> None:
    proc = Path(shutil.copytree(PROC, tmp_path / "proc"))
    (proc / "vmstat").unlink()
    readings = MemoryCollector(proc).collect()
    assert values(readings, "system.memory.limit")
    assert not values(readings, "system.paging.faults", "system.paging.type")


def test_nothing_readable_gives_nothing(tmp_path: Path) -> None:
    assert MemoryCollector(tmp_path).collect() == []
