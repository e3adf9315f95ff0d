"""One dashboard as a static, self-contained HTML page: Grafana's 24-column grid, rows (collapsed ones shown
collapsed, opened by a click, with no script), panels with titles, descriptions, units, thresholds colours and
legends, and each panel's data drawn as SVG written here. Nothing is fetched when the page opens."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import attrs

from dashbuild.preview.data import PanelData, panel_key
from dashbuild.preview.panel_views import VIEWS, Canvas, View
from dashbuild.preview.table_view import histogram_view, table_view

# Grafana's grid: 24 columns, rows of 30 px, 8 px between panels; a 1,576 px wide grid makes each column 58 px.
COLUMNS = 24
ROW_PX = 30
GAP_PX = 8
COLUMN_PX = 58
GRID_WIDTH = COLUMNS * COLUMN_PX + (COLUMNS - 1) * GAP_PX
PAGE_PADDING = 12
PAGE_WIDTH = GRID_WIDTH + 2 * PAGE_PADDING
HEADER_PX = 30
BODY_PADDING = 8
PANEL_BORDER = "#3D434D"
ALL_VIEWS = {**VIEWS, "table": table_view, "histogram": histogram_view}

STYLE = f"""
*{{box-sizing:border-box}}
body{{margin:0;background:#111217;color:#CCCCDC;font:13px Inter,Helvetica,Arial,sans-serif}}
.page{{width:{PAGE_WIDTH}px;padding:{PAGE_PADDING}px}}
.top{{display:flex;justify-content:space-between;align-items:baseline;margin-bottom:12px;gap:16px}}
.top h1{{font-size:20px;font-weight:500;margin:0}}
.top .meta{{color:#8E8E8E;font-size:12px;text-align:right}}
.grid{{width:{GRID_WIDTH}px}}
.block{{position:relative;width:{GRID_WIDTH}px}}
details.row>summary{{list-style:none;cursor:pointer;height:{ROW_PX}px;margin-bottom:{GAP_PX}px;display:flex;
align-items:center;gap:8px;font-size:15px;font-weight:500;border-bottom:1px solid #22252B}}
details.row>summary::-webkit-details-marker{{display:none}}
details.row>summary::before{{content:"\\25B8";color:#8E8E8E;width:12px}}
details.row[open]>summary::before{{content:"\\25BE"}}
details.row>summary .count{{color:#8E8E8E;font-size:12px;font-weight:400}}
.panel{{position:absolute;background:#181B1F;border:1px solid {PANEL_BORDER};border-radius:2px;overflow:hidden}}
.panel.changed{{outline:3px solid #FF9830;outline-offset:-1px}}
.panel.added{{outline:3px solid #73BF69;outline-offset:-1px}}
.panel.removed{{outline:3px solid #F2495C;outline-offset:-1px;opacity:.75}}
.panel>header{{height:{HEADER_PX}px;padding:0 8px;display:flex;align-items:center;gap:6px}}
.panel>header h3{{margin:0;font-size:13px;font-weight:500;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
.panel>header .info{{color:#8E8E8E;font-size:9px;font-weight:600;cursor:help;border:1px solid #8E8E8E;
border-radius:50%;width:12px;height:12px;line-height:10px;text-align:center;flex:none}}
.panel>header .error{{color:#F2495C;font-size:11px;margin-left:auto;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis;max-width:60%}}
.body{{position:absolute;left:{BODY_PADDING}px;top:{HEADER_PX}px;right:{BODY_PADDING}px;bottom:{BODY_PADDING}px}}
.nodata{{display:flex;height:100%;align-items:center;justify-content:center;color:#8E8E8E}}
.legend{{display:flex;flex-wrap:wrap;gap:2px 14px;overflow:hidden;font-size:12px;padding-top:4px}}
.legend .item{{white-space:nowrap}}
.legend i{{display:inline-block;width:14px;height:4px;margin-right:6px;vertical-align:middle;border-radius:2px}}
.legend.side{{flex-direction:column;flex-wrap:nowrap;overflow:auto;padding-left:12px}}
.stats{{display:flex;flex-wrap:wrap;height:100%;align-items:stretch}}
.stat{{position:relative;display:flex;flex-direction:column;align-items:center;justify-content:center;
border-radius:2px;overflow:hidden}}
.stat .spark{{position:absolute;left:0;bottom:0}}
.stat-value{{position:relative;font-weight:500;line-height:1.1}}
.stat-name{{position:relative;font-size:12px;color:inherit;opacity:.85;max-width:100%;padding:0 4px;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
.gauge{{display:flex;flex-direction:column;align-items:center;flex:1}}
.pie{{display:flex;height:100%;align-items:center}}
.bars{{display:flex;flex-direction:column;gap:4px}}
.bar{{display:flex;align-items:center;gap:8px}}
.bar-name{{width:25%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}
.bar-track{{flex:1;height:70%;background:#22252B}}
.bar-track span{{display:block;height:100%}}
.table{{overflow:auto;height:100%}}
table{{border-collapse:collapse;width:100%;font-size:12px}}
th{{text-align:left;color:#6E9FFF;font-weight:500;border-bottom:1px solid #2C3235;padding:4px 6px;position:sticky;
top:0;background:#181B1F}}
td{{border-bottom:1px solid #22252B;padding:3px 6px;white-space:nowrap}}
.hists{{display:flex;align-items:flex-end;gap:2px}}
.hist{{flex:1;background:#73BF69}}
.text p{{margin:0 0 8px}}
"""


@attrs.frozen
class PageInfo:
    """What the page header says: where the data came from and the time range shown."""

    source: str
    start: float
    end: float
    note: str = ""


def _pixels(grid: Mapping[str, Any], row_y: int) -> tuple[int, int, int, int]:
    """Return a panel's left, top, width, height in pixels within its block (whose first grid row is `row_y`)."""
    x, y = int(grid.get("x", 0)), int(grid.get("y", 0)) - row_y
    w, h = int(grid.get("w", 12)), int(grid.get("h", 8))
    return x * (COLUMN_PX + GAP_PX), y * (ROW_PX + GAP_PX), w * (COLUMN_PX + GAP_PX) - GAP_PX, \
        h * (ROW_PX + GAP_PX) - GAP_PX


NO_DATA = View('<div class="nodata">No data</div>', 0)


def panel_html(panel: Mapping[str, Any], key: str, data: PanelData, row_y: int, info: PageInfo,
               mark: str = "") -> str:
    """Return one panel, placed on the grid, with its body drawn from `data`."""
    left, top, width, height = _pixels(panel.get("gridPos", {}), row_y)
    kind = str(panel.get("type", ""))
    canvas = Canvas(float(width - 2 * BODY_PADDING - 2), float(height - HEADER_PX - BODY_PADDING - 2), info.start,
                    info.end)
    drawn = [s for s in data.series if s.points]
    view_of = ALL_VIEWS.get(kind)
    if view_of is None:
        view = View(f'<div class="nodata">the preview does not draw {escape(kind)!s} panels</div>', 0)
    elif kind != "text" and not drawn:
        view = NO_DATA
    else:
        view = view_of(panel, drawn, canvas)
    title = escape(str(panel.get("title", "")))
    description = str(panel.get("description") or "")
    info_mark = f'<span class="info" title="{escape(description)}">i</span>' if description else ""
    error = f'<span class="error" title="{escape("; ".join(data.errors))}">{escape(data.errors[0])}</span>' \
        if data.errors else ""
    classes = f"panel {mark}".strip()
    return (f'<section class="{classes}" id="panel-{escape(key)}" data-panel-id="{escape(key)}" '
            f'data-type="{escape(kind)}" data-series="{len(drawn)}" data-marks="{view.marks}" '
            f'data-errors="{len(data.errors)}" data-grid="{_grid_attr(panel)}" '
            f'style="left:{left}px;top:{top}px;width:{width}px;height:{height}px">'
            f'<header><h3 title="{title}">{title}</h3>{info_mark}{error}</header>'
            f'<div class="body">{view.html}</div></section>')


def _grid_attr(panel: Mapping[str, Any]) -> str:
    grid = panel.get("gridPos", {})
    return ",".join(str(int(grid.get(k, 0))) for k in ("x", "y", "w", "h"))


def _block(panels: Sequence[tuple[Mapping[str, Any], str]], data: Mapping[str, PanelData], row_y: int,
           units: int, info: PageInfo, marks: Mapping[str, str]) -> str:
    inner = "".join(panel_html(panel, key, data.get(key, PanelData()), row_y, info, marks.get(key, ""))
                    for panel, key in panels)
    return f'<div class="block" style="height:{units * (ROW_PX + GAP_PX)}px">{inner}</div>'


def _bottom(panels: Sequence[tuple[Mapping[str, Any], str]]) -> int:
    return max((int(p.get("gridPos", {}).get("y", 0)) + int(p.get("gridPos", {}).get("h", 0)) for p, _ in panels),
               default=0)


def grid_html(dashboard: Mapping[str, Any], data: Mapping[str, PanelData], info: PageInfo,
              marks: Mapping[str, str] | None = None) -> str:
    """Return the dashboard's grid: blocks of panels between rows, each row a <details> (open unless collapsed).

    Block heights follow the JSON's grid rows, so every panel of an open row sits exactly where Grafana puts it.
    `marks` gives a panel key an extra class (changed, added, removed) for a review page.
    """
    marks = marks or {}
    sections: list[tuple[Mapping[str, Any] | None, list[tuple[Mapping[str, Any], str]]]] = [(None, [])]
    index = 0
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            children = []
            for child in panel.get("panels", []) or []:
                children.append((child, panel_key(child, index)))
                index += 1
            sections.append((panel, children))
            continue
        sections[-1][1].append((panel, panel_key(panel, index)))
        index += 1
    parts = []
    for number, (row, panels) in enumerate(sections):
        following = next((r for r, _ in sections[number + 1:] if r is not None), None)
        if row is None:
            start = 0
            end = int(following.get("gridPos", {}).get("y", 0)) if following is not None else _bottom(panels)
            if panels or end:
                parts.append(_block(panels, data, start, max(end, _bottom(panels)), info, marks))
            continue
        row_y = int(row.get("gridPos", {}).get("y", 0)) + 1
        collapsed = bool(row.get("collapsed"))
        if collapsed:
            units = _bottom(panels) - row_y
        else:
            units = (int(following.get("gridPos", {}).get("y", 0)) if following is not None else _bottom(panels)) \
                - row_y
        title = escape(str(row.get("title", "")))
        count = f'<span class="count">({len(panels)} panel{"" if len(panels) == 1 else "s"})</span>' if collapsed \
            else ""
        parts.append(f'<details class="row"{"" if collapsed else " open"} data-row="{title}"><summary>{title}{count}'
                     f'</summary>{_block(panels, data, row_y, max(units, 0), info, marks)}</details>')
    return f'<div class="grid">{"".join(parts)}</div>'


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def page_html(dashboard: Mapping[str, Any], data: Mapping[str, PanelData], info: PageInfo) -> str:
    """Return the whole page of one dashboard."""
    title = escape(str(dashboard.get("title", "")))
    meta = (f"{escape(info.source)} · {_when(info.start)} to {_when(info.end)}"
            + (f"<br>{escape(info.note)}" if info.note else ""))
    return document(title, f'<div class="top"><h1>{title}</h1><div class="meta">{meta}</div></div>'
                           f"{grid_html(dashboard, data, info)}")


def document(title: str, body: str, extra_style: str = "") -> str:
    """Return a complete HTML document with the preview's styles inlined."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width={PAGE_WIDTH}"><style>{STYLE}{extra_style}</style></head>'
            f'<body><div class="page">{body}</div></body></html>\n')
