"""GPUs through NVML (nvidia-ml-py): utilisation, memory, temperature, power and ECC per GPU.

ECC errors are ``hw.errors`` of ``hw.type`` ``gpu`` from the volatile counters (since the driver
loaded, so a reboot or driver reload clears an alert), beside the aggregate counters NVML keeps
over the board's life and the pages it retired. Boards without ECC (most consumer GPUs) say
``NotSupported``; the source state ``nvml_ecc`` is ``ok`` when at least one GPU reports ECC.

NVML is initialised once. No library or no driver is one quiet "not available" at start: the
collector then reports ``continuum.node.gpus`` 0 and nothing else, without retrying every cycle::

    GpuCollector().collect()          # or GpuCollector(nvml=fake_module) in tests
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._hardware import (
    CORRECTED,
    HW_ERRORS,
    HW_SOURCE_AVAILABLE,
    UNCORRECTED,
    SourceState,
    source_state,
)
from agents.node._sensors import HW_POWER, HW_TEMPERATURE

__all__ = ["GpuCollector"]

_log = logging.getLogger(__name__)

_G = InstrumentKind.GAUGE
#: The library NVML is loaded from on Linux (nvidia-ml-py loads the same name).
NVML_LIBRARY = "libnvidia-ml.so.1"
_ECC_SOURCE = "nvml_ecc"
# nvml.h: nvmlMemoryErrorType_t, nvmlEccCounterType_t and nvmlPageRetirementCause_t values.
_ERROR_TYPES = ((0, CORRECTED), (1, UNCORRECTED))
_VOLATILE_ECC, _AGGREGATE_ECC = 0, 1
_RETIREMENT_CAUSES = ((0, "multiple_single_bit"), (1, "double_bit"))


def nvml_library_loads(name: str = NVML_LIBRARY) -> bool:
    """Whether the NVIDIA driver's NVML library can be loaded on this machine."""
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GpuCollector:
    """Per-GPU readings from NVML.

    Args:
        nvml: the ``pynvml`` module or a stand-in with the same functions; default imports it.
        enabled: False reports only ``continuum.node.gpus`` 0, without touching NVML.
    """

    name = "gpu"
    instruments = (
        InstrumentSpec("continuum.node.gpus", _G, "{gpu}", "Number of GPUs NVML reports."),
        InstrumentSpec(
            "hw.gpu.utilization", _G, "1", "Fraction of time the GPU was running kernels."
        ),
        InstrumentSpec("hw.gpu.memory.usage", _G, "By", "GPU memory in use."),
        InstrumentSpec("hw.gpu.memory.limit", _G, "By", "GPU memory size."),
        HW_TEMPERATURE,
        HW_POWER,
        HW_ERRORS,
        HW_SOURCE_AVAILABLE,
        InstrumentSpec(
            "continuum.gpu.ecc.aggregate_errors",
            InstrumentKind.COUNTER,
            "{error}",
            "ECC errors of a GPU over its life (NVML aggregate counters), by error type.",
        ),
        InstrumentSpec(
            "continuum.gpu.retired_pages",
            _G,
            "{page}",
            "GPU memory pages retired after ECC errors, by cause.",
        ),
        InstrumentSpec(
            "continuum.gpu.retired_pages.pending",
            _G,
            "1",
            "1 when a GPU has pages waiting to be retired at the next driver reload, else 0.",
        ),
    )

    def __init__(self, nvml: Any = None, *, enabled: bool = True) -> None:
        self._nvml: Any = None
        self._enabled = enabled
        if not enabled:
            return
        if nvml is None and not nvml_library_loads():
            # Most nodes have no NVIDIA driver; importing pynvml there would only cost the
            # daemon ~2 MB of resident memory to learn the same thing.
            _log.info("GPU metrics not available (%s not found)", NVML_LIBRARY)
            return
        try:
            if nvml is None:
                import pynvml as nvml_module

                nvml = nvml_module
            nvml.nvmlInit()
        except Exception as err:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError...
            _log.info("GPU metrics not available (%s)", err)
            return
        self._nvml = nvml

    @property
    def available(self) -> bool:
        """Whether NVML initialised."""
        return self._nvml is not None

    def collect(self) -> list[Reading]:
        """Read every GPU once."""
        nvml = self._nvml
        if nvml is None:
            state = SourceState.ABSENT if self._enabled else SourceState.DISABLED
            return [Reading("continuum.node.gpus", 0.0), source_state(_ECC_SOURCE, state)]
        count = int(nvml.nvmlDeviceGetCount())
        out = [Reading("continuum.node.gpus", float(count))]
        ecc: list[Reading] = []
        for index in range(count):
            out.extend(self._device(nvml, index))
            ecc.extend(self._ecc(nvml, index))
        out.append(source_state(_ECC_SOURCE, SourceState.OK if ecc else SourceState.ABSENT))
        return out + ecc

    @staticmethod
    def _ecc(nvml: Any, index: int) -> list[Reading]:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        attrs: dict[str, str | int] = {
            "hw.id": _text(nvml.nvmlDeviceGetUUID(handle)),
            "hw.name": _text(nvml.nvmlDeviceGetName(handle)),
            "hw.type": "gpu",
        }
        readers: list[tuple[str, dict[str, str | int], Any]] = []
        for code, error_type in _ERROR_TYPES:
            typed = {**attrs, "error.type": error_type}
            readers.append((HW_ERRORS.name, typed, (code, _VOLATILE_ECC)))
            readers.append(("continuum.gpu.ecc.aggregate_errors", typed, (code, _AGGREGATE_ECC)))
        out: list[Reading] = []
        for instrument, point_attrs, (code, counter) in readers:
            try:
                value = nvml.nvmlDeviceGetTotalEccErrors(handle, code, counter)
            except Exception as err:  # NVMLError_NotSupported: ECC off or absent on this board
                _log.debug("GPU %d: ECC counters not available: %s", index, err)
                return []
            out.append(Reading(instrument, float(value), point_attrs))
        # Page retirement predates row remapping (A100 and later use the latter): optional.
        try:
            for cause_code, cause in _RETIREMENT_CAUSES:
                pages = nvml.nvmlDeviceGetRetiredPages(handle, cause_code)
                out.append(
                    Reading(
                        "continuum.gpu.retired_pages",
                        float(len(pages)),
                        {**attrs, "continuum.gpu.retirement.cause": cause},
                    )
                )
            pending = nvml.nvmlDeviceGetRetiredPagesPendingStatus(handle)
            out.append(Reading("continuum.gpu.retired_pages.pending", float(bool(pending)), attrs))
        except Exception as err:  # NVMLError_NotSupported
            _log.debug("GPU %d: retired pages not available: %s", index, err)
        return out

    @staticmethod
    def _device(nvml: Any, index: int) -> list[Reading]:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        attrs: dict[str, str | int] = {
            "hw.id": _text(nvml.nvmlDeviceGetUUID(handle)),
            "hw.model": _text(nvml.nvmlDeviceGetName(handle)),
            "gpu.index": index,
        }
        # Temperature and power share the hardware-sensor instruments, told apart by hw.type.
        sensor_attrs: dict[str, str | int] = {
            "hw.id": attrs["hw.id"],
            "hw.name": attrs["hw.model"],
            "hw.type": "gpu",
        }
        out: list[Reading] = []
        # Each query may be unsupported on a given board; one missing value skips only itself.
        readers = (
            ("hw.gpu.utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0),
            ("hw.gpu.memory.usage", lambda: float(nvml.nvmlDeviceGetMemoryInfo(handle).used)),
            ("hw.gpu.memory.limit", lambda: float(nvml.nvmlDeviceGetMemoryInfo(handle).total)),
            ("hw.temperature", lambda: float(nvml.nvmlDeviceGetTemperature(handle, 0))),
            ("hw.power", lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0),
        )
        for instrument, read in readers:
            point_attrs = attrs if instrument.startswith("hw.gpu.") else sensor_attrs
            try:
                out.append(Reading(instrument, read(), point_attrs))
            except Exception as err:  # NVMLError_NotSupported and friends
                _log.debug("GPU %d: %s not available: %s", index, instrument, err)
        return out
