"""Disk health from SMART, through ``smartctl --json`` (Debian's ``smartmontools``).

Every ``interval_s`` (SMART queries wake the drive's firmware, so not every cycle) the collector
lists the disks with ``smartctl --scan-open --json`` and asks each for its health verdict and
error counters, each call under ``timeout_s``; between queries it repeats the last answer.
Sleeping disks are not woken (``--nocheck=standby``). It reports:

- ``hw.status`` of each disk, ``hw.state`` ``ok`` or ``failed`` (the drive's own verdict);
- ``continuum.disk.smart.media_errors``: errors the drive could not recover from, over its
  life (NVMe ``media_errors``, ATA attribute 187 ``Reported_Uncorrect``).

Without the program, without the privilege to open the disks, or when it does not answer, the
source state says which (``not_installed``, ``not_permitted``, ``timeout``) and nothing else is
reported::

    SmartCollector().collect()                       # runs smartctl from PATH
    SmartCollector(run=fake_run).collect()           # tests
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._hardware import HW_SOURCE_AVAILABLE, SourceState, source_state

__all__ = [
    "DEFAULT_SMART_INTERVAL_S",
    "DEFAULT_SMART_TIMEOUT_S",
    "SmartCollector",
    "SmartRun",
    "run_smartctl",
]

_log = logging.getLogger(__name__)

_SOURCE = "smart"
DEFAULT_SMART_INTERVAL_S = 300.0
DEFAULT_SMART_TIMEOUT_S = 10.0
# smartctl's exit status is a bit mask (smartctl(8), "RETURN VALUES"): bit 0 a command-line
# error, bit 1 a device that could not be opened. The others describe the disk, not the call.
_BAD_COMMAND_LINE = 1
_OPEN_FAILED = 2
# ATA attribute 187: errors the drive could not recover with its ECC.
_ATA_REPORTED_UNCORRECT = 187

#: Runs smartctl with these arguments under a timeout; returns (exit status, stdout).
#: Raises FileNotFoundError when smartctl is missing and TimeoutError when it does not answer.
SmartRun = Callable[[Sequence[str], float], tuple[int, str]]


def run_smartctl(args: Sequence[str], timeout_s: float) -> tuple[int, str]:
    """Run ``smartctl`` from PATH (the default :data:`SmartRun`)."""
    program = shutil.which("smartctl") or shutil.which("smartctl", path="/usr/sbin:/sbin")
    if program is None:
        raise FileNotFoundError("smartctl")
    try:
        done = subprocess.run(
            [program, *args], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise TimeoutError(f"smartctl {' '.join(args)}") from err
    return done.returncode, done.stdout


class _UnavailableError(Exception):
    def __init__(self, state: SourceState, why: str) -> None:
        super().__init__(why)
        self.state = state


def _denied(text: object) -> bool:
    return "permission denied" in str(text).lower()


def _permission_problem(answer: dict[str, Any]) -> bool:
    messages = answer.get("smartctl", {}).get("messages", [])
    devices = answer.get("devices", [])
    return any(_denied(m.get("string")) for m in messages if isinstance(m, dict)) or any(
        _denied(d.get("open_error")) for d in devices if isinstance(d, dict)
    )


def _health(answer: dict[str, Any]) -> list[Reading]:
    device = answer.get("device", {})
    name = str(device.get("name", "?"))
    attrs: dict[str, str | int] = {
        "hw.type": "physical_disk",
        "hw.id": name.rsplit("/", 1)[-1],
        "hw.name": str(answer.get("model_name") or name),
    }
    out: list[Reading] = []
    status = answer.get("smart_status", {})
    if "passed" in status:
        passed = bool(status["passed"])
        for state, value in (("ok", passed), ("failed", not passed)):
            out.append(Reading("hw.status", float(value), {**attrs, "hw.state": state}))
    media_errors = answer.get("nvme_smart_health_information_log", {}).get("media_errors")
    if media_errors is None:
        for attribute in answer.get("ata_smart_attributes", {}).get("table", []):
            if attribute.get("id") == _ATA_REPORTED_UNCORRECT:
                media_errors = attribute.get("raw", {}).get("value")
    if isinstance(media_errors, int):
        out.append(Reading("continuum.disk.smart.media_errors", float(media_errors), attrs))
    return out


class SmartCollector:
    """SMART health of every disk smartctl can open.

    Args:
        run: how smartctl is run (default :func:`run_smartctl`).
        interval_s: seconds between SMART queries; cycles between repeat the last answer.
        timeout_s: how long each smartctl call may take.
        enabled: False reports only the source state ``disabled``.
    """

    name = "smart"
    instruments = (
        HW_SOURCE_AVAILABLE,
        InstrumentSpec(
            "hw.status",
            InstrumentKind.GAUGE,
            "1",
            "1 when a component is in the state named by hw.state, else 0.",
        ),
        InstrumentSpec(
            "continuum.disk.smart.media_errors",
            InstrumentKind.COUNTER,
            "{error}",
            "Errors a disk could not recover from over its life, as its SMART log reports them.",
        ),
    )

    def __init__(
        self,
        run: SmartRun = run_smartctl,
        *,
        interval_s: float = DEFAULT_SMART_INTERVAL_S,
        timeout_s: float = DEFAULT_SMART_TIMEOUT_S,
        enabled: bool = True,
    ) -> None:
        self._run = run
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._enabled = enabled
        self._last: list[Reading] = []
        self._next_query = 0.0
        self._state = SourceState.OK

    def collect(self) -> list[Reading]:
        """The last answer, refreshed when ``interval_s`` has passed."""
        if not self._enabled:
            return [source_state(_SOURCE, SourceState.DISABLED)]
        now = time.monotonic()
        if now >= self._next_query:
            self._next_query = now + self._interval_s
            self._last = self._query()
        return list(self._last)

    def _query(self) -> list[Reading]:
        try:
            readings = [r for device in self._devices() for r in self._device(device)]
        except _UnavailableError as why:
            if why.state is not self._state:
                _log.info("SMART not available (%s): %s", why.state.value, why)
            self._state = why.state
            return [source_state(_SOURCE, why.state)]
        if self._state is not SourceState.OK:
            _log.info("SMART available again")
        self._state = SourceState.OK
        return [source_state(_SOURCE, SourceState.OK), *readings]

    def _call(self, args: Sequence[str]) -> tuple[int, dict[str, Any]]:
        try:
            status, text = self._run(["--json", *args], self._timeout_s)
        except FileNotFoundError as err:
            raise _UnavailableError(SourceState.NOT_INSTALLED, "smartctl is not installed") from err
        except TimeoutError as err:
            raise _UnavailableError(
                SourceState.TIMEOUT, f"no answer within {self._timeout_s:g} s"
            ) from err
        except PermissionError as err:
            raise _UnavailableError(SourceState.NOT_PERMITTED, str(err)) from err
        try:
            answer = json.loads(text)
        except ValueError as err:
            raise _UnavailableError(SourceState.FAILED, f"not JSON: {err}") from err
        if not isinstance(answer, dict) or status & _BAD_COMMAND_LINE:
            raise _UnavailableError(SourceState.FAILED, f"smartctl exit status {status}")
        return status, answer

    def _devices(self) -> list[dict[str, Any]]:
        _, answer = self._call(["--scan-open"])
        # --scan-open names a disk it could not open with an "open_error" (no privilege).
        devices = [
            d
            for d in answer.get("devices", [])
            if isinstance(d, dict) and "name" in d and "open_error" not in d
        ]
        if not devices and _permission_problem(answer):
            raise _UnavailableError(SourceState.NOT_PERMITTED, "smartctl may not open the disks")
        return devices

    def _device(self, device: dict[str, Any]) -> list[Reading]:
        args = ["--info", "--health", "--attributes", "--nocheck=standby"]
        if device.get("type"):
            args += ["-d", str(device["type"])]
        status, answer = self._call([*args, str(device["name"])])
        if status & _OPEN_FAILED:
            if _permission_problem(answer):
                raise _UnavailableError(SourceState.NOT_PERMITTED, f"cannot open {device['name']}")
            return []  # asleep (standby) or gone since the scan: nothing this time
        return _health(answer)
