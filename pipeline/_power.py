"""A node's measured power, and its idle-to-busy line fitted over the last hour.

Each node agent export carries, at one timestamp, the CPU modes and whatever power sources the
node has: RAPL energy counters (``hw_energy_joules_total``), hwmon power sensors and a battery's
discharge rate (``hw_power_watts{hw_type="power"|"power_supply"}``) and GPU power
(``hw_power_watts{hw_type="gpu"}``). The node's power at that timestamp is, in this order of
trust, RAPL's (the ``psys`` platform domain when present, else the packages plus DRAM, as rates
of their counters), else the hwmon sensors', else the power supply's; plus the GPUs'. Which one
was used is the ``power_source`` label.

Pairs of (CPU utilisation, power) at the same timestamp feed a least-squares line over a
sliding hour, kept as running sums, so each sample costs O(1)::

    fit = PowerFit()
    fit.add(ts_ms, utilization=0.5, power_watts=120.0)
    fit.line()  # (idle_watts, slope_watts_per_unit_utilisation, samples, residual_watts)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["POWER_NAMES", "NodePower", "PowerFit", "PowerLine"]

_HOUR_MS = 3_600_000
# Export timestamps whose power waits for their CPU modes.
_MAX_PENDING = 16
ENERGY = "hw_energy_joules_total"
POWER = "hw_power_watts"
#: Raw series the power model reads.
POWER_NAMES = frozenset({ENERGY, POWER})


@dataclass(frozen=True, slots=True)
class PowerLine:
    """Power against utilisation: ``idle_watts + slope_watts * utilisation``."""

    idle_watts: float
    slope_watts: float
    samples: int
    residual_watts: float


class PowerFit:
    """Least squares of power on utilisation over a sliding window."""

    def __init__(self, span_ms: int = _HOUR_MS) -> None:
        self._span_ms = span_ms
        self._points: deque[tuple[int, float, float]] = deque()
        self._sx = self._sy = self._sxx = self._sxy = self._syy = 0.0

    def add(self, ts_ms: int, utilization: float, power_watts: float) -> None:
        self._points.append((ts_ms, utilization, power_watts))
        self._move(utilization, power_watts, 1.0)
        while self._points and self._points[0][0] <= ts_ms - self._span_ms:
            _, x, y = self._points.popleft()
            self._move(x, y, -1.0)

    def _move(self, x: float, y: float, sign: float) -> None:
        self._sx += sign * x
        self._sy += sign * y
        self._sxx += sign * x * x
        self._sxy += sign * x * y
        self._syy += sign * y * y

    def line(self) -> PowerLine | None:
        """The fitted line, or None with fewer than two points or no spread in utilisation."""
        n = len(self._points)
        if n < 2:
            return None
        var_x = self._sxx - self._sx * self._sx / n
        if var_x <= 1e-12 * n:
            return None
        cov = self._sxy - self._sx * self._sy / n
        slope = cov / var_x
        idle = (self._sy - slope * self._sx) / n
        # Residual sum of squares from the sums: Syy - a*Sy - b*Sxy.
        sse = max(self._syy - idle * self._sy - slope * self._sxy, 0.0)
        return PowerLine(idle, slope, n, math.sqrt(sse / n))


class NodePower:
    """One node's power readings, turned into one power figure per export timestamp."""

    def __init__(self) -> None:
        self.fit = PowerFit()
        self._energy_last: dict[str, tuple[int, float]] = {}
        self._pending: dict[int, dict[str, dict[str, float]]] = {}

    def observe(self, name: str, labels: dict[str, str], ts_ms: int, value: float) -> None:
        """Feed one ``hw_energy_joules_total`` or ``hw_power_watts`` sample."""
        slot = self._pending.setdefault(ts_ms, {})
        if len(self._pending) > _MAX_PENDING:  # power without CPU modes: keep the newest only
            del self._pending[min(self._pending)]
        if name == ENERGY:
            zone = labels.get("hw_id", "")
            last = self._energy_last.get(zone)
            self._energy_last[zone] = (ts_ms, value)
            if last is None or ts_ms <= last[0] or value < last[1]:
                return  # first reading, a replay, or a counter reset: no rate yet
            part = _rapl_part(zone, labels.get("hw_name", ""))
            if part is not None:
                rapl = slot.setdefault("rapl", {})
                rapl[part] = (value - last[1]) / ((ts_ms - last[0]) / 1000.0)
        else:
            kind = labels.get("hw_type", "")
            bucket = kind if kind in ("gpu", "power", "power_supply") else ""
            if bucket:
                key = labels.get("hw_id", "")
                slot.setdefault(bucket, {})[key] = value

    def power_at(self, ts_ms: int) -> tuple[float, str] | None:
        """The node's power at ``ts_ms`` and its source (readings at that time are used up)."""
        slot = self._pending.pop(ts_ms, None)
        for old in [t for t in self._pending if t < ts_ms]:
            del self._pending[old]
        if not slot:
            return None
        rapl = slot.get("rapl", {})
        if "psys" in rapl:
            base, source = rapl["psys"], "rapl"
        elif rapl:
            base, source = sum(rapl.values()), "rapl"
        elif slot.get("power"):
            base, source = sum(slot["power"].values()), "hwmon"
        elif slot.get("power_supply"):
            base, source = sum(slot["power_supply"].values()), "power_supply"
        else:
            base, source = 0.0, ""
        gpus = slot.get("gpu", {})
        if gpus:
            base += sum(gpus.values())
            source = f"{source}+gpu" if source else "gpu"
        return (base, source) if source else None


def _rapl_part(zone: str, name: str) -> str | None:
    """Which part of the node a RAPL zone measures: ``psys``, or one package or DRAM domain.

    Top-level zones (``intel-rapl:0``) are packages or the platform (``psys``); a package's
    ``dram`` subzone adds memory power its package does not count; core and uncore subzones
    are inside their package and are left out.
    """
    if name == "psys":
        return "psys"
    if zone.count(":") == 1 or name == "dram":
        return zone
    return None
