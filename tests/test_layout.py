"""The automatic grid layout."""

from __future__ import annotations

import pytest

from panels import Panel, Row, Target
from panels.layout import GridPos, layout, resolve_widths


def panel(title: str, kind: str = "timeseries", width: int | None = None, height: int | None = None) -> Panel:
    """Return a minimal panel for layout tests."""
    return Panel(kind, title, "d", "short", (Target("up"),), width=width, height=height)  # type: ignore[arg-type]


@pytest.mark.parametrize(("count", "widths"), [
    (1, [24]), (2, [12, 12]), (3, [8, 8, 8]), (4, [6, 6, 6, 6]), (5, [8, 8, 8, 12, 12]),
    (7, [6, 6, 6, 6, 8, 8, 8]), (8, [6] * 8),
])
def test_unsized_panels_share_balanced_lines(count: int, widths: list[int]) -> None:
    assert resolve_widths([panel(str(i)) for i in range(count)]) == widths


def test_explicit_widths_are_kept_and_wrap() -> None:
    (row,) = layout([Row("r", (panel("a", width=16), panel("b", width=12), panel("c", width=8)))])
    assert [(p.title, pos.x, pos.y, pos.w) for p, pos in row.panels] == [("a", 0, 1, 16), ("b", 0, 9, 12),
                                                                         ("c", 12, 9, 8)]


def test_rows_stack_and_line_height_is_the_tallest() -> None:
    first, second = layout([
        Row("one", (panel("a", height=4), panel("b", height=10))),
        Row("two", (panel("c", kind="stat"), panel("d", kind="stat"))),
    ])
    assert (first.pos, second.pos) == (GridPos(x=0, y=0, w=24, h=1), GridPos(x=0, y=11, w=24, h=1))
    assert [pos.h for _, pos in second.panels] == [5, 5]  # a line of stats only is 5 high
    assert [pos.y for _, pos in second.panels] == [12, 12]


def test_collapsed_row_keeps_next_row_right_below() -> None:
    collapsed, after = layout([Row("hidden", (panel("a"), panel("b")), collapsed=True), Row("next", (panel("c"),))])
    assert [pos.y for _, pos in collapsed.panels] == [1, 1]
    assert after.pos == GridPos(x=0, y=1, w=24, h=1)


def test_width_over_24_is_refused() -> None:
    with pytest.raises(ValueError, match=r"width must be 1\.\.24"):
        panel("wide", width=25)
