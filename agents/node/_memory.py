"""Memory: usage by state, limit, available; swap usage, paging operations and page faults.

Reads ``<proc_root>/meminfo`` and ``<proc_root>/vmstat``::

    MemoryCollector(Path("/proc")).collect()
"""

from __future__ import annotations

from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._cgroup_limits import cgroup_limits
from agents.node._files import read_text

__all__ = ["MemoryCollector", "parse_meminfo"]

_G = InstrumentKind.GAUGE
_C = InstrumentKind.COUNTER


def parse_meminfo(text: str) -> dict[str, int]:
    """Parse /proc/meminfo into bytes by field name (``kB`` values scaled)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            continue
        scale = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
        out[name.strip()] = int(parts[0]) * scale
    return out


class MemoryCollector:
    """Physical memory, swap and paging.

    Args:
        proc_root: procfs mount (``/proc``).
        sys_root: sysfs mount (``/sys``), for the agent's cgroup limits.
    """

    name = "memory"
    instruments = (
        InstrumentSpec("system.memory.usage", _G, "By", "Memory in use, by state."),
        InstrumentSpec(
            "system.memory.limit",
            _G,
            "By",
            "Memory capacity: total physical memory, or the agent's cgroup memory limit if lower.",
        ),
        InstrumentSpec(
            "continuum.node.host.memory.limit", _G, "By", "Total physical memory of the whole host."
        ),
        InstrumentSpec(
            "system.linux.memory.available",
            _G,
            "By",
            "Memory available for new work without swapping (MemAvailable).",
        ),
        InstrumentSpec(
            "system.memory.utilization", _G, "1", "Fraction of physical memory in each state."
        ),
        InstrumentSpec("system.paging.usage", _G, "By", "Swap space in use and free."),
        InstrumentSpec("system.paging.operations", _C, "{operation}", "Pages swapped in and out."),
        InstrumentSpec("system.paging.faults", _C, "{fault}", "Page faults, major and minor."),
    )

    def __init__(self, proc_root: Path, sys_root: Path = Path("/sys")) -> None:
        self._proc_root, self._sys_root = proc_root, sys_root
        self._meminfo = proc_root / "meminfo"
        self._vmstat = proc_root / "vmstat"

    def collect(self) -> list[Reading]:
        """Read meminfo and vmstat once."""
        out: list[Reading] = []
        text = read_text(self._meminfo)
        if text is not None:
            out.extend(self._memory(parse_meminfo(text)))
        text = read_text(self._vmstat)
        if text is not None:
            out.extend(self._paging(text))
        return out

    def _capacity(self, total: int, available: int | None) -> list[Reading]:
        # Inside a memory-limited cgroup the limit is what this node has, and what is left of
        # it bounds what is available.
        limits = cgroup_limits(self._proc_root, self._sys_root)
        capacity = total
        if limits.memory_bytes is not None and limits.memory_bytes < total:
            capacity = limits.memory_bytes
            if available is not None and limits.memory_usage_bytes is not None:
                available = min(available, max(0, capacity - limits.memory_usage_bytes))
        out = [
            Reading("system.memory.limit", float(capacity)),
            Reading("continuum.node.host.memory.limit", float(total)),
        ]
        if available is not None:
            out.append(Reading("system.linux.memory.available", float(available)))
        return out

    def _memory(self, info: dict[str, int]) -> list[Reading]:
        total = info.get("MemTotal")
        if not total:
            return []
        free = info.get("MemFree", 0)
        buffers = info.get("Buffers", 0)
        # Reclaimable slab behaves like page cache (as `free` and the OTel hostmetrics count it).
        cached = info.get("Cached", 0) + info.get("SReclaimable", 0)
        states = {
            "used": max(0, total - free - buffers - cached),
            "free": free,
            "buffers": buffers,
            "cached": cached,
        }
        out = [
            Reading("system.memory.usage", float(v), {"system.memory.state": s})
            for s, v in states.items()
        ]
        out += [
            Reading("system.memory.utilization", v / total, {"system.memory.state": s})
            for s, v in states.items()
        ]
        out.extend(self._capacity(total, info.get("MemAvailable")))
        swap_total = info.get("SwapTotal")
        if swap_total is not None:
            swap_free = info.get("SwapFree", 0)
            out.append(
                Reading(
                    "system.paging.usage",
                    float(swap_total - swap_free),
                    {"system.paging.state": "used"},
                )
            )
            out.append(
                Reading("system.paging.usage", float(swap_free), {"system.paging.state": "free"})
            )
        return out

    def _paging(self, text: str) -> list[Reading]:
        stats: dict[str, float] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                stats[parts[0]] = float(parts[1])
        out: list[Reading] = []
        for key, direction in (("pswpin", "in"), ("pswpout", "out")):
            if key in stats:
                out.append(
                    Reading(
                        "system.paging.operations",
                        stats[key],
                        {"system.paging.direction": direction},
                    )
                )
        if "pgfault" in stats and "pgmajfault" in stats:
            major = stats["pgmajfault"]
            # pgfault counts every fault, major ones included.
            minor = max(0.0, stats["pgfault"] - major)
            out.append(Reading("system.paging.faults", major, {"system.paging.type": "major"}))
            out.append(Reading("system.paging.faults", minor, {"system.paging.type": "minor"}))
        return out
