"""The agent's memory trims: kafka-python gets crc32c's C function without the package's CLI."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_kafka_checksums_use_the_c_extension_without_argparse_or_metadata() -> None:
    out = run(
        "import sys; from agents._otel._footprint import preload_crc32c;"
        "first, again = preload_crc32c(), preload_crc32c();"
        "import kafka.record.util as util;"
        "print(first, again, util._crc32c(b'123456789') == 0xE3069283,"
        " type(util._crc32c).__name__,"
        " 'argparse' in sys.modules, 'importlib.metadata' in sys.modules)"
    )
    assert out == "True False True builtin_function_or_method False False"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_arenas_are_capped_on_glibc() -> None:
    out = run(
        "from agents._otel._footprint import limit_malloc_arenas; print(limit_malloc_arenas())"
    )
    assert out == "True"
