"""GPUs through NVML (nvidia-ml-py): utilisation, memory, temperature and power per GPU.

NVML is initialised once. No library or no driver is one quiet "not available" at start: the
collector then reports ``continuum.node.gpus`` 0 and nothing else, without retrying every cycle::

    GpuCollector().collect()          # or GpuCollector(nvml=fake_module) in tests
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

from agents._otel import InstrumentKind, InstrumentSpec, Reading
from agents.node._sensors import HW_POWER, HW_TEMPERATURE

__all__ = ["GpuCollector"]

_log = logging.getLogger(__name__)

_G = InstrumentKind.GAUGE
#: The library NVML is loaded from on Linux (nvidia-ml-py loads the same name).
NVML_LIBRARY = "libnvidia-ml.so.1"


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
    )

    def __init__(self, nvml: Any = None, *, enabled: bool = True) -> None:
        self._nvml: Any = None
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
            return [Reading("continuum.node.gpus", 0.0)]
        count = int(nvml.nvmlDeviceGetCount())
        out = [Reading("continuum.node.gpus", float(count))]
        for index in range(count):
            out.extend(self._device(nvml, index))
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
