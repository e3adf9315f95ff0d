"""SVG drawings of panel data, written in Python: time series with axes, sparklines, gauges, pies, heatmaps and
state bands. Each returns the markup and how many marks it drew, so a test can tell an empty drawing."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from html import escape

import attrs

from dashbuild.preview.colours import NAMED

AXIS = "#8E8E8E"
GRID = "#2A2D33"
FONT = 'font-family="Inter, Helvetica, Arial, sans-serif"'
Point = tuple[float, float]
Formatter = Callable[[float], str]


@attrs.frozen
class Drawing:
    """SVG markup and the number of marks (points, cells, slices) it draws."""

    svg: str
    marks: int


@attrs.frozen
class Line:
    """One series to draw on a time axis."""

    points: tuple[Point, ...]
    colour: str
    fill_opacity: float = 0.0
    width: float = 1.0
    bars: bool = False


def _f(value: float) -> str:
    return f"{value:.1f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values covering low..high (about `count` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _time_ticks(start: float, end: float, width: float) -> list[float]:
    span = max(end - start, 1.0)
    wanted = max(2, int(width // 110))
    step = next((s for s in (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400) if span / s <= wanted),
                86400 * 7)
    first = math.ceil(start / step) * step
    return [t for t in range(int(first), int(end) + 1, step)]


def _clock(seconds: float, span: float) -> str:
    stamp = time.gmtime(seconds)
    return time.strftime("%m-%d %H:%M" if span > 86400 else "%H:%M", stamp)


def _time_label(x: float, y: float, text: str, width: float) -> str:
    """Return a time axis label centred on its tick, or kept inside the drawing at either end."""
    half = 3.2 * len(text)
    anchor = "end" if x + half > width else "start" if x - half < 0 else "middle"
    return f'<text x="{_f(x)}" y="{_f(y)}" fill="{AXIS}" text-anchor="{anchor}">{text}</text>'


def _time_axis(start: float, end: float, left: float, plot_w: float, height: float, width: float) -> list[str]:
    """Return the time labels under a plot `plot_w` wide starting at `left`, for the range start..end."""
    span = max(end - start, 1.0)
    return [_time_label(left + (t - start) / span * plot_w, height - 5, _clock(t, span), width)
            for t in _time_ticks(start, end, plot_w)]


def value_range(lines: Sequence[Line], soft_min: float | None, soft_max: float | None,
                stacked: bool = False) -> tuple[float, float]:
    """Return the y range to draw `lines` on: data range, zero kept for positive data, fixed limits honoured."""
    values = [v for line in lines for _, v in line.points if math.isfinite(v)]
    if stacked:
        values.extend(_stack_totals(lines))
    low = min(values, default=0.0)
    high = max(values, default=1.0)
    if low >= 0:
        low = 0.0
    if soft_min is not None:
        low = soft_min
    if soft_max is not None:
        high = soft_max
    if high <= low:
        high = low + (abs(low) or 1.0)
    return low, high


def _stack_totals(lines: Sequence[Line]) -> list[float]:
    totals: dict[float, float] = {}
    for line in lines:
        for t, v in line.points:
            if math.isfinite(v):
                totals[t] = totals.get(t, 0.0) + v
    return list(totals.values())


def _decimate(points: Sequence[Point], buckets: int) -> list[Point]:
    """Keep each pixel column's first, lowest, highest and last point, so spikes survive a narrow panel."""
    if len(points) <= buckets * 2:
        return list(points)
    start, end = points[0][0], points[-1][0]
    size = (end - start) / buckets or 1.0
    kept: list[Point] = []
    column: list[Point] = []
    current = 0
    for point in points:
        index = min(int((point[0] - start) / size), buckets - 1)
        if index != current and column:
            kept.extend(_column(column))
            column = []
        current = index
        column.append(point)
    kept.extend(_column(column))
    return kept


def _column(points: list[Point]) -> list[Point]:
    finite = [p for p in points if math.isfinite(p[1])]
    if not finite:
        return points[:1]
    chosen = {points[0], min(finite, key=lambda p: p[1]), max(finite, key=lambda p: p[1]), points[-1]}
    return sorted(chosen)


def time_series(lines: Sequence[Line], width: float, height: float, start: float, end: float, fmt: Formatter,
                soft_min: float | None = None, soft_max: float | None = None, stacked: bool = False,
                thresholds: Sequence[tuple[float, str]] = (), axis_label: str = "") -> Drawing:
    """Return a time series chart: y axis with formatted ticks, a UTC time axis, one path per line."""
    left, bottom, top, right = 62.0, 20.0, 6.0, 8.0
    plot_w, plot_h = max(width - left - right, 10.0), max(height - top - bottom, 10.0)
    low, high = value_range(lines, soft_min, soft_max, stacked)
    ticks = [t for t in nice_ticks(low, high) if low - 1e-12 <= t <= high * (1 + 1e-9) + 1e-12]
    if ticks:
        low, high = min(low, ticks[0]), max(high, ticks[-1])
    span = max(end - start, 1.0)

    def x(t: float) -> float:
        return left + (t - start) / span * plot_w

    def y(v: float) -> float:
        return top + plot_h - (v - low) / (high - low) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" '
             f'viewBox="0 0 {_f(width)} {_f(height)}" {FONT} font-size="11">']
    for tick in ticks:
        parts.append(f'<line x1="{_f(left)}" x2="{_f(left + plot_w)}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
                     f'stroke="{GRID}"/>')
        parts.append(f'<text x="{_f(left - 6)}" y="{_f(y(tick) + 4)}" fill="{AXIS}" text-anchor="end">'
                     f'{escape(fmt(tick))}</text>')
    for t in _time_ticks(start, end, plot_w):
        parts.append(f'<line x1="{_f(x(t))}" x2="{_f(x(t))}" y1="{_f(top)}" y2="{_f(top + plot_h)}" stroke="{GRID}"/>')
        parts.append(_time_label(x(t), height - 5, _clock(t, span), width))
    if axis_label:
        parts.append(f'<text transform="translate(11 {_f(top + plot_h / 2)}) rotate(-90)" fill="{AXIS}" '
                     f'text-anchor="middle">{escape(axis_label)}</text>')
    for limit, colour in thresholds:
        if low < limit < high:
            parts.append(f'<line x1="{_f(left)}" x2="{_f(left + plot_w)}" y1="{_f(y(limit))}" y2="{_f(y(limit))}" '
                         f'stroke="{colour}" stroke-dasharray="6 4"/>')
    marks = 0
    base: dict[float, float] = {}
    for line in lines:
        points = _decimate(line.points, int(plot_w))
        if stacked:
            stacked_points = []
            for t, v in points:
                below = base.get(t, 0.0)
                top_value = below + v if math.isfinite(v) else below
                stacked_points.append((t, top_value))
                base[t] = top_value
            points = stacked_points
        marks += sum(1 for _, v in points if math.isfinite(v))
        parts.extend(_line_marks(line, points, x, y, max(low, min(0.0, high)), plot_w))
    parts.append(f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(plot_w)}" height="{_f(plot_h)}" fill="none" '
                 f'stroke="{GRID}"/></svg>')
    return Drawing("".join(parts), marks)


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Split a line where values are missing (NaN) or where a gap longer than two steps opens."""
    segments: list[list[Point]] = [[]]
    steps = [b[0] - a[0] for a, b in itertools.pairwise(points)]
    usual = sorted(steps)[len(steps) // 2] if steps else 0.0
    previous: float | None = None
    for t, v in points:
        gap = not math.isfinite(v) or (previous is not None and usual and t - previous > 2.5 * usual)
        if gap and segments[-1]:
            segments.append([])
        if math.isfinite(v):
            segments[-1].append((t, v))
        previous = t
    return [s for s in segments if s]


def _line_marks(line: Line, points: Sequence[Point], x: Callable[[float], float], y: Callable[[float], float],
                zero: float, plot_w: float) -> list[str]:
    parts = []
    if line.bars:
        bar = max(plot_w / max(len(points), 1) * 0.7, 1.0)
        for t, v in points:
            if math.isfinite(v):
                top, bottom = sorted((y(v), y(zero)))
                parts.append(f'<rect x="{_f(x(t) - bar / 2)}" y="{_f(top)}" width="{_f(bar)}" '
                             f'height="{_f(max(bottom - top, 1.0))}" fill="{line.colour}"/>')
        return parts
    for segment in _segments(points):
        path = " ".join(f"{'M' if i == 0 else 'L'}{_f(x(t))},{_f(y(v))}" for i, (t, v) in enumerate(segment))
        if line.fill_opacity > 0:
            area = f"{path} L{_f(x(segment[-1][0]))},{_f(y(zero))} L{_f(x(segment[0][0]))},{_f(y(zero))} Z"
            parts.append(f'<path d="{area}" fill="{line.colour}" fill-opacity="{line.fill_opacity:.2f}" '
                         f'stroke="none"/>')
        if len(segment) == 1:
            t, v = segment[0]
            parts.append(f'<circle cx="{_f(x(t))}" cy="{_f(y(v))}" r="2.5" fill="{line.colour}"/>')
        else:
            parts.append(f'<path d="{path}" fill="none" stroke="{line.colour}" '
                         f'stroke-width="{line.width:g}" stroke-linejoin="round"/>')
    return parts


def sparkline(points: Sequence[Point], width: float, height: float, colour: str) -> Drawing:
    """Return a stat panel's background graph: an area under the line, no axes."""
    finite = [(t, v) for t, v in points if math.isfinite(v)]
    if len(finite) < 2:
        return Drawing("", 0)
    low, high = min(v for _, v in finite), max(v for _, v in finite)
    low = min(low, 0.0)
    high = high if high > low else low + 1.0
    start, end = finite[0][0], finite[-1][0]
    span = (end - start) or 1.0
    coords = [(f"{_f((t - start) / span * width)}", f"{_f(height - (v - low) / (high - low) * height * 0.9)}")
              for t, v in _decimate(finite, int(width))]
    path = "M" + " L".join(f"{a},{b}" for a, b in coords)
    return Drawing(f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}">'
                   f'<path d="{path} L{_f(width)},{_f(height)} L0,{_f(height)} Z" fill="{colour}" '
                   f'fill-opacity="0.18"/><path d="{path}" fill="none" stroke="{colour}" stroke-width="1"/></svg>',
                   len(finite))


def _arc(cx: float, cy: float, radius: float, start: float, end: float) -> str:
    large = 1 if end - start > math.pi else 0
    x1, y1 = cx + radius * math.cos(start), cy + radius * math.sin(start)
    x2, y2 = cx + radius * math.cos(end), cy + radius * math.sin(end)
    return f"M{_f(x1)},{_f(y1)} A{_f(radius)},{_f(radius)} 0 {large} 1 {_f(x2)},{_f(y2)}"


def gauge(value: float | None, text: str, low: float, high: float, bands: Sequence[tuple[float, str]],
          colour: str, size: float) -> Drawing:
    """Return a gauge: the threshold bands on the outer ring, the value's arc, the value in the middle."""
    radius = size * 0.42
    cx, cy = size / 2, size * 0.55
    first, sweep = math.radians(150), math.radians(240)

    def angle(v: float) -> float:
        share = 0.0 if high == low else min(max((v - low) / (high - low), 0.0), 1.0)
        return first + share * sweep

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(size)}" height="{_f(size * 0.9)}" {FONT}>',
             f'<path d="{_arc(cx, cy, radius, first, first + sweep)}" fill="none" stroke="{GRID}" '
             f'stroke-width="{_f(size * 0.08)}"/>']
    for index, (lower, band_colour) in enumerate(bands):
        upper = bands[index + 1][0] if index + 1 < len(bands) else high
        begin = angle(max(lower, low))
        finish = angle(min(upper, high))
        if finish > begin:
            parts.append(f'<path d="{_arc(cx, cy, radius + size * 0.07, begin, finish)}" fill="none" '
                         f'stroke="{band_colour}" stroke-width="{_f(size * 0.025)}"/>')
    marks = 0
    if value is not None and math.isfinite(value):
        marks = 1
        parts.append(f'<path d="{_arc(cx, cy, radius, first, max(angle(value), first + 0.01))}" fill="none" '
                     f'stroke="{colour}" stroke-width="{_f(size * 0.08)}"/>')
    parts.append(f'<text x="{_f(cx)}" y="{_f(cy + size * 0.06)}" text-anchor="middle" fill="{colour}" '
                 f'font-size="{_f(size * 0.15)}" font-weight="500">{escape(text)}</text></svg>')
    return Drawing("".join(parts), marks)


def pie(values: Sequence[float], colours: Sequence[str], size: float, donut: bool) -> Drawing:
    """Return a pie (or donut) of the positive `values`."""
    total = sum(v for v in values if math.isfinite(v) and v > 0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(size)}" height="{_f(size)}">']
    radius, cx = size / 2 - 2, size / 2
    marks = 0
    if total > 0:
        angle = -math.pi / 2
        shown = [(v, c) for v, c in zip(values, colours, strict=True) if math.isfinite(v) and v > 0]
        for value, slice_colour in shown:
            sweep = value / total * 2 * math.pi
            marks += 1
            if len(shown) == 1:
                parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cx)}" r="{_f(radius)}" fill="{slice_colour}"/>')
                break
            x1, y1 = cx + radius * math.cos(angle), cx + radius * math.sin(angle)
            x2, y2 = cx + radius * math.cos(angle + sweep), cx + radius * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            parts.append(f'<path d="M{_f(cx)},{_f(cx)} L{_f(x1)},{_f(y1)} A{_f(radius)},{_f(radius)} 0 {large} 1 '
                         f'{_f(x2)},{_f(y2)} Z" fill="{slice_colour}" stroke="#181B1F" stroke-width="1"/>')
            angle += sweep
        if donut:
            parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cx)}" r="{_f(radius * 0.55)}" fill="#181B1F"/>')
    parts.append("</svg>")
    return Drawing("".join(parts), marks)


def heatmap(columns: Sequence[tuple[float, Sequence[float]]], bucket_names: Sequence[str], width: float,
            height: float, start: float, end: float) -> Drawing:
    """Return a heatmap: one column per time step, one cell per bucket, darker to brighter with the count."""
    left, bottom = 62.0, 20.0
    plot_w, plot_h = max(width - left - 8, 10.0), max(height - bottom - 6, 10.0)
    buckets = len(bucket_names)
    peak = max((v for _, cells in columns for v in cells if math.isfinite(v)), default=0.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" {FONT} '
             'font-size="11">']
    span = max(end - start, 1.0)
    cell_w = plot_w / max(len(columns), 1)
    cell_h = plot_h / max(buckets, 1)
    marks = 0
    for t, cells in columns:
        x = left + (t - start) / span * plot_w - cell_w
        for index, count in enumerate(cells):
            if not math.isfinite(count) or count <= 0 or peak <= 0:
                continue
            marks += 1
            share = count / peak
            parts.append(f'<rect x="{_f(x)}" y="{_f(6 + plot_h - (index + 1) * cell_h)}" width="{_f(cell_w + 0.5)}" '
                         f'height="{_f(cell_h - 1)}" fill="{NAMED["orange"]}" fill-opacity="{0.1 + 0.9 * share:.2f}"/>')
    step = max(1, buckets // 8)
    for index in range(0, buckets, step):
        parts.append(f'<text x="{_f(left - 6)}" y="{_f(6 + plot_h - index * cell_h - cell_h / 2 + 4)}" fill="{AXIS}" '
                     f'text-anchor="end">{escape(bucket_names[index])}</text>')
    parts.extend(_time_axis(start, end, left, plot_w, height, width))
    parts.append("</svg>")
    return Drawing("".join(parts), marks)


def bands(rows: Sequence[tuple[str, Sequence[tuple[float, float, str]]]], width: float, height: float,
          start: float, end: float) -> Drawing:
    """Return a state timeline: one band per row, each span (from, to, colour) filled."""
    left = 110.0
    plot_w = max(width - left - 8, 10.0)
    row_h = max(min((height - 24) / max(len(rows), 1), 40.0), 6.0)
    span = max(end - start, 1.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" {FONT} '
             'font-size="11">']
    marks = 0
    for index, (name, spans) in enumerate(rows):
        y = 4 + index * row_h
        parts.append(f'<text x="{_f(left - 6)}" y="{_f(y + row_h / 2 + 4)}" fill="{AXIS}" text-anchor="end">'
                     f'{escape(name[:18])}</text>')
        for begin, finish, span_colour in spans:
            marks += 1
            x = left + (begin - start) / span * plot_w
            parts.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max((finish - begin) / span * plot_w, 1.0))}" '
                         f'height="{_f(row_h - 2)}" fill="{span_colour}"/>')
    parts.extend(_time_axis(start, end, left, plot_w, height, width))
    parts.append("</svg>")
    return Drawing("".join(parts), marks)
