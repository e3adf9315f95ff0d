"""`python build.py diff --html DIR`: for each dashboard a change touches, its page before and after side by side,
the panels that were added, removed or changed outlined (the same pairing of panels as the text diff)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from dashbuild.diff_dashboard import panel_marks
from dashbuild.preview.data import PanelData, dashboard_data
from dashbuild.preview.page import GRID_WIDTH, PageInfo, document, grid_html
from dashbuild.preview.pages import INDEX, DataSource, generated_dashboards
from dashbuild.verify_plan import dashboard_range

SIDES_GAP = 16
SIDE_WIDTH = (GRID_WIDTH - SIDES_GAP) // 2
# Each side's grid drawn at this scale, so that both fit the page's width.
SCALE = SIDE_WIDTH / GRID_WIDTH
REVIEW_STYLE = f"""
.sides{{display:flex;gap:{SIDES_GAP}px;align-items:flex-start}}
.side{{width:{SIDE_WIDTH}px}}
.side h2{{font-size:14px;font-weight:500;margin:0 0 6px}}
.side .scaled{{zoom:{SCALE:.6f}}}
.side .gone{{color:#8E8E8E;padding:24px 0}}
.key span{{display:inline-block;padding:1px 8px;margin-left:8px;border:2px solid}}
"""
KEY = ('<div class="key">outlined: <span style="border-color:#73BF69">added</span>'
       '<span style="border-color:#FF9830">changed</span><span style="border-color:#F2495C">removed</span></div>')


def _side(label: str, dashboard: dict[str, Any] | None, data: Mapping[str, PanelData], info: PageInfo,
          marks: Mapping[int, str]) -> str:
    if dashboard is None:
        return f'<div class="side"><h2>{escape(label)}</h2><div class="gone">no such dashboard</div></div>'
    keyed = {str(panel_id): kind for panel_id, kind in marks.items()}
    return (f'<div class="side"><h2>{escape(label)}: {escape(str(dashboard.get("title", "")))}</h2>'
            f'<div class="scaled">{grid_html(dashboard, data, info, keyed)}</div></div>')


def review_pages(before: Mapping[str, bytes], after: Mapping[str, bytes], base: str, source: DataSource,
                 end: float, range_seconds: float | None = None) -> dict[str, bytes]:
    """Return a side-by-side page per dashboard whose JSON differs between the two builds' files, and an index
    (empty of pages when none changed)."""
    old_pages, new_pages = dict(generated_dashboards(before)), dict(generated_dashboards(after))
    pages: dict[str, bytes] = {}
    rows = []
    for name in sorted(old_pages.keys() | new_pages.keys()):
        old, new = old_pages.get(name), new_pages.get(name)
        if old == new:
            continue
        old_marks, new_marks = panel_marks(old or {}, new or {})
        shown = new or old or {}
        seconds = range_seconds or dashboard_range(shown)
        info = PageInfo(source.label, end - seconds, end, source.note)
        sides = []
        for label, dashboard, marks in ((f"before ({base})", old, old_marks), ("after (this tree)", new, new_marks)):
            data = dashboard_data(source.client, dashboard, end, seconds) if dashboard is not None else {}
            sides.append(_side(label, dashboard, data, info, marks))
        state = "added" if old is None else "removed" if new is None else "changed"
        # A changed panel is marked on both sides: count it once, from the side it is on now.
        counts = ", ".join(f"{sum(1 for k in (old_marks if kind == 'removed' else new_marks).values() if k == kind)} "
                           f"{kind}" for kind in ("added", "changed", "removed"))
        title = escape(str(shown.get("title", name)))
        pages[name] = document(f"{title}: before and after",
                               f'<div class="top"><h1>{title} ({state})</h1><div class="meta">{escape(source.label)}'
                               f"<br>panels: {counts}</div></div>{KEY}<div class=\"sides\">{''.join(sides)}</div>",
                               REVIEW_STYLE).encode()
        rows.append(f'<li><a href="{escape(name)}">{title}</a>: {state}; panels {counts}</li>')
    listing = f"<ul>{''.join(rows)}</ul>" if rows else "<p>No dashboard changed.</p>"
    pages[INDEX] = document("Dashboard changes", f'<div class="top"><h1>Dashboard changes against '
                                                 f'{escape(base)}</h1></div>{listing}', REVIEW_STYLE).encode()
    return pages
