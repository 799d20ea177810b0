"""One collection cycle over every container: discover, read, attach identity.

Readers and identities are cached per container and dropped with it, so the work per cycle
follows the containers present now, however many came and went before::

    collector = ContainerScanner(detect_layout(Path("/sys/fs/cgroup")), Path("/proc"))
    for sample in collector.collect():
        print(sample.attributes["container.id"], sample.stats.cpu_user_s)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from agents.containers._discovery import DEFAULT_MAX_DEPTH, ContainerGroup, Discovery
from agents.containers._kubelet import KubeletPods
from agents.containers._layout import CgroupLayout
from agents.containers._metadata import Metadata, MetadataResolver, MetadataSources
from agents.containers._reader import GroupGoneError, GroupReader, host_netns_inode
from agents.containers._stats import ContainerStats

__all__ = ["ContainerSample", "ContainerScanner", "identity_attributes"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContainerSample:
    """One container's identity and counters from one cycle.

    Attributes:
        attributes: identity attributes (docs/contracts.md §3.1) to put on each of its data points.
        stats: the counters read this cycle.
    """

    attributes: Mapping[str, str]
    stats: ContainerStats


def identity_attributes(group: ContainerGroup, meta: Metadata) -> dict[str, str]:
    """The identity attributes of a container, leaving out what is not known.

    ``container.id`` is always there; name, image, pod and namespace come from the runtime's
    metadata, the pod uid and QoS class from the cgroup path.
    """
    ref = group.ref
    attributes = {"container.id": ref.id}
    optional = {
        "container.name": meta.name,
        "container.image.name": meta.image,
        "container.runtime": ref.runtime,
        "k8s.pod.uid": ref.pod.uid if ref.pod else None,
        "k8s.pod.qos_class": ref.pod.qos_class if ref.pod else None,
        "k8s.pod.name": meta.pod_name,
        "k8s.namespace.name": meta.namespace,
        # The same keys as the task series of `continuum run`, so the labels join.
        "workflow": meta.workflow,
        "task": meta.task,
    }
    attributes.update({key: value for key, value in optional.items() if value})
    return attributes


@dataclass(slots=True)
class _Tracked:
    reader: GroupReader
    attributes: Mapping[str, str]
    meta: Metadata


class ContainerScanner:
    """Discover and read every container once per call to :meth:`collect`.

    Args:
        layout: the cgroup hierarchies.
        proc_root: the procfs mount (network counters, host network namespace).
        metadata: runtime metadata sources; ``None`` looks in the default places.
        net_exclude: interface names to leave out of network counters.
        max_depth: how deep to walk each hierarchy.
        kubelet: names pods (and their containers) the runtime's files do not.
    """

    def __init__(
        self,
        layout: CgroupLayout,
        proc_root: Path,
        metadata: MetadataResolver | None = None,
        net_exclude: frozenset[str] = frozenset({"lo"}),
        max_depth: int = DEFAULT_MAX_DEPTH,
        kubelet: KubeletPods | None = None,
    ) -> None:
        self._kubelet = kubelet
        self._discovery = Discovery(layout, max_depth)
        self._proc_root = proc_root
        self._metadata = metadata or MetadataResolver(MetadataSources())
        self._net_exclude = net_exclude
        self._host_netns = host_netns_inode(proc_root)
        self._tracked: dict[str, _Tracked] = {}
        self._logged_errors: set[str] = set()
        #: Reads that failed for a reason other than the container stopping.
        self.read_errors = 0

    @property
    def tracked(self) -> int:
        """How many containers the collector holds state for (the live ones only)."""
        return len(self._tracked)

    def collect(self) -> list[ContainerSample]:
        """Run one cycle.

        Returns:
            One sample per container present and readable now.
        """
        groups = self._discovery.scan()
        for gone in self._tracked.keys() - groups.keys():
            del self._tracked[gone]
        self._logged_errors &= groups.keys()
        self._metadata.forget_except(set(groups))
        samples: list[ContainerSample] = []
        for container_id, group in groups.items():
            tracked = self._track(container_id, group)
            try:
                stats = tracked.reader.read()
            except GroupGoneError:
                # Stopped between the walk and the read: it is simply gone.
                del self._tracked[container_id]
                continue
            except (OSError, ValueError) as err:
                self.read_errors += 1
                if container_id not in self._logged_errors:
                    self._logged_errors.add(container_id)
                    _log.warning("cannot read container %s: %s", container_id[:12], err)
                continue
            samples.append(ContainerSample(tracked.attributes, stats))
        return samples

    def _track(self, container_id: str, group: ContainerGroup) -> _Tracked:
        tracked = self._tracked.get(container_id)
        if tracked is None or (
            tracked.reader.group.unified_dir != group.unified_dir
            or tracked.reader.group.v1_dirs != group.v1_dirs
        ):
            reader = GroupReader(group, self._proc_root, self._host_netns, self._net_exclude)
            tracked = _Tracked(reader, MappingProxyType({}), Metadata())
            tracked.meta = self._lookup(group)
            tracked.attributes = MappingProxyType(identity_attributes(group, tracked.meta))
            self._tracked[container_id] = tracked
        elif _incomplete(group, tracked.meta):
            # Metadata may appear after the group (the sources rate-limit the retries).
            meta = self._lookup(group)
            if meta != tracked.meta:
                tracked.meta = meta
                tracked.attributes = MappingProxyType(identity_attributes(group, meta))
        return tracked

    def _lookup(self, group: ContainerGroup) -> Metadata:
        ref = group.ref
        meta = self._metadata.lookup(ref.runtime, ref.id)
        if self._kubelet is None or ref.pod is None or not _incomplete(group, meta):
            return meta
        pod = self._kubelet.pod(ref.pod.uid) if meta.pod_name is None else None
        container = self._kubelet.container(ref.id) if meta.name is None else None
        return Metadata(
            name=meta.name or (container[0] if container else None),
            image=meta.image or (container[1] if container else None),
            pod_name=meta.pod_name or (pod[0] if pod else None),
            namespace=meta.namespace or (pod[1] if pod else None),
            workflow=meta.workflow,
            task=meta.task,
        )


def _incomplete(group: ContainerGroup, meta: Metadata) -> bool:
    """Whether a container still lacks a name, or a pod container its pod's name."""
    if group.ref.pod is not None and meta.pod_name is None:
        return True
    return meta.name is None and meta.image is None
