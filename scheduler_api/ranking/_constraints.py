"""A task's hard constraints on one node, defined once.

Every place that asks "can this node take this task at all?" reads these: the ranking (on the
free capacity it measured, where its vectorised mask is checked against them in a test), the
placement engine (on the lanes the policy offers) and the workflow check (across every live
node, to say which constraint no node meets). Load-dependent limits (free cores, disk,
utilisation, deadline, residency) belong to the ranking, which alone measures them.

Example::

    fit = NodeFit("edge-1", cpu_cores=4, memory_bytes=1 << 30, gpus=0, tier="edge")
    meets(fit, TaskRequirements(cpu_cores=2, tier="edge"))      # True
    unmet(fit, TaskRequirements(gpus=1))                        # ("gpu: needs 1, 0 free",)
    explain_unmet(TaskRequirements(gpus=1), [fit])              # "gpu=1 (most on a node is 0)"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from scheduler_api.ranking._model import TaskRequirements

__all__ = ["Constraint", "Fit", "NodeFit", "explain_unmet", "hard_constraints", "meets", "unmet"]

_GIB = float(1 << 30)


class Fit(Protocol):
    """What a hard constraint reads of a node: what it can give now, and what it is."""

    @property
    def cpu_cores(self) -> float: ...
    @property
    def memory_free_bytes(self) -> float: ...
    @property
    def gpus_free(self) -> float: ...
    @property
    def arch(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class NodeFit:
    """A :class:`Fit` built from any node view (the ranking builds one per rejected node)."""

    node_id: str
    cpu_cores: float
    memory_free_bytes: float
    gpus_free: float
    arch: str = ""
    tier: str = ""
    site: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Constraint:
    """One hard constraint of one task.

    Attributes:
        key: what it constrains (``cpu``, ``memory``, ``gpu``, ``arch``, ``tier``, ``site``,
            ``label``).
        holds: whether a node meets it.
        reason: why a node that does not meet it fails, for that node's rejection.
        summary: the constraint and the best any of the given nodes offers, for "no node
            meets ..." (called only when none does).
    """

    key: str
    holds: Callable[[Fit], bool]
    reason: Callable[[Fit], str]
    summary: Callable[[Sequence[Fit]], str]


def _have(values: set[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _attribute(key: str, wanted: str) -> Constraint:
    def value(fit: Fit) -> str:
        result: str = getattr(fit, key)
        return result

    return Constraint(
        key,
        lambda fit: value(fit) == wanted,
        lambda fit: f"{key}: needs {wanted}, node is {value(fit) or 'unknown'}",
        lambda fits: f"{key}={wanted} (nodes have {_have({value(f) for f in fits})})",
    )


def _label(name: str, wanted: str) -> Constraint:
    return Constraint(
        "label",
        lambda fit: fit.labels.get(name) == wanted,
        lambda fit: f"label: needs {name}={wanted}, node has {fit.labels.get(name)!r}",
        lambda fits: f"label {name}={wanted} (no node carries it)",
    )


@lru_cache(maxsize=4096)
def hard_constraints(req: TaskRequirements) -> tuple[Constraint, ...]:
    """The constraints ``req`` sets, in the order rejections list them (cached per value)."""
    cores, memory, gpus = req.cpu_cores, req.memory_bytes, req.gpus
    out = [
        Constraint(
            "cpu",
            lambda fit: fit.cpu_cores >= cores,
            lambda fit: f"cpu: needs {cores:g} cores, node has {fit.cpu_cores:g}",
            lambda fits: (
                f"cpu_cores={cores:g} (largest node has {max(f.cpu_cores for f in fits):g})"
            ),
        )
    ]
    # Always checked, even for a task asking none: a node whose reservations overdraw its
    # memory has nothing free, and no node is feasible with negative free capacity.
    out.append(
        Constraint(
            "memory",
            lambda fit: fit.memory_free_bytes >= memory,
            lambda fit: (
                f"memory: needs {memory / _GIB:.2f} GiB, "
                f"{max(fit.memory_free_bytes, 0.0) / _GIB:.2f} GiB available"
            ),
            lambda fits: (
                f"memory={memory} bytes (most available is "
                f"{max(f.memory_free_bytes for f in fits):.0f})"
            ),
        )
    )
    if gpus:
        out.append(
            Constraint(
                "gpu",
                lambda fit: fit.gpus_free >= gpus,
                lambda fit: f"gpu: needs {gpus}, {max(fit.gpus_free, 0.0):g} free",
                lambda fits: f"gpu={gpus} (most on a node is {max(f.gpus_free for f in fits):g})",
            )
        )
    for key, wanted in (("arch", req.arch), ("tier", req.tier), ("site", req.site)):
        if wanted is not None:
            out.append(_attribute(key, wanted))
    out.extend(_label(name, wanted) for name, wanted in req.labels.items())
    return tuple(out)


def meets(fit: Fit, req: TaskRequirements) -> bool:
    """Whether ``fit`` meets every hard constraint of ``req``."""
    return all(c.holds(fit) for c in hard_constraints(req))


def unmet(fit: Fit, req: TaskRequirements) -> tuple[str, ...]:
    """Why ``fit`` cannot take ``req``: one reason per constraint it fails (empty: it can)."""
    return tuple(c.reason(fit) for c in hard_constraints(req) if not c.holds(fit))


def explain_unmet(req: TaskRequirements, fits: Sequence[Fit]) -> str | None:
    """Why no node of ``fits`` meets ``req`` (each constraint none meets), or None if one does."""
    if any(meets(fit, req) for fit in fits):
        return None
    if not fits:
        return "no healthy node is known"
    reasons = [c.summary(fits) for c in hard_constraints(req) if not any(c.holds(f) for f in fits)]
    return "; ".join(reasons) or "no single node meets all constraints together"
