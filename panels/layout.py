"""Automatic 24-column grid layout: nobody writes gridPos by hand.

Rules: each row starts on a new line with a 1-high row header (a headerless first row has none: its panels
start at the top). Panels without a width share lines evenly (at most four per line, widths differing by at
most one column, lines balanced); panels flow left to right and wrap when the next one would pass column 24.
A collapsed row holds its panels, and the next row starts right below its header. A line without an explicit
height is 8 high, or 5 when it holds only stat panels.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from panels.spec import GRID_WIDTH, Panel, Row

MAX_PER_LINE = 4
DEFAULT_HEIGHT = 8
STAT_HEIGHT = 5
ROW_HEIGHT = 1


@attrs.frozen
class GridPos:
    """A panel's place on Grafana's grid, in grid units."""

    x: int
    y: int
    w: int
    h: int


@attrs.frozen
class PlacedRow:
    """A row header's position (None for a headerless row, which has none) and its panels with theirs."""

    row: Row
    pos: GridPos | None
    panels: tuple[tuple[Panel, GridPos], ...]


def _balanced_line_sizes(count: int) -> list[int]:
    lines = -(-count // MAX_PER_LINE)
    base, extra = divmod(count, lines)
    return [base + (1 if i < extra else 0) for i in range(lines)]


def _even_widths(per_line: int) -> list[int]:
    base, extra = divmod(GRID_WIDTH, per_line)
    return [base + (1 if i < extra else 0) for i in range(per_line)]


def resolve_widths(panels: Sequence[Panel]) -> list[int]:
    """Return a width for every panel: its own, or an even share of a line for runs without one."""
    widths: list[int] = []
    run: list[Panel] = []

    def flush() -> None:
        for size in _balanced_line_sizes(len(run)) if run else []:
            widths.extend(_even_widths(size))
        run.clear()

    for panel in panels:
        if panel.width is None:
            run.append(panel)
            continue
        flush()
        widths.append(panel.width)
    flush()
    return widths


def _lines(panels: Sequence[Panel], widths: Sequence[int]) -> list[list[int]]:
    lines: list[list[int]] = [[]]
    used = 0
    for index, width in enumerate(widths):
        if used + width > GRID_WIDTH and lines[-1]:
            lines.append([])
            used = 0
        lines[-1].append(index)
        used += width
    return [line for line in lines if line]


def _line_default_height(panels: Sequence[Panel]) -> int:
    return STAT_HEIGHT if all(p.kind == "stat" for p in panels) else DEFAULT_HEIGHT


def place_row(row: Row, top: int) -> tuple[PlacedRow, int]:
    """Return the row placed with its header (if it has one) at `top`, and the first free y below it."""
    widths = resolve_widths(row.panels)
    placed: list[tuple[Panel, GridPos]] = []
    header = 0 if row.headerless else ROW_HEIGHT
    y = top + header
    for line in _lines(row.panels, widths):
        line_panels = [row.panels[i] for i in line]
        default = _line_default_height(line_panels)
        heights = [p.height or default for p in line_panels]
        x = 0
        for index, height in zip(line, heights, strict=True):
            placed.append((row.panels[index], GridPos(x=x, y=y, w=widths[index], h=height)))
            x += widths[index]
        y += max(heights)
    # A collapsed row keeps its panels inside it; the next row starts right under its header.
    next_top = top + header if row.collapsed else y
    pos = None if row.headerless else GridPos(x=0, y=top, w=GRID_WIDTH, h=ROW_HEIGHT)
    return PlacedRow(row, pos, tuple(placed)), next_top


def layout(rows: Sequence[Row]) -> tuple[PlacedRow, ...]:
    """Return every row and panel with a grid position, top to bottom, without overlaps."""
    placed: list[PlacedRow] = []
    y = 0
    for row in rows:
        placed_row, y = place_row(row, y)
        placed.append(placed_row)
    return tuple(placed)
