"""Small readers for procfs and sysfs files: a missing or unreadable file is ``None``, not an error.

Sources come and go (hot-plugged devices, kernels without PSI, sensors readable only by root), so
the collectors treat absence as "nothing to report"::

    read_text(Path("/proc/loadavg"))        # "0.52 0.58 0.59 1/189 4242\\n" or None
    read_int(Path("/sys/.../energy_uj"))    # 123456789 or None
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_int", "read_text"]


def read_text(path: Path) -> str | None:
    """The file's text, or None when it is missing or unreadable."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def read_int(path: Path) -> int | None:
    """The file's content as an integer, or None when missing, unreadable or not a number."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None
