"""Errors of the lab::

LabError
├── TopologyError   a topology file is wrong; the message names the key
├── NotRootError    the lab needs root (namespaces, links, cgroups)
└── CommandError    a system command (ip, tc, nft) failed; the message holds its stderr
"""

from __future__ import annotations

__all__ = ["CommandError", "LabError", "NotRootError", "TopologyError"]


class LabError(RuntimeError):
    """Something the lab could not do; the message says what and how to fix it."""


class TopologyError(LabError, ValueError):
    """The topology is invalid; the message starts with the dotted key."""


class NotRootError(LabError):
    """The lab creates namespaces, links and cgroups, which only root may do."""


class CommandError(LabError):
    """A system command failed."""
