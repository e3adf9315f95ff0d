"""Table and histogram panels in a preview: instant queries as Grafana's table frames, its `merge`, `organize` and
`filterFieldsByName` transformations, sorting, hidden columns and coloured cells."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import partial
from html import escape
from typing import Any

from dashbuild.preview.colours import threshold_colour
from dashbuild.preview.panel_views import Canvas, View
from dashbuild.preview.series import Series, field_config
from dashbuild.preview.units import format_value, mapped_text

Row = dict[str, Any]


def _frames(series: Sequence[Series]) -> list[tuple[list[str], list[Row]]]:
    """Return one frame per query: its columns (Time, labels, the value) and rows, as Grafana's table format."""
    refs = list(dict.fromkeys(s.ref_id for s in series))
    frames = []
    for ref in refs:
        members = [s for s in series if s.ref_id == ref]
        value_name = "Value" if len(refs) == 1 else f"Value #{ref}"
        labels = sorted({k for s in members for k, _ in s.labels if k != "__name__"})
        rows = []
        for one in members:
            time_value = one.points[-1] if one.points else (math.nan, math.nan)
            row: Row = {"Time": time_value[0], **{k: one.label_map.get(k, "") for k in labels}}
            row[value_name] = time_value[1]
            rows.append(row)
        frames.append((["Time", *labels, value_name], rows))
    return frames


def _labels_of(row: Row) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "Time" and not k.startswith("Value")}


def _merge(frames: list[tuple[list[str], list[Row]]]) -> tuple[list[str], list[Row]]:
    """Join the frames' rows as Grafana's `merge` does: a row joins an earlier one whose values agree on every
    label column the two share (a label only one query has, like a copied `dashboard`, does not split them)."""
    columns: list[str] = []
    for names, _ in frames:
        columns.extend(name for name in names if name not in columns)
    merged: list[Row] = []
    for _, rows in frames:
        for row in rows:
            labels = _labels_of(row)
            match = next((earlier for earlier in merged
                          if (shared := labels.keys() & _labels_of(earlier).keys())
                          and all(str(earlier[k]) == str(labels[k]) for k in shared)), None)
            if match is None:
                merged.append(dict(row))
            else:
                match.update(row)
    return columns, merged


def _transformed(panel: Mapping[str, Any], series: Sequence[Series]) -> tuple[list[str], list[Row]]:
    frames = _frames(series)
    transformations = panel.get("transformations", [])
    if any(t.get("id") == "merge" for t in transformations) or len(frames) == 1:
        columns, rows = _merge(frames) if frames else ([], [])
    else:
        columns, rows = frames[0] if frames else ([], [])
    for transformation in transformations:
        options = transformation.get("options", {})
        if transformation.get("id") == "organize":
            excluded = {k for k, v in options.get("excludeByName", {}).items() if v}
            rename = options.get("renameByName", {})
            index = options.get("indexByName", {})
            kept = sorted((c for c in columns if c not in excluded),
                          key=lambda c: (index.get(c, len(index) + columns.index(c)), columns.index(c)))
            columns = [rename.get(c) or c for c in kept]
            rows = [{rename.get(k) or k: v for k, v in row.items() if k not in excluded} for row in rows]
        elif transformation.get("id") == "filterFieldsByName":
            include = options.get("include", {})
            names, pattern = set(include.get("names", [])), include.get("pattern")
            columns = [c for c in columns if c in names or (pattern and re.fullmatch(pattern, c))]
    return columns, rows


def _column_config(panel: Mapping[str, Any], column: str) -> dict[str, Any]:
    return field_config(panel, Series(column, (), "", ()))


def _cell(value: Any, config: Mapping[str, Any]) -> tuple[str, str]:
    """Return a cell's text and inline style (coloured cells by threshold or mapping)."""
    if isinstance(value, str):
        return escape(value), ""
    number = float(value) if isinstance(value, int | float) else None
    mapped = mapped_text(number, config.get("mappings", []))
    decimals = config.get("decimals")
    text = mapped[0] if mapped else format_value(number, config.get("unit"), decimals if isinstance(decimals, int)
                                                 else None) if number is not None else ""
    cell_type = (config.get("custom", {}).get("cellOptions") or {}).get("type")
    colour = mapped[1] if mapped and mapped[1] else None
    colour = threshold_colour(None, {"thresholds": {"steps": [{"color": colour}]}}) if colour else \
        threshold_colour(number, config)
    if cell_type == "color-background":
        return escape(text), f"background:{colour};color:#FFFFFF"
    if cell_type == "color-text":
        return escape(text), f"color:{colour}"
    return escape(text), ""


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not math.isnan(value):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _cell_sort_key(row: Row, column: str) -> tuple[int, float, str]:
    return _sort_key(row.get(column))


def table_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a table panel: the transformed frame, sorted as the panel says, hidden columns left out."""
    columns, rows = _transformed(panel, series)
    configs = {c: _column_config(panel, c) for c in columns}
    shown = [c for c in columns if not configs[c].get("custom", {}).get("hidden") and c != "Time"]
    for order in reversed(panel.get("options", {}).get("sortBy", [])):
        name = order.get("displayName")
        if name in columns:
            rows.sort(key=partial(_cell_sort_key, column=str(name)), reverse=bool(order.get("desc")))
    head = "".join(f"<th>{escape(c)}</th>" for c in shown)
    body = []
    for row in rows:
        cells = []
        for column in shown:
            text, style = _cell(row.get(column, ""), configs[column])
            cells.append(f'<td style="{style}">{text}</td>' if style else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return View(f'<div class="table" style="max-height:{canvas.height:.0f}px"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table></div>", len(rows))


def histogram_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a histogram panel: how many of the series' values fall in each of ten equal buckets."""
    values = [v for s in series for v in s.values if math.isfinite(v)]
    if not values:
        return View("", 0)
    low, high = min(values), max(values)
    width = (high - low) / 10 or 1.0
    counts = [0] * 10
    for value in values:
        counts[min(int((value - low) / width), 9)] += 1
    peak = max(counts)
    unit = field_config(panel).get("unit")
    bars = "".join(f'<div class="hist" style="height:{count / peak * 100:.1f}%" '
                   f'title="{escape(format_value(low + i * width, unit))}: {count}"></div>'
                   for i, count in enumerate(counts))
    return View(f'<div class="hists" style="height:{canvas.height - 6:.0f}px">{bars}</div>',
                sum(1 for c in counts if c))
