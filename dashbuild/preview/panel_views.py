"""The body of one panel in a preview, by panel type: what Grafana would draw there, from the panel's JSON and
its series."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import attrs

from dashbuild.preview import charts
from dashbuild.preview.colours import (
    field_colour,
    series_colour,
    step_bounds,
    threshold_colour,
    threshold_steps,
    uses_thresholds,
)
from dashbuild.preview.series import Series, field_config, reduce, reduced
from dashbuild.preview.units import format_value, mapped_text

LEGEND_LINE = 18.0


@attrs.frozen
class View:
    """A panel body's markup and how many marks it drew."""

    html: str
    marks: int


@attrs.frozen
class Canvas:
    """Where a panel body is drawn: its size in pixels and the time range shown."""

    width: float
    height: float
    start: float
    end: float


def _formatter(field: Mapping[str, Any]) -> Callable[[float], str]:
    unit, decimals = field.get("unit"), field.get("decimals")
    return lambda value: format_value(value, unit, decimals if isinstance(decimals, int) else None)


def _shown(value: float | None, field: Mapping[str, Any]) -> tuple[str, str | None]:
    """Return the text of a value (mapped, else formatted) and the colour its mapping gives, if any."""
    mapped = mapped_text(value, field.get("mappings", []))
    if mapped is not None:
        return mapped[0], mapped[1]
    decimals = field.get("decimals")
    return format_value(value, field.get("unit"), decimals if isinstance(decimals, int) else None), None


def _limits(field: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low, high = field.get("min"), field.get("max")
    return (float(low) if isinstance(low, int | float) else None,
            float(high) if isinstance(high, int | float) else None)


def _series_colour(series: Series, index: int, panel: Mapping[str, Any]) -> str:
    field = field_config(panel, series)
    fixed = field_colour(field, index)
    if fixed is not None:
        return fixed
    if uses_thresholds(field):
        value = reduced(series, panel)
        return threshold_colour(value, field)
    return series_colour(index)


def _legend(entries: Sequence[tuple[str, str, str]], width: float) -> tuple[str, float]:
    """Return the legend markup (name, colour, value text) and the height it takes, wrapped to `width`."""
    if not entries:
        return "", 0.0
    lines, used = 1, 0.0
    for name, _, value in entries:
        size = 7.0 * (len(name) + len(value)) + 34
        if used and used + size > width:
            lines += 1
            used = 0.0
        used += size
    items = "".join(f'<span class="item"><i style="background:{colour}"></i>{escape(name)}'
                    f'{f" <b>{escape(value)}</b>" if value else ""}</span>' for name, colour, value in entries)
    height = min(lines, 4) * LEGEND_LINE + 4
    return f'<div class="legend" style="max-height:{height:.0f}px">{items}</div>', height


def _legend_value(series: Series, panel: Mapping[str, Any], fmt: Callable[[float], str]) -> str:
    calcs = panel.get("options", {}).get("legend", {}).get("calcs") or []
    texts = []
    for calc in calcs:
        value = reduce(series.values, str(calc))
        texts.append(f"{calc}: {fmt(value) if value is not None else '-'}")
    return "  ".join(texts)


def time_series_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a time series panel: lines (or bars/area/stack as its custom config says), thresholds, a legend."""
    defaults = field_config(panel)
    custom = defaults.get("custom", {})
    fmt = _formatter(defaults)
    legend_options = panel.get("options", {}).get("legend", {})
    show_legend = legend_options.get("showLegend", True) and legend_options.get("displayMode") != "hidden"
    colours = [_series_colour(s, i, panel) for i, s in enumerate(series)]
    entries = [(s.name, c, _legend_value(s, panel, fmt)) for s, c in zip(series, colours, strict=True)]
    legend, legend_height = _legend(entries, canvas.width) if show_legend else ("", 0.0)
    lines = []
    for one, colour in zip(series, colours, strict=True):
        config = field_config(panel, one).get("custom", {})
        lines.append(charts.Line(one.points, colour, float(config.get("fillOpacity", 0) or 0) / 100,
                                 float(config.get("lineWidth", 1) or 1), config.get("drawStyle") == "bars"))
    stacked = (custom.get("stacking") or {}).get("mode") in ("normal", "percent")
    mode = (custom.get("thresholdsStyle") or {}).get("mode", "off")
    bounds = [(lower, colour) for lower, colour in step_bounds(threshold_steps(defaults))[1:]] \
        if mode not in ("off", None) else []
    low, high = _limits(defaults)
    drawing = charts.time_series(lines, canvas.width, max(canvas.height - legend_height, 40.0), canvas.start,
                                 canvas.end, fmt, low, high, stacked, bounds, str(custom.get("axisLabel") or ""))
    return View(drawing.svg + legend, drawing.marks)


def _stat_grid(count: int, width: float, height: float, longest: int, name: int) -> tuple[int, float]:
    """Return how many values to put side by side, and the value's font size: the layout with the largest text,
    as Grafana's auto layout keeps values readable; a layout that cuts the names (`name` characters long at most)
    counts as a fifth smaller."""
    best, best_score = (1, 9.0), 0.0
    for across in range(1, count + 1):
        rows = math.ceil(count / across)
        cell_w, cell_h = width / across, height / rows
        size = min(cell_h * 0.42, (cell_w - 8) / (max(longest, 3) * 0.62), 56.0)
        score = size * (0.8 if name and 7.0 * name + 8 > cell_w else 1.0)
        if score > best_score + 0.01:
            best, best_score = (across, max(size, 9.0)), score
    return best


def stat_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a stat panel: each series' reduced value in its threshold colour, a sparkline under it."""
    options = panel.get("options", {})
    colour_mode, graph_mode = options.get("colorMode", "value"), options.get("graphMode", "area")
    text_mode = options.get("textMode", "auto")
    shown = []
    for index, one in enumerate(series):
        field = field_config(panel, one)
        value = reduced(one, panel)
        text, mapped_colour = _shown(value, field)
        low, high = _limits(field)
        colour = threshold_colour(value, field, low or 0.0, high if high is not None else 100.0)
        if mapped_colour:
            colour = threshold_colour(None, {"thresholds": {"steps": [{"color": mapped_colour}]}})
        fixed = field_colour(field, index)
        if fixed is not None and not uses_thresholds(field):
            colour = fixed
        shown.append((one, value, text, colour))
    count = max(len(series), 1)
    with_names = text_mode in ("name", "value_and_name") or (text_mode == "auto" and len(series) > 1)
    longest_name = max((len(one.name) for one in series), default=0) if with_names else 0
    across, size = _stat_grid(count, canvas.width, canvas.height, max((len(t) for _, _, t, _ in shown), default=3),
                              longest_name)
    rows = math.ceil(count / across)
    cell_w, cell_h = canvas.width / across, canvas.height / rows
    cells, marks = [], 0
    for one, value, text, colour in shown:
        marks += 1 if value is not None else 0
        name = f'<div class="stat-name">{escape(one.name)}</div>' if with_names else ""
        spark = charts.sparkline(one.points, cell_w, cell_h * 0.45, "#CCCCDC" if colour_mode == "background" else
                                 colour) if graph_mode == "area" and not one.instant else charts.Drawing("", 0)
        style = f"background:{colour};color:#FFFFFF" if colour_mode == "background" else f"color:{colour}"
        # Shares of the body, not pixels: a scaled page (a review's side) must not round a row into a wrap.
        cells.append(f'<div class="stat" style="width:{100 / across:.4f}%;height:{100 / rows:.4f}%;{style}">'
                     f'{spark.svg}{name}<div class="stat-value" style="font-size:{size:.0f}px">{escape(text)}</div>'
                     "</div>")
    return View(f'<div class="stats">{"".join(cells)}</div>', marks)


def gauge_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a gauge panel: one gauge per series with its threshold bands."""
    count = max(len(series), 1)
    size = max(min(canvas.width / count, canvas.height * 1.05), 40.0)
    parts, marks = [], 0
    for one in series:
        field = field_config(panel, one)
        value = reduced(one, panel)
        low, high = _limits(field)
        low = low if low is not None else 0.0
        high = high if high is not None else (100.0 if field.get("unit") in ("percent", None) else
                                              max(value or 1.0, 1.0))
        text, _ = _shown(value, field)
        colour = threshold_colour(value, field, low, high)
        drawing = charts.gauge(value, text, low, high, step_bounds(threshold_steps(field)), colour, size)
        marks += drawing.marks
        parts.append(f'<div class="gauge" title="{escape(one.name)}">{drawing.svg}'
                     f'<div class="stat-name">{escape(one.name)}</div></div>')
    return View(f'<div class="stats">{"".join(parts)}</div>', marks)


def bar_gauge_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a bar gauge panel: a horizontal bar per series, coloured by threshold."""
    values = [reduced(s, panel) for s in series]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    peak = max(finite, default=1.0) or 1.0
    bar_h = max(min((canvas.height - 4) / max(len(series), 1) - 4, 28.0), 8.0)
    rows, marks = [], 0
    for one, value in zip(series, values, strict=True):
        field = field_config(panel, one)
        _, high = _limits(field)
        limit = high or peak
        share = 0.0 if value is None or not math.isfinite(value) else max(min(value / limit, 1.0), 0.0)
        text, _ = _shown(value, field)
        marks += 1 if value is not None else 0
        rows.append(f'<div class="bar" style="height:{bar_h:.0f}px"><span class="bar-name">{escape(one.name)}</span>'
                    f'<span class="bar-track"><span style="width:{share * 100:.1f}%;background:'
                    f'{threshold_colour(value, field)}"></span></span><span class="bar-value">{escape(text)}</span>'
                    "</div>")
    return View(f'<div class="bars">{"".join(rows)}</div>', marks)


def pie_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a pie chart panel: one slice per series' reduced value, a legend with values and shares."""
    options = panel.get("options", {})
    values = [reduced(s, panel) for s in series]
    numbers = [v if v is not None and math.isfinite(v) else 0.0 for v in values]
    colours = [_series_colour(s, i, panel) for i, s in enumerate(series)]
    total = sum(v for v in numbers if v > 0)
    fmt = _formatter(field_config(panel))
    entries = [(s.name, c, f"{fmt(v)} ({v / total * 100:.0f}%)" if total > 0 else fmt(v))
               for s, c, v in zip(series, colours, numbers, strict=True)]
    legend_width = min(canvas.width * 0.45, 260.0)
    size = max(min(canvas.width - legend_width - 12, canvas.height - 4), 30.0)
    drawing = charts.pie(numbers, colours, size, options.get("pieType") == "donut")
    items = "".join(f'<div class="item"><i style="background:{c}"></i>{escape(name)} <b>{escape(text)}</b></div>'
                    for name, c, text in entries)
    return View(f'<div class="pie">{drawing.svg}<div class="legend side" style="width:{legend_width:.0f}px">'
                f"{items}</div></div>", drawing.marks)


def _bucket_bound(name: str) -> float:
    try:
        return float(name)
    except ValueError:
        return math.inf


def heatmap_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a heatmap panel of Prometheus buckets (`le`): cumulative counts turned into per-bucket counts."""
    ordered = sorted(series, key=lambda s: _bucket_bound(s.label_map.get("le", s.name)))
    names = [s.label_map.get("le", s.name) for s in ordered]
    times = sorted({t for s in ordered for t, _ in s.points})
    by_series = [dict(s.points) for s in ordered]
    columns = []
    for t in times:
        cumulative = [values.get(t, math.nan) for values in by_series]
        cells = [value - (cumulative[i - 1] if i and math.isfinite(cumulative[i - 1]) else 0.0)
                 for i, value in enumerate(cumulative)]
        columns.append((t, cells))
    drawing = charts.heatmap(columns, names, canvas.width, canvas.height, canvas.start, canvas.end)
    return View(drawing.svg, drawing.marks)


def state_view(panel: Mapping[str, Any], series: Sequence[Series], canvas: Canvas) -> View:
    """Return a state timeline or status history: per series, spans coloured by mapping or threshold."""
    rows = []
    for one in series:
        field = field_config(panel, one)
        spans: list[tuple[float, float, str]] = []
        points = [p for p in one.points if math.isfinite(p[1])]
        for index, (t, value) in enumerate(points):
            finish = points[index + 1][0] if index + 1 < len(points) else canvas.end
            mapped = mapped_text(value, field.get("mappings", []))
            colour = threshold_colour(None, {"thresholds": {"steps": [{"color": mapped[1]}]}}) if mapped and mapped[1] \
                else threshold_colour(value, field)
            if spans and spans[-1][2] == colour and abs(spans[-1][1] - t) < 1e-9:
                spans[-1] = (spans[-1][0], finish, colour)
            else:
                spans.append((t, finish, colour))
        rows.append((one.name, spans))
    drawing = charts.bands(rows, canvas.width, canvas.height, canvas.start, canvas.end)
    return View(drawing.svg, drawing.marks)


def text_view(panel: Mapping[str, Any], _series: Sequence[Series], _canvas: Canvas) -> View:
    """Return a text panel: its content as paragraphs (Markdown headings and lists kept as text)."""
    content = str(panel.get("options", {}).get("content", ""))
    paragraphs = [p.strip() for p in content.split("\n\n") if p.strip()]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return View(f'<div class="text">{body}</div>', len(paragraphs))


VIEWS: dict[str, Callable[[Mapping[str, Any], Sequence[Series], Canvas], View]] = {
    "timeseries": time_series_view,
    "graph": time_series_view,
    "stat": stat_view,
    "singlestat": stat_view,
    "gauge": gauge_view,
    "bargauge": bar_gauge_view,
    "piechart": pie_view,
    "heatmap": heatmap_view,
    "state-timeline": state_view,
    "status-history": state_view,
    "text": text_view,
}
