"""Score formulas, written once for scalars and numpy arrays alike.

They follow the published plugins, on a 0..1 scale instead of 0..MaxNodeScore:

* ``least_allocated``: kube-scheduler NodeResourcesFit, strategy LeastAllocated:
  ``(capacity - requested) / capacity`` per resource, weighted mean over resources.
* ``balanced_allocation``: kube-scheduler NodeResourcesBalancedAllocation (1.23+):
  ``1 - std(requested_i / capacity_i)`` over the resources.
* ``load_variation_risk``: Trimaran LoadVariationRiskBalancing:
  ``risk = (mu + margin * sigma ** (1 / sensitivity)) / 2`` with mu and sigma clamped to
  0..1, score ``1 - risk``; a node's score is the lowest over its resources.

Example::

    >>> least_allocated([3.0, 5000.0], [4.0, 10000.0])
    0.375
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["balanced_allocation", "least_allocated", "load_variation_risk"]

FloatArray = npt.NDArray[np.float64]
_T = TypeVar("_T", float, FloatArray)


def least_allocated(
    requested: Sequence[float],
    capacity: Sequence[float],
    weights: Sequence[float] | None = None,
) -> float:
    """LeastAllocated score (0..1) of one node over several resources."""
    weights = weights or [1.0] * len(requested)
    total = 0.0
    for used, cap, weight in zip(requested, capacity, weights, strict=True):
        free = 0.0 if cap <= 0 or used > cap else (cap - used) / cap
        total += free * weight
    return total / sum(weights)


def balanced_allocation(fractions: Sequence[float]) -> float:
    """BalancedAllocation score (0..1): one minus the population std of the used fractions."""
    clamped = [min(max(f, 0.0), 1.0) for f in fractions]
    return 1.0 - float(np.std(clamped))


def load_variation_risk(mu: _T, sigma: _T, margin: float = 1.0, sensitivity: float = 1.0) -> _T:
    """LoadVariationRiskBalancing score (0..1) of one resource.

    Args:
        mu: mean utilisation fraction including the task's request.
        sigma: standard deviation of the utilisation fraction.
        margin: how many standard deviations of headroom to keep.
        sensitivity: root applied to sigma (1 = linear).
    """
    mu_c = np.clip(mu, 0.0, 1.0)
    sigma_c = np.clip(sigma, 0.0, 1.0) ** (1.0 / sensitivity)
    risk = (mu_c + margin * sigma_c) / 2.0
    result: _T = np.clip(1.0 - risk, 0.0, 1.0)
    return result
