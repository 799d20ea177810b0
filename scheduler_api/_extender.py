"""Kubernetes scheduler-extender verbs (k8s.io/kube-scheduler/extender/v1) over the ranking model.

Kubernetes nodes map to continuum nodes by name. A pod's requirements are the sum of its
containers' requests (limits where a request is missing; the largest init container if larger),
plus optional annotations::

    continuum.io/tier: edge           continuum.io/site: lab-1
    continuum.io/datasets: a,b        continuum.io/duration-s: "120"
    continuum.io/max-utilization: "0.8"            continuum.io/allow-oversubscribe: "true"
    continuum.io/not-before: "1767225600"          continuum.io/deadline: "1767229200"

``ephemeral-storage`` requests are the pod's ``disk_bytes``; ``not-before`` and ``deadline`` are
Unix times. Their rejections reach kube-scheduler as the filter's reasons.

Nodes continuum does not monitor pass the filter with the lowest priority: monitoring gaps
must not make a cluster unschedulable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from scheduler_api.ranking import DatasetLocation, Ranking, TaskRequirements

__all__ = [
    "ANNOTATION_PREFIX",
    "MAX_EXTENDER_PRIORITY",
    "QuantityError",
    "candidate_names",
    "filter_nodes",
    "parse_quantity",
    "pod_requirements",
    "prioritize_nodes",
]

#: kube-scheduler's MaxExtenderPriority.
MAX_EXTENDER_PRIORITY = 10
ANNOTATION_PREFIX = "continuum.io/"
_GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1)}
_DECIMAL.update({"k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9")})
_DECIMAL.update({"T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18")})
_QUANTITY = re.compile(
    r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)


class QuantityError(ValueError):
    """A Kubernetes resource quantity could not be parsed."""


def parse_quantity(text: str | float | int) -> float:
    """Parse a Kubernetes quantity (``500m``, ``2``, ``1Gi``, ``1e3``, ``128974848``).

    Raises:
        QuantityError: not a quantity.
    """
    if isinstance(text, int | float):
        return float(text)
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        value = Decimal(number)
    except InvalidOperation as err:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}") from err
    scale = Decimal(_BINARY[suffix]) if suffix in _BINARY else _DECIMAL[suffix]
    return float(value * scale)


def _container_resources(container: Mapping[str, Any]) -> dict[str, float]:
    resources = container.get("resources") or {}
    merged: dict[str, Any] = {
        **(resources.get("limits") or {}),
        **(resources.get("requests") or {}),
    }
    cpu = parse_quantity(merged.get("cpu", 0))
    memory = parse_quantity(merged.get("memory", 0))
    gpus = sum(parse_quantity(merged.get(name, 0)) for name in _GPU_RESOURCES)
    disk = parse_quantity(merged.get("ephemeral-storage", 0))
    return {"cpu": cpu, "memory": memory, "gpus": gpus, "disk": disk}


def pod_requirements(
    pod: Mapping[str, Any], datasets: Mapping[str, DatasetLocation] | None = None
) -> TaskRequirements:
    """A pod's requirements (see the module docstring).

    Args:
        pod: the Pod object as JSON.
        datasets: catalogued datasets by id, for the ``continuum.io/datasets`` annotation.

    Raises:
        QuantityError: a resource quantity is malformed.
    """
    spec = pod.get("spec") or {}
    totals = {"cpu": 0.0, "memory": 0.0, "gpus": 0.0, "disk": 0.0}
    for container in spec.get("containers") or []:
        for key, value in _container_resources(container).items():
            totals[key] += value
    for container in spec.get("initContainers") or []:
        for key, value in _container_resources(container).items():
            totals[key] = max(totals[key], value)
    annotations: Mapping[str, str] = (pod.get("metadata") or {}).get("annotations") or {}

    def annotation(name: str) -> str | None:
        value = annotations.get(ANNOTATION_PREFIX + name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def number(name: str) -> float | None:
        text = annotation(name)
        try:
            return float(text) if text else None
        except ValueError as err:
            raise QuantityError(f"{ANNOTATION_PREFIX}{name}: not a number: {text!r}") from err

    wanted = (annotation("datasets") or "").split(",")
    known = datasets or {}
    oversubscribe = (annotation("allow-oversubscribe") or "false").lower()
    if oversubscribe not in ("true", "false"):
        raise QuantityError(
            f"{ANNOTATION_PREFIX}allow-oversubscribe: expected true or false, got {oversubscribe!r}"
        )
    return TaskRequirements(
        # A pod without requests still occupies a slice of a core.
        cpu_cores=max(totals["cpu"], 0.001),
        memory_bytes=int(totals["memory"]),
        gpus=int(totals["gpus"]),
        tier=annotation("tier"),
        site=annotation("site"),
        datasets=tuple(known[name.strip()] for name in wanted if name.strip() in known),
        duration_s=number("duration-s"),
        disk_bytes=int(totals["disk"]),
        max_utilization=number("max-utilization"),
        allow_oversubscribe=oversubscribe == "true",
        not_before_s=number("not-before"),
        deadline_s=number("deadline"),
    )


def candidate_names(nodes: Mapping[str, Any] | None, node_names: Sequence[str] | None) -> list[str]:
    """Names of the candidate nodes (``NodeNames`` when the extender is nodeCacheCapable)."""
    if node_names is not None:
        return list(node_names)
    items = (nodes or {}).get("items") or []
    return [str((item.get("metadata") or {}).get("name", "")) for item in items]


def filter_nodes(names: Sequence[str], ranking: Ranking) -> tuple[list[str], dict[str, str]]:
    """Split candidates into passing names and failed names with their reasons.

    ``ranking`` must list every rejected node (``rejected_limit=None``).
    """
    reasons = {r.node_id: "; ".join(r.reasons) for r in ranking.rejected}
    passed = [name for name in names if name not in reasons]
    failed = {name: reasons[name] for name in names if name in reasons}
    return passed, failed


def prioritize_nodes(names: Sequence[str], ranking: Ranking) -> list[tuple[str, int]]:
    """Scores 0..10 per candidate: the continuum score scaled; 0 for unranked nodes."""
    scores = {entry.node.id: round(entry.score * MAX_EXTENDER_PRIORITY) for entry in ranking.ranked}
    return [(name, int(scores.get(name, 0))) for name in names]
