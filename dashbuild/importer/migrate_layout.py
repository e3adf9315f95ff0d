"""Layout: legacy `rows[]` to the 24-column grid (schema 16), unique panel ids, Grafana's panel order.

The grid conversion places panels the way Grafana's `upgradeToGridLayout` does: a span of the 12-column
layout is two grid columns, a height in pixels is `ceil(px / 38)` grid units (30 px cells plus 8 px
margins, at least 90 px), and panels fill each row left to right, wrapping to a new line when the
remaining columns are too narrow.
"""

from __future__ import annotations

import math
from typing import Any

from dashbuild.importer.migrate_common import Json, Notes, arr, number, obj, walk_panels

COLUMNS = 24
CELL_HEIGHT = 30
CELL_MARGIN = 8
MIN_PANEL_HEIGHT = CELL_HEIGHT * 3
DEFAULT_ROW_HEIGHT = 250
DEFAULT_SPAN = 4
DEFAULT_GRID_POS = {"x": 0, "y": 0, "w": 6, "h": 3}  # what Grafana's PanelModel gives a panel without one


def grid_height(height: Any) -> int | None:
    """Return a legacy height (`250`, `"250px"`) in grid units, None when it is no height at all."""
    pixels = number(height.strip().removesuffix("px")) if isinstance(height, str) else number(height)
    if pixels is None:
        return None
    return math.ceil(max(pixels, MIN_PANEL_HEIGHT) / (CELL_HEIGHT + CELL_MARGIN))


class _RowArea:
    """The columns of one legacy row, each holding how far down it is filled (Grafana's RowArea)."""

    def __init__(self, height: int, y: int) -> None:
        self.filled = [0] * COLUMNS
        self.height = height
        self.y = y

    def _free_run(self) -> tuple[int | None, int | None]:
        # The run of columns, scanning from the right, that still has room and does not step down.
        start: int | None = None
        end: int | None = None
        for column in range(COLUMNS - 1, -1, -1):
            if self.height - self.filled[column] <= 0:
                break
            if end is None:
                end = column
            elif self.filled[column] <= self.filled[column + 1]:
                start = column
            else:
                break
        return start, end

    def place(self, width: int) -> tuple[int, int]:
        """Return (x, y offset in the current line) for a panel `width` columns wide, wrapping once."""
        for attempt in range(2):
            start, end = self._free_run()
            if start is not None and end is not None and end - start >= width - 1:
                return start, max(self.filled[start:])
            if attempt == 0:
                self.y += self.height
                self.filled = [0] * COLUMNS
        return 0, 0  # only a panel wider than the grid gets here; its width is capped before

    def add(self, x: int, y: int, w: int, h: int) -> None:
        """Mark the columns a placed panel covers."""
        for column in range(x, min(x + w, COLUMNS)):
            self.filled[column] = max(self.filled[column], y + h - self.y)


def rows_to_grid(dashboard: Json, notes: Notes) -> list[Json]:
    """Return the flat `panels` list (with row panels) that Grafana builds from a legacy `rows` list."""
    rows = [row for row in arr(dashboard.get("rows")) if isinstance(row, dict)]
    ids = [p["id"] for row in rows for p in arr(row.get("panels")) if isinstance(p, dict)
           and isinstance(p.get("id"), int) and not isinstance(p.get("id"), bool)]
    next_row_id = max(ids, default=0) + 1
    # Row panels only exist when at least one row shows its title, collapses or repeats.
    show_rows = any(row.get("collapse") or row.get("showTitle") or row.get("repeat") for row in rows)
    panels: list[Json] = []
    y = 0
    for row in rows:
        if row.get("repeatIteration"):
            continue  # a copy Grafana made when repeating a row; it makes it again
        row_height = grid_height(row.get("height") or DEFAULT_ROW_HEIGHT)
        if row_height is None:
            notes.add(None, f"row {row.get('title')!r} has height {row.get('height')!r}, not a height; "
                            f"{DEFAULT_ROW_HEIGHT}px used")
            row_height = grid_height(DEFAULT_ROW_HEIGHT) or 1
        row_panel: Json | None = None
        if show_rows:
            row_panel = {"id": next_row_id, "type": "row", "title": row.get("title") or "",
                         "collapsed": bool(row.get("collapse")), "panels": [],
                         # Grafana gives the row panel the row's height; a row header is 1 unit tall.
                         "gridPos": {"x": 0, "y": y, "w": COLUMNS, "h": 1}}
            if row.get("repeat"):
                row_panel["repeat"] = row["repeat"]
            next_row_id += 1
            y += 1
        area = _RowArea(row_height, y)
        for panel in arr(row.get("panels")):
            if not isinstance(panel, dict):
                continue
            span = number(panel.pop("span", None)) or DEFAULT_SPAN
            width = min(COLUMNS, math.floor(span) * 2) or 2
            height = grid_height(panel.pop("height")) if panel.get("height") else None
            height = height or row_height
            min_span = number(panel.get("minSpan"))
            if min_span:
                panel["minSpan"] = min(COLUMNS, min_span * 2)
            x, offset = area.place(width)
            y = area.y
            panel["gridPos"] = {"x": x, "y": y + offset, "w": width, "h": height}
            area.add(x, y + offset, width, height)
            if row_panel is not None and row_panel["collapsed"]:
                row_panel["panels"].append(panel)
            else:
                panels.append(panel)
        if row_panel is not None:
            panels.append(row_panel)
        if row_panel is None or not row_panel["collapsed"]:
            y += row_height
    return panels


def _position(panel: Json) -> tuple[float, float]:
    grid = obj(panel.get("gridPos"))
    return number(grid.get("y")) or 0, number(grid.get("x")) or 0


def assign_ids(panels: list[Json], notes: Notes) -> None:
    """Give every panel (row children included) a unique integer id, keeping the ids that already are."""
    seen: set[int] = set()
    all_panels = list(walk_panels(panels))
    valid = [p["id"] for p in all_panels if isinstance(p.get("id"), int) and not isinstance(p.get("id"), bool)]
    next_id = max(valid, default=0) + 1
    for panel in all_panels:
        current = panel.get("id")
        if isinstance(current, int) and not isinstance(current, bool) and current not in seen:
            seen.add(current)
            continue
        if current is not None:
            notes.add(panel, f"id {current!r} is not a unique panel id; given id {next_id}")
        panel["id"] = next_id
        seen.add(next_id)
        next_id += 1


def finish_layout(panels: list[Json], notes: Notes) -> list[Json]:
    """Give every panel a gridPos and rows their defaults, and sort panels by position as Grafana does.

    Row membership follows from that order: a panel belongs to the last row panel above it.
    """
    for panel in walk_panels(panels):
        if not isinstance(panel.get("gridPos"), dict):
            panel["gridPos"] = dict(DEFAULT_GRID_POS)
            notes.add(panel, f"no gridPos; Grafana's default {DEFAULT_GRID_POS} given")
        if panel.get("type") == "row":
            # A row header always spans the grid, whatever width was saved.
            panel["gridPos"].update({"x": 0, "w": COLUMNS})
            panel.setdefault("collapsed", False)
            if not isinstance(panel.get("panels"), list):
                panel["panels"] = []
            panel["panels"].sort(key=_position)
    return sorted(panels, key=_position)
