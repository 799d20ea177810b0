"""Grafana grid placement of a dashboard's rows and panels, shared by the JSON and the preview.

Grafana's grid is 24 columns wide; panels fill a row left to right and wrap::

    for item in layout(spec):
        print(item.title, item.x, item.y, item.w, item.h)
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards._spec import DashboardSpec, Panel, Row

__all__ = ["GRID_COLUMNS", "Placed", "layout"]

GRID_COLUMNS = 24
_ROW_HEIGHT = 1


@dataclass(frozen=True, slots=True)
class Placed:
    """A row header or a panel with its grid position (x, y, width, height in grid units)."""

    item: Row | Panel
    x: int
    y: int
    w: int
    h: int

    @property
    def title(self) -> str:
        return self.item.title


def layout(spec: DashboardSpec) -> list[Placed]:
    """Place every row header and panel of a dashboard on Grafana's grid, top to bottom."""
    placed: list[Placed] = []
    y = 0
    for row in spec.rows:
        placed.append(Placed(row, 0, y, GRID_COLUMNS, _ROW_HEIGHT))
        y += _ROW_HEIGHT
        x = 0
        line_height = 0
        for panel in row.panels:
            width = min(panel.width, GRID_COLUMNS)
            if x + width > GRID_COLUMNS:
                x, y, line_height = 0, y + line_height, 0
            placed.append(Placed(panel, x, y, width, panel.height))
            x += width
            line_height = max(line_height, panel.height)
        y += line_height
    return placed
