"""A Gantt chart of a run: one row per node, one bar per task attempt that finished."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scheduler_api.workflow._session import RunRecord

__all__ = ["write_gantt"]

_BAR_HEIGHT = 0.8


def write_gantt(records: Sequence[RunRecord], path: Path, title: str = "") -> Path:
    """Draw finished tasks by node and time to ``path`` (``.svg`` or ``.png``); return it."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    done = sorted(
        (r for r in records if r.start_s is not None and r.end_s is not None),
        key=lambda r: (r.node_id, r.start_s),
    )
    # One row per busy core of a node: bars that overlap in time go on separate rows.
    lane_ends: dict[str, list[float]] = {}
    row_of: list[str] = []
    for record in done:
        assert record.start_s is not None
        assert record.end_s is not None
        ends = lane_ends.setdefault(record.node_id, [])
        lane = next((i for i, end in enumerate(ends) if end <= record.start_s + 1e-6), len(ends))
        if lane == len(ends):
            ends.append(record.end_s)
        else:
            ends[lane] = record.end_s
        row_of.append(f"{record.node_id} #{lane + 1}")
    rows = sorted(set(row_of))
    row = {name: i for i, name in enumerate(rows)}
    names = sorted({r.name for r in done})
    palette = plt.get_cmap("tab10")
    colour = {name: palette(i % 10) for i, name in enumerate(names)}
    figure, axes = plt.subplots(figsize=(10, 1.2 + 0.4 * max(1, len(rows))))
    for record, row_name in zip(done, row_of, strict=True):
        assert record.start_s is not None
        assert record.end_s is not None
        axes.barh(
            row[row_name],
            max(record.end_s - record.start_s, 1e-3),
            left=record.start_s,
            height=_BAR_HEIGHT,
            color=colour[record.name],
            edgecolor="black",
            linewidth=0.3,
        )
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("seconds since start")
    axes.set_title(title or "schedule")
    handles = [Rectangle((0, 0), 1, 1, color=colour[name]) for name in names]
    if handles:
        axes.legend(handles, names, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
