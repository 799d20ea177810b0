"""Running the system tools the lab drives (``ip``, ``tc``, ``nft``, ``sysctl``)::

run(["ip", "netns", "add", "continuum-lab-core"])
run(in_netns("continuum-lab-core", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from continuum.lab._errors import CommandError, NotRootError

__all__ = ["in_netns", "require_root", "require_tools", "run", "try_run"]

_TIMEOUT_S = 20.0
REQUIRED_TOOLS = ("ip", "tc", "nft")


def require_root() -> None:
    """Raise ``NotRootError`` unless this process is root."""
    if os.geteuid() != 0:
        raise NotRootError(
            "the lab creates network namespaces, links and cgroups, which needs root: "
            "run it with sudo (or as root)"
        )


def require_tools() -> None:
    """Raise ``CommandError`` naming the tools missing from PATH."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        raise CommandError(
            f"missing {', '.join(missing)}: install iproute2 and nftables (see .ci/system-deps)"
        )


def in_netns(namespace: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside a network namespace (for tools that need no cgroup view)."""
    return ["ip", "netns", "exec", namespace, *argv]


def run(argv: Sequence[str], *, stdin: str | None = None) -> str:
    """Run a command and return its stdout.

    Raises:
        CommandError: it failed; the message holds the command line and its stderr.
    """
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise CommandError(f"{' '.join(argv)}: {err}") from err
    if done.returncode != 0:
        raise CommandError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def try_run(argv: Sequence[str]) -> bool:
    """Run a command for cleanup: True when it succeeded, never raises."""
    try:
        run(argv)
    except CommandError:
        return False
    return True
