"""CPU: time per mode and logical CPU, utilisation over the last interval, count, frequency, load.

Reads ``<proc_root>/stat``, ``<proc_root>/loadavg`` and
``<sys_root>/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq``::

    collector = CpuCollector(Path("/proc"), Path("/sys"))
    collector.collect()   # system.cpu.time, system.cpu.utilization, load averages, ...
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._cgroup_limits import CgroupLimits, QuotaUtilization, cgroup_limits
from agents.node._files import read_int, read_text

__all__ = ["CPU_MODES", "CpuCollector", "cpu_model", "parse_stat"]

#: /proc/stat columns in order (proc(5)); guest time is already inside user and nice.
CPU_MODES: tuple[str, ...] = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")

_G = InstrumentKind.GAUGE
_C = InstrumentKind.COUNTER


def parse_stat(text: str) -> tuple[list[float] | None, dict[int, list[float]]]:
    """Parse /proc/stat into the total line and the per-CPU lines, in clock ticks per mode."""
    total: list[float] | None = None
    per_cpu: dict[int, list[float]] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        fields = line.split()
        values = [float(v) for v in fields[1 : 1 + len(CPU_MODES)]]
        values += [0.0] * (len(CPU_MODES) - len(values))  # old kernels lack steal
        label = fields[0][3:]
        if not label:
            total = values
        elif label.isdigit():
            per_cpu[int(label)] = values
    return total, per_cpu


class CpuCollector:
    """CPU time, utilisation, logical count, frequency and load averages.

    Args:
        proc_root: procfs mount (``/proc``).
        sys_root: sysfs mount (``/sys``).
        frequency: report ``system.cpu.frequency`` where cpufreq exists.
    """

    name = "cpu"
    instruments = (
        InstrumentSpec("system.cpu.time", _C, "s", "CPU time spent in each mode, per logical CPU."),
        InstrumentSpec(
            "system.cpu.utilization",
            _G,
            "1",
            "Fraction of the node's CPU capacity spent in each mode over the last interval.",
        ),
        InstrumentSpec(
            "continuum.node.logical_cpus",
            _G,
            "{cpu}",
            "CPU capacity in cores: the logical CPUs, or the agent's cgroup CPU limit if lower.",
        ),
        InstrumentSpec(
            "continuum.node.host.logical_cpus", _G, "{cpu}", "Logical CPUs of the whole host."
        ),
        InstrumentSpec("system.cpu.frequency", _G, "Hz", "Current frequency of each logical CPU."),
        InstrumentSpec(
            "system.cpu.load_average.1m", _G, "{thread}", "Load average over one minute."
        ),
        InstrumentSpec(
            "system.cpu.load_average.5m", _G, "{thread}", "Load average over five minutes."
        ),
        InstrumentSpec(
            "system.cpu.load_average.15m", _G, "{thread}", "Load average over fifteen minutes."
        ),
    )

    def __init__(self, proc_root: Path, sys_root: Path, *, frequency: bool = True) -> None:
        self._proc_root, self._sys_root = proc_root, sys_root
        self._quota = QuotaUtilization()
        self._limited = False
        self._stat = proc_root / "stat"
        self._loadavg = proc_root / "loadavg"
        self._cpu_dir = sys_root / "devices" / "system" / "cpu"
        self._frequency = frequency
        self._tick_s = 1.0 / float(os.sysconf("SC_CLK_TCK"))
        self._lock = threading.Lock()
        # Primed at start so the first cycle already has an interval to report utilisation over.
        text = read_text(self._stat)
        self._previous = parse_stat(text)[0] if text else None
        self._last_utilization: list[Reading] = []

    def collect(self) -> list[Reading]:
        """Read the CPU sources once."""
        out: list[Reading] = []
        text = read_text(self._stat)
        if text is not None:
            total, per_cpu = parse_stat(text)
            for cpu, values in sorted(per_cpu.items()):
                for mode, ticks in zip(CPU_MODES, values, strict=True):
                    attrs: dict[str, str | int] = {"cpu.mode": mode, "cpu.logical_number": cpu}
                    out.append(Reading("system.cpu.time", ticks * self._tick_s, attrs))
            limits = cgroup_limits(self._proc_root, self._sys_root)
            out.extend(self._capacity(float(len(per_cpu)), limits))
            if total is not None:
                out.extend(self._quota_utilization(limits) or self._utilization(total))
            if self._frequency:
                out.extend(self._frequencies(per_cpu))
        out.extend(self._load())
        return out

    def _capacity(self, host_cpus: float, limits: CgroupLimits) -> list[Reading]:
        # Inside a CPU-limited cgroup (lab node, pod, slice) the quota is what this node has.
        limit = limits.cpu_cores
        self._limited = limit is not None and limit < host_cpus
        capacity = min(host_cpus, limit) if limit is not None else host_cpus
        return [
            Reading("continuum.node.logical_cpus", capacity),
            Reading("continuum.node.host.logical_cpus", host_cpus),
        ]

    def _quota_utilization(self, limits: CgroupLimits) -> list[Reading]:
        # Under a quota, busy is the group's own usage over its quota (user: the group's CPU
        # time, which cpuacct.usage does not split by mode); the host's modes say nothing here.
        busy = self._quota.busy(limits, time.monotonic()) if self._limited else None
        if busy is None:
            return []
        shares = {mode: 0.0 for mode in CPU_MODES}
        shares.update(user=busy, idle=1.0 - busy)
        return [
            Reading("system.cpu.utilization", share, {"cpu.mode": mode})
            for mode, share in shares.items()
        ]

    def _utilization(self, total: list[float]) -> list[Reading]:
        with self._lock:
            previous = self._previous
            if previous is None:
                self._previous = total
                return []
            deltas = [max(0.0, now - before) for now, before in zip(total, previous, strict=True)]
            elapsed = sum(deltas)
            if elapsed <= 0:
                # No tick since the last cycle (cycles closer than 1/USER_HZ): keep the baseline
                # and repeat the last figures rather than report nothing.
                return self._last_utilization
            self._previous = total
            self._last_utilization = [
                Reading("system.cpu.utilization", delta / elapsed, {"cpu.mode": mode})
                for mode, delta in zip(CPU_MODES, deltas, strict=True)
            ]
            return self._last_utilization

    def _frequencies(self, per_cpu: dict[int, list[float]]) -> list[Reading]:
        out = []
        for cpu in sorted(per_cpu):
            khz = read_int(self._cpu_dir / f"cpu{cpu}" / "cpufreq" / "scaling_cur_freq")
            if khz is not None:
                out.append(
                    Reading("system.cpu.frequency", khz * 1000.0, {"cpu.logical_number": cpu})
                )
        return out

    def _load(self) -> list[Reading]:
        text = read_text(self._loadavg)
        if text is None:
            return []
        fields = text.split()
        if len(fields) < 3:
            return []
        return [
            Reading(f"system.cpu.load_average.{window}", float(value))
            for window, value in zip(("1m", "5m", "15m"), fields[:3], strict=True)
        ]


def cpu_model(proc_root: Path) -> str | None:
    """The CPU model name from ``<proc_root>/cpuinfo`` (``model name``, or ``Hardware`` on ARM)."""
    text = read_text(proc_root / "cpuinfo")
    if text is None:
        return None
    for key in ("model name", "Hardware", "cpu model", "Processor"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return None
