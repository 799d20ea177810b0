"""Process-wide settings that keep an agent's resident memory small (docs/benchmarks.md).

An agent runs on every node for months; each of these trims about a megabyte from its steady
RSS without changing what it does::

    limit_malloc_arenas()      # before the agent starts its threads
    preload_crc32c()           # before kafka-python is imported
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import logging
import sys
from pathlib import Path

__all__ = ["MALLOC_ARENAS", "limit_malloc_arenas", "preload_crc32c"]

_log = logging.getLogger(__name__)

#: glibc malloc arenas an agent may use; its threads mostly wait, so two serve them all.
MALLOC_ARENAS = 2
# mallopt(3): M_ARENA_MAX, the same knob as the MALLOC_ARENA_MAX environment variable.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads created from now on.

    glibc gives threads their own arenas, up to eight per core; an agent's collector, mount,
    HTTP and Kafka threads each touched one, and every arena keeps freed memory resident.

    Returns:
        Whether the cap was set (False off glibc, where there is nothing to cap).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


def preload_crc32c() -> bool:
    """Make ``import crc32c`` give the crc32c package's C extension alone.

    kafka-python takes only the ``crc32c`` function from that package (for record batch
    checksums, much cheaper than its pure-Python fallback), but the package's ``__init__``
    imports its command-line tool (argparse) and importlib.metadata (for ``__version__``):
    over a megabyte of resident memory for nothing an agent uses.

    Returns:
        Whether the extension was loaded (False when crc32c is missing or already imported;
        kafka-python then imports whatever it finds, or falls back).
    """
    if "crc32c" in sys.modules:
        return False
    package = importlib.util.find_spec("crc32c")
    if package is None or not package.submodule_search_locations:
        return False
    folder = Path(next(iter(package.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_crc32c{suffix}"
        if not path.is_file():
            continue
        spec = importlib.util.spec_from_file_location("crc32c._crc32c", path)
        if spec is None or spec.loader is None:
            return False
        try:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except ImportError as err:
            _log.debug("crc32c extension not loadable: %r", err)
            return False
        if not callable(getattr(module, "crc32c", None)):
            return False
        sys.modules["crc32c"] = module
        return True
    return False
