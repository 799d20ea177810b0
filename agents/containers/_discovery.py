"""Walk the cgroup hierarchies and find every container and pod group.

Each cycle lists directories only down to the first container group on each branch (a
container's own sub-groups are counted in its totals already), so the cost grows with the
number of groups on the node, not with their history. Parsed names are cached by path and the
cache is rebuilt from what the walk saw, so vanished groups leave no trace::

    discovery = Discovery(detect_layout(Path("/sys/fs/cgroup")))
    for group in discovery.scan().values():
        print(group.ref.id, group.unified_dir, group.v1_dirs)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from agents.containers._layout import CgroupLayout
from agents.containers._naming import (
    ContainerRef,
    PodRef,
    is_kubepods_root,
    parse_container,
    parse_pod,
)

__all__ = ["ContainerGroup", "Discovery"]

_log = logging.getLogger(__name__)

#: Deeper groups than this are not walked (kubelet nests five levels; runtimes add one or two).
DEFAULT_MAX_DEPTH = 10


@dataclass(slots=True)
class ContainerGroup:
    """One container's groups across the hierarchies.

    Attributes:
        ref: what the path says about the container.
        unified_dir: its group in the v2 hierarchy, if any.
        v1_dirs: v1 controller name to its group in that controller's hierarchy.
    """

    ref: ContainerRef
    unified_dir: str | None = None
    v1_dirs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Node:
    """A directory still to list during a walk."""

    path: str
    rel: str
    name: str
    depth: int
    kube: bool
    pod: PodRef | None


class Discovery:
    """Find the container groups of every hierarchy in a layout.

    Args:
        layout: the hierarchies to walk.
        max_depth: how deep below each hierarchy root to look.
    """

    def __init__(self, layout: CgroupLayout, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self._layout = layout
        self._max_depth = max_depth
        # Which v1 controllers each walked hierarchy serves (co-mounted ones share a walk).
        self._controllers: dict[Path, list[str]] = {}
        for controller, path in layout.v1.items():
            self._controllers.setdefault(path, []).append(controller)
        # Parse results by path relative to the hierarchy root: the same paths recur on every
        # hierarchy and every cycle, so each name is matched against the patterns once.
        self._parsed: dict[str, ContainerRef | None] = {}
        self.directories_listed = 0

    def scan(self) -> dict[str, ContainerGroup]:
        """Walk every hierarchy once.

        Returns:
            Container id to its groups, for every container present now.
        """
        groups: dict[str, ContainerGroup] = {}
        seen_parses: dict[str, ContainerRef | None] = {}
        listed = 0
        for root in self._layout.walk_roots():
            controllers = self._controllers.get(root)
            found, listed_here = self._walk(root, seen_parses)
            listed += listed_here
            for ref, path in found:
                group = groups.get(ref.id)
                if group is None:
                    group = groups[ref.id] = ContainerGroup(ref)
                if controllers is None:
                    group.unified_dir = path
                else:
                    for controller in controllers:
                        group.v1_dirs[controller] = path
        # Keep only what this walk saw, so the cache follows the live set of groups.
        self._parsed = seen_parses
        self.directories_listed = listed
        return groups

    def _walk(
        self,
        root: Path,
        seen: dict[str, ContainerRef | None],
    ) -> tuple[list[tuple[ContainerRef, str]], int]:
        found: list[tuple[ContainerRef, str]] = []
        stack = [_Node(str(root), "", "", 0, False, None)]
        listed = 0
        while stack:
            node = stack.pop()
            try:
                entries = list(os.scandir(node.path))
            except OSError:
                # The group vanished between listing its parent and listing it: normal churn.
                continue
            listed += 1
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                name = entry.name
                rel = f"{node.rel}/{name}" if node.rel else name
                pod = node.pod
                kube = node.kube or is_kubepods_root(name)
                if kube and pod is None:
                    pod = parse_pod(name, node.name)
                    if pod is not None:
                        if node.depth + 1 < self._max_depth:
                            stack.append(_Node(entry.path, rel, name, node.depth + 1, kube, pod))
                        continue
                if rel in seen:
                    ref = seen[rel]
                elif rel in self._parsed:
                    ref = seen[rel] = self._parsed[rel]
                else:
                    ref = seen[rel] = parse_container(name, node.name, pod, rel)
                if ref is not None:
                    found.append((ref, entry.path))
                elif node.depth + 1 < self._max_depth:
                    stack.append(_Node(entry.path, rel, name, node.depth + 1, kube, pod))
        return found, listed
