"""Thermal and power: hwmon temperatures and power, RAPL energy counters, power supplies.

Reads ``<sys_root>/class/hwmon/*`` (Documentation/hwmon/sysfs-interface.rst),
``<sys_root>/class/powercap/intel-rapl:*`` and ``<sys_root>/class/power_supply/*``. Sources a
machine lacks (virtual machines have none) give no readings. RAPL zones that exist but cannot be
read (root-only ``energy_uj`` since Linux 5.10) are not silent: ``continuum.hw.source.available``
says ``rapl`` is ``not_permitted``, and the agent logs the fix once. RAPL ``energy_uj`` wraps at
``max_energy_range_uj``; the collector keeps a running total so the exported counter never goes
backwards::

    SensorsCollector(Path("/sys")).collect()
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._files import read_int, read_text
from agents.node._hardware import HW_SOURCE_AVAILABLE, SourceState, source_state

__all__ = ["HW_POWER", "HW_TEMPERATURE", "RAPL_FIX", "SensorsCollector"]

_log = logging.getLogger(__name__)

#: How to let the agent read RAPL energy counters without running it as root.
RAPL_FIX = (
    "let the continuum group read them: install deploy/systemd/continuum-rapl.tmpfiles.conf as "
    "/usr/lib/tmpfiles.d/continuum-rapl.conf and deploy/systemd/70-continuum-rapl.rules in "
    "/etc/udev/rules.d/, then run `systemd-tmpfiles --create "
    "/usr/lib/tmpfiles.d/continuum-rapl.conf`"
)
_RAPL = "rapl"

_G = InstrumentKind.GAUGE

#: Shared with the GPU collector, which reports GPUs under the same instruments.
HW_TEMPERATURE = InstrumentSpec("hw.temperature", _G, "Cel", "Temperature reported by a sensor.")
HW_POWER = InstrumentSpec("hw.power", _G, "W", "Instantaneous power drawn by a component.")
_TEMP_INPUT = re.compile(r"^temp(\d+)_input$")
_POWER_INPUT = re.compile(r"^power(\d+)_(input|average)$")


def _energy_uj(path: Path) -> tuple[int | None, bool]:
    """A RAPL counter in microjoules (None when unreadable), and whether reading was refused."""
    try:
        text = path.read_text()
    except PermissionError:
        return None, True
    except OSError:
        return None, False
    try:
        return int(text.strip()), False
    except ValueError:
        return None, False


def _name(path: Path) -> str | None:
    text = read_text(path)
    return text.strip() if text else None


class _WrapTotal:
    """Running total of a counter that wraps at a known range (RAPL energy)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def update(self, key: str, raw: int, wrap_at: int | None) -> int:
        last = self._last.get(key)
        total = self._total.get(key, raw)
        if last is not None:
            delta = raw - last
            if delta < 0:
                # Wrapped (or reset without a known range: count from the new value).
                delta = raw + (wrap_at - last if wrap_at else 0)
            total += delta
        self._last[key] = raw
        self._total[key] = total
        return total

    def forget_except(self, keys: set[str]) -> None:
        for key in set(self._last) - keys:
            self._last.pop(key, None)
            self._total.pop(key, None)


class SensorsCollector:
    """Temperatures, power draw, energy and power supplies.

    Args:
        sys_root: sysfs mount.
    """

    name = "sensors"
    instruments = (
        HW_TEMPERATURE,
        HW_POWER,
        InstrumentSpec(
            "hw.energy",
            InstrumentKind.COUNTER,
            "J",
            "Energy consumed by a power domain (RAPL), since the agent started counting.",
        ),
        InstrumentSpec(
            "hw.battery.charge", _G, "1", "Remaining charge of a battery, as a fraction."
        ),
        InstrumentSpec(
            "continuum.power_supply.online", _G, "1", "1 when a power supply is online, else 0."
        ),
        HW_SOURCE_AVAILABLE,
    )

    def __init__(self, sys_root: Path) -> None:
        self._class = sys_root / "class"
        self._energy = _WrapTotal()
        self._warned_rapl = False

    def collect(self) -> list[Reading]:
        """Read every sensor once."""
        return [*self._hwmon(), *self._rapl(), *self._power_supplies()]

    def _hwmon(self) -> list[Reading]:
        out: list[Reading] = []
        root = self._class / "hwmon"
        if not root.is_dir():
            return out
        for chip_dir in sorted(root.iterdir()):
            chip = _name(chip_dir / "name") or chip_dir.name
            try:
                entries = sorted(p.name for p in chip_dir.iterdir())
            except OSError:
                continue
            for entry in entries:
                temp = _TEMP_INPUT.match(entry)
                power = _POWER_INPUT.match(entry)
                if temp:
                    millideg = read_int(chip_dir / entry)
                    if millideg is None:
                        continue
                    label = _name(chip_dir / f"temp{temp.group(1)}_label") or f"temp{temp.group(1)}"
                    attrs = {
                        "hw.id": f"{chip_dir.name}_temp{temp.group(1)}",
                        "hw.name": f"{chip} {label}",
                        "hw.type": "temperature",
                    }
                    out.append(Reading("hw.temperature", millideg / 1000.0, attrs))
                elif power:
                    microwatts = read_int(chip_dir / entry)
                    if microwatts is None:
                        continue
                    index = power.group(1)
                    label = _name(chip_dir / f"power{index}_label") or f"power{index}"
                    attrs = {
                        "hw.id": f"{chip_dir.name}_power{index}",
                        "hw.name": f"{chip} {label}",
                        "hw.type": "power",
                    }
                    out.append(Reading("hw.power", microwatts / 1e6, attrs))
        return out

    def _rapl(self) -> list[Reading]:
        out: list[Reading] = []
        root = self._class / "powercap"
        if not root.is_dir():
            return out
        seen: set[str] = set()
        zones = sorted(root.glob("intel-rapl:*"))
        refused = 0
        for zone in zones:
            raw, denied = _energy_uj(zone / "energy_uj")
            if raw is None:
                refused += denied  # readable by root only since Linux 5.10
                continue
            seen.add(zone.name)
            total_uj = self._energy.update(zone.name, raw, read_int(zone / "max_energy_range_uj"))
            attrs = {"hw.id": zone.name, "hw.name": _name(zone / "name") or zone.name}
            out.append(Reading("hw.energy", total_uj / 1e6, attrs))
        self._energy.forget_except(seen)
        if zones:
            out.append(source_state(_RAPL, self._rapl_state(len(zones), len(seen), refused)))
        return out

    def _rapl_state(self, zones: int, read: int, refused: int) -> SourceState:
        if refused and not self._warned_rapl:
            self._warned_rapl = True
            _log.warning(
                "RAPL energy counters cannot be read (%d of %d zones refused): hw.energy is "
                "missing and continuum_hw_source_available reports rapl not_permitted. Fix: %s",
                refused,
                zones,
                RAPL_FIX,
            )
        if refused:
            return SourceState.NOT_PERMITTED
        return SourceState.OK if read else SourceState.FAILED

    def _power_supplies(self) -> list[Reading]:
        out: list[Reading] = []
        root = self._class / "power_supply"
        if not root.is_dir():
            return out
        for supply in sorted(root.iterdir()):
            kind = (_name(supply / "type") or "unknown").lower()
            attrs = {"hw.id": supply.name, "hw.name": supply.name, "hw.type": kind}
            online = read_int(supply / "online")
            if online is not None:
                out.append(Reading("continuum.power_supply.online", float(online > 0), attrs))
            capacity = read_int(supply / "capacity")
            if capacity is not None:
                out.append(Reading("hw.battery.charge", capacity / 100.0, attrs))
            power_uw = read_int(supply / "power_now")
            if power_uw is not None:
                out.append(
                    Reading("hw.power", power_uw / 1e6, {**attrs, "hw.type": "power_supply"})
                )
        return out
