"""Energy a task adds on each node, from the best power figure the node has.

In order of trust:

1. ``fit``: the node's least-squares line of measured power against CPU utilisation over the
   last hour, when fitted to at least :data:`MIN_FIT_SAMPLES` samples with a positive slope.
   A task keeping ``k`` of ``c`` cores busy for ``t`` seconds adds ``slope * k / c * t`` joules:
   the idle power is paid whether or not the task runs there.
2. ``measured``: the node's measured power, shared per core (``power / c * k * t``), when
   there is no usable line yet.
3. ``label``: the operator's rated ``power_watts``, the same way.

A node with none of these has unknown energy: it scores neutrally (0.5) on the energy
component and sorts last when energy is minimised::

    joules, source = task_joules(table, cpu_cores=2, run_s=run_s)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scheduler_api.ranking._model import NodeSnapshot
from scheduler_api.ranking._table import FloatArray, IntArray, NodeTable

__all__ = [
    "MIN_FIT_SAMPLES",
    "busy_watts",
    "describe_source",
    "node_busy_watts",
    "plan_joules",
    "task_joules",
]

#: Samples of the last hour a power line needs before the ranking trusts it.
MIN_FIT_SAMPLES = 30

_FIT, _MEASURED, _LABEL, _UNKNOWN = 0, 1, 2, 3


def busy_watts(table: NodeTable) -> tuple[FloatArray, IntArray]:
    """Watts each node adds from idle to fully busy (NaN when unknown), and their source."""
    fit_ok = (table.power_fit_samples >= MIN_FIT_SAMPLES) & (table.power_slope_watts > 0)
    measured_ok = ~np.isnan(table.power_measured_watts)
    label_ok = ~np.isnan(table.power_watts)
    source: IntArray = np.where(
        fit_ok, _FIT, np.where(measured_ok, _MEASURED, np.where(label_ok, _LABEL, _UNKNOWN))
    )
    watts: FloatArray = np.select(
        [source == _FIT, source == _MEASURED, source == _LABEL],
        [table.power_slope_watts, table.power_measured_watts, table.power_watts],
        default=np.nan,
    )
    return watts, source


def node_busy_watts(node: NodeSnapshot) -> float | None:
    """:func:`busy_watts` for one node (None when unknown), for callers without a table (the
    placement policy's engine nodes)."""
    power = node.power
    if power is not None:
        slope = power.slope_watts
        if power.samples >= MIN_FIT_SAMPLES and slope is not None and slope > 0:
            return slope
        if power.measured_watts is not None:
            return power.measured_watts
    return node.power_watts


def task_joules(
    table: NodeTable, cpu_cores: float, run_s: FloatArray
) -> tuple[FloatArray, IntArray]:
    """Joules the task adds on each node (NaN when unknown) and which source gave them."""
    watts, source = busy_watts(table)
    joules: FloatArray = watts * (cpu_cores / table.cores_safe) * run_s
    return joules, source


def plan_joules(
    table: NodeTable, placements: Iterable[tuple[str, float, float]]
) -> tuple[float, int]:
    """Joules a plan adds, from ``(node id, cores, run seconds)`` per task; and how many tasks
    sit on nodes whose power is unknown (left out of the sum)."""
    watts, _ = busy_watts(table)
    total, unknown = 0.0, 0
    for node_id, cpu_cores, run_s in placements:
        i = table.index.get(node_id)
        if i is None or np.isnan(watts[i]):
            unknown += 1
            continue
        total += float(watts[i]) * cpu_cores / float(table.cores_safe[i]) * run_s
    return total, unknown


def describe_source(table: NodeTable, i: int, code: int) -> str:
    """The explanation of node ``i``'s estimate."""
    node = table.nodes[i]
    power = node.power
    if code == _FIT and power is not None:
        return (
            f"fit: {power.slope_watts:.1f} W idle-to-busy over {power.samples} samples of the "
            f"last hour, residual {power.residual_watts or 0.0:.1f} W ({power.source})"
        )
    if code == _MEASURED and power is not None:
        return f"measured: {power.measured_watts:.1f} W ({power.source}), shared per core"
    if code == _LABEL:
        return f"label: rated {node.power_watts:.1f} W, shared per core"
    return "unknown: no power measured or rated"
