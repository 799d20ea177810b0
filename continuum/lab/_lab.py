"""The lab: builds, reports on, loads, kills and tears down a continuum of nodes on one machine.

::

    lab = Lab(default_topology(), state_root=StateDir.default().root / "lab")
    lab.up()                      # namespaces, links, cgroups, and each node's daemons
    lab.load("cloud-1", cpu=0.4)  # background load inside cloud-1's cgroup
    lab.kill("edge-2")            # its daemons stop and its link goes
    lab.down()                    # everything the lab made is gone, even after a crash

Every resource is written to the lab's record before it is made, so ``down`` after a crash
finds it; ``down`` also sweeps for the lab's names (namespaces, root link, cgroup directories)
in case the record itself was lost.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from continuum.lab._cgroups import CgroupBackend, NodeCgroup, detect_backend, kill_and_remove
from continuum.lab._daemons import DAEMONS, daemon_argv, node_config, store_argv
from continuum.lab._enter import enter_argv
from continuum.lab._errors import LabError
from continuum.lab._network import (
    build_node_link,
    build_router,
    namespace_of,
    remove_node_link,
    root_link_of,
    router_of,
)
from continuum.lab._records import LabRecord, ProcessRecord
from continuum.lab._shell import require_root, require_tools, run, try_run
from continuum.lab._topology import LabNode, Topology

__all__ = ["Lab", "NodeStatus"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_PROC_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node as ``lab status`` shows it."""

    node_id: str
    tier: str
    site: str
    address: str
    nat: bool
    cpu_cores: float
    memory_bytes: int
    namespace: bool
    link: bool
    cgroup: bool
    daemons: dict[str, bool]
    killed: bool

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _namespaces() -> set[str]:
    out = run(["ip", "netns", "list"]) if shutil.which("ip") else ""
    return {line.split()[0] for line in out.splitlines() if line.strip()}


class Lab:
    """One lab, by its topology; its record lives under ``state_root/<name>``.

    Args:
        topology: the checked topology.
        state_root: the folder of lab records (``<state>/lab``).
        cgroup_root: where cgroups are mounted.
        env: environment of the node daemons (default: this process's, minus CONTINUUM_*).
    """

    def __init__(
        self,
        topology: Topology,
        state_root: Path,
        *,
        cgroup_root: Path = _CGROUP_ROOT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.topology = topology
        self.dir = state_root / topology.name
        self.record_path = self.dir / "record.json"
        self._cgroup_root = cgroup_root
        self._env = env
        # The daemons this object started: held so they are reaped here, not left as zombies.
        self._children: list[subprocess.Popen[bytes]] = []

    # -- resources --------------------------------------------------------------------------

    def _backend(self) -> CgroupBackend:
        return detect_backend(self._cgroup_root, _PROC_CGROUP)

    def _cgroup_lab(self) -> str:
        return f"continuum-{self.topology.name}"

    def _record(self) -> LabRecord:
        return LabRecord.load(self.record_path) or LabRecord(name=self.topology.name)

    def node_dir(self, node_id: str) -> Path:
        return self.dir / "nodes" / node_id

    def cgroup_of(self, node_id: str) -> NodeCgroup:
        return self._backend().node_group(self._cgroup_lab(), node_id)

    # -- up ---------------------------------------------------------------------------------

    def up(self, *, start_daemons: bool = True) -> list[str]:
        """Build the network, the cgroups and (by default) start each node's daemons.

        Returns:
            Notes for the operator (latency not emulated, where the control plane goes).

        Raises:
            NotRootError: not root.
            LabError: the lab is already up, or a step failed (what was made is undone).
        """
        require_root()
        require_tools()
        if self.record_path.exists() or router_of(self.topology) in _namespaces():
            raise LabError(
                f"lab {self.topology.name} is already up (or was not torn down): "
                f"run `continuum lab down` first"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        record = LabRecord(name=self.topology.name)
        record.save(self.record_path)
        try:
            build_router(self.topology, record, self.record_path)
            backend = self._backend()
            for node in self.topology.nodes:
                record.notes += build_node_link(self.topology, node, record, self.record_path)
                group = backend.node_group(self._cgroup_lab(), node.node_id)
                for path in group.paths:
                    record.add("cgroups", str(path), self.record_path)
                backend.create(
                    self._cgroup_lab(),
                    node.node_id,
                    cpu_cores=node.cpu_cores,
                    memory_bytes=node.memory_bytes,
                )
                for lab_dir in backend.lab_dirs(self._cgroup_lab()):
                    record.add("cgroups", str(lab_dir), self.record_path)
            record.save(self.record_path)
            if start_daemons:
                self.start_store()
                for node in self.topology.nodes:
                    self.start_daemons(node.node_id)
        except BaseException:
            self.down()
            raise
        return [
            *record.notes,
            f"control plane: listen on {self.topology.root_address} "
            f"(kafka {self.topology.kafka_bootstrap}, API {self.topology.api_url})",
        ]

    def start_daemons(self, node_id: str, roles: tuple[str, ...] = tuple(DAEMONS)) -> None:
        """Start a node's daemons inside its namespace and cgroup (each recorded at once)."""
        node = self.topology.node(node_id)
        workdir = self.node_dir(node_id)
        workdir.mkdir(parents=True, exist_ok=True)
        config_path = workdir / "continuum.yaml"
        config = node_config(self.topology, node, workdir)
        config["worker"]["data"]["token_file"] = str(self.data_token_file())
        config_path.write_text(yaml.safe_dump(config))
        for role in roles:
            argv = daemon_argv(*DAEMONS[role], config_path=config_path)
            self._spawn(node, role, argv)

    def _spawn(self, node: LabNode, role: str, argv: list[str]) -> ProcessRecord:
        """Start ``argv`` inside the node's namespace and cgroup."""
        group = self.cgroup_of(node.node_id)
        inside = enter_argv(namespace_of(self.topology, node.node_id), group.procs_files, argv)
        return self._start(inside, node=node.node_id, role=role, cwd=self.node_dir(node.node_id))

    def _start(self, argv: list[str], *, node: str, role: str, cwd: Path) -> ProcessRecord:
        """Start a lab process, logging to ``<cwd>/<role>.log``, and record it at once."""
        env = self._env
        if env is None:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
        log_path = cwd / f"{role}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,  # outlives `lab up`; `down` stops it by its record
            )
        self._children.append(child)
        process = ProcessRecord.of(child.pid, node=node, role=role)
        record = self._record()
        record.processes.append(process)
        record.save(self.record_path)
        return process

    def data_token_file(self) -> Path:
        """The file of the bearer token the nodes' data servers and the lab's store ask for
        (made on first use)."""
        path = self.dir / "data-token"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(0o600)
            path.write_text(secrets.token_urlsafe(24))
        return path

    def start_store(self) -> ProcessRecord:
        """Start the lab's data store, in the root namespace on the lab link (node ``""``),
        where nodes behind NAT publish their tasks' outputs."""
        config = self.dir / "store.yaml"
        config.write_text(
            yaml.safe_dump({"worker": {"data": {"token_file": str(self.data_token_file())}}})
        )
        argv = store_argv(self.topology, self.dir / "store", config)
        return self._start(argv, node="", role="store", cwd=self.dir)

    # -- operations -------------------------------------------------------------------------

    def load(self, node_id: str, cpu: float, duration_s: float = 0.0) -> ProcessRecord:
        """Background CPU load of ``cpu`` cores inside the node's cgroup (until down or kill).

        Raises:
            LabError: no such node, it was killed, or ``stress-ng`` is missing.
        """
        node = self.topology.node(node_id)
        if node_id in self._record().killed:
            raise LabError(f"node {node_id} was killed; `lab down` and `lab up` to bring it back")
        if cpu <= 0:
            raise LabError("--cpu: the load must be above 0 cores")
        if shutil.which("stress-ng") is None:
            raise LabError("stress-ng is missing: install it (see .ci/system-deps)")
        workers = max(1, math.ceil(cpu))
        percent = max(1, min(100, round(100 * cpu / workers)))
        argv = ["stress-ng", "--cpu", str(workers), "--cpu-load", str(percent), "--quiet"]
        if duration_s > 0:
            argv += ["--timeout", f"{duration_s:g}s"]
        return self._spawn(node, "load", argv)

    def kill(self, node_id: str) -> None:
        """Stop everything on the node and cut its link, as a node failure would."""
        node = self.topology.node(node_id)
        record = self._record()
        for process in record.processes:
            if process.node == node_id:
                process.stop(timeout_s=0.0)
        for path in self.cgroup_of(node_id).paths:
            _kill_members(path)
        remove_node_link(self.topology, node)
        self._reap()
        if node_id not in record.killed:
            record.killed.append(node_id)
        record.save(self.record_path)

    def status(self) -> list[NodeStatus]:
        """Each node: namespace, link, cgroup, daemons alive, killed."""
        record = self._record()
        namespaces = _namespaces() if os.geteuid() == 0 else set()
        out = []
        for node in self.topology.nodes:
            namespace = namespace_of(self.topology, node.node_id)
            has_ns = namespace in namespaces
            link = has_ns and try_run(["ip", "-n", namespace, "link", "show", "eth0"])
            try:
                group = all(p.is_dir() for p in self.cgroup_of(node.node_id).paths)
            except LabError:
                group = False
            daemons = {p.role: p.alive() for p in record.processes if p.node == node.node_id}
            out.append(
                NodeStatus(
                    node.node_id,
                    node.tier,
                    node.site.name,
                    node.address,
                    node.site.nat,
                    node.cpu_cores,
                    node.memory_bytes,
                    has_ns,
                    link,
                    group,
                    daemons,
                    node.node_id in record.killed,
                )
            )
        return out

    # -- down -------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Remove every process, namespace, link, route and cgroup the lab made.

        Works from the record and, in case it was lost, from the lab's names.

        Returns:
            What could not be removed (empty when everything went).
        """
        require_root()
        record = self._record()
        for process in record.processes:
            process.stop()
        left: list[str] = []
        cgroups = [Path(p) for p in record.cgroups]
        with contextlib.suppress(LabError):
            backend = self._backend()
            for lab_dir in backend.lab_dirs(self._cgroup_lab()):
                if lab_dir.is_dir():
                    cgroups += [p for p in lab_dir.iterdir() if p.is_dir()] + [lab_dir]
        # Children before parents, so each directory is empty when its turn comes.
        ordered = sorted(set(cgroups), key=lambda p: len(p.parts), reverse=True)
        left += kill_and_remove(ordered)
        self._reap()
        prefix = f"continuum-{self.topology.name}-"
        for namespace in sorted(set(record.namespaces) | _lab_namespaces(prefix)):
            if not try_run(["ip", "netns", "del", namespace]) and namespace in _namespaces():
                left.append(f"namespace {namespace}")
        for route in record.root_routes:
            try_run(["ip", "route", "del", *route.split()])
        for link in {*record.root_links, root_link_of(self.topology)}:
            if try_run(["ip", "link", "show", link]) and not try_run(["ip", "link", "del", link]):
                left.append(f"link {link}")
        if not left:
            self.record_path.unlink(missing_ok=True)
        return left

    def _reap(self) -> None:
        for child in self._children:
            child.poll()
        self._children = [c for c in self._children if c.returncode is None]


def _lab_namespaces(prefix: str) -> set[str]:
    return {name for name in _namespaces() if name.startswith(prefix)}


def _kill_members(path: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if not (path / "cgroup.procs").read_text().strip():
                return
        time.sleep(0.05)
