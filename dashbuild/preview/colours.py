"""Grafana's colours in the dark theme: named colours, the classic series palette, threshold steps."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

NAMED = {
    "green": "#73BF69", "dark-green": "#37872D", "semi-dark-green": "#56A64B", "light-green": "#96D98D",
    "super-light-green": "#C8F2C2", "red": "#F2495C", "dark-red": "#C4162A", "semi-dark-red": "#E02F44",
    "light-red": "#FF7383", "super-light-red": "#FFA6B0", "yellow": "#FADE2A", "dark-yellow": "#E0B400",
    "semi-dark-yellow": "#F2CC0C", "light-yellow": "#FFEE52", "orange": "#FF9830", "dark-orange": "#FA6400",
    "semi-dark-orange": "#FF780A", "light-orange": "#FFB357", "blue": "#5794F2", "dark-blue": "#1F60C4",
    "semi-dark-blue": "#3274D9", "light-blue": "#8AB8FF", "purple": "#B877D9", "dark-purple": "#8F3BB8",
    "semi-dark-purple": "#A352CC", "light-purple": "#CA95E5", "text": "#CCCCDC", "transparent": "transparent",
}
PALETTE = ("#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0", "#37872D",
           "#FADE2A", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477")
DEFAULT_STEPS = ({"color": "green", "value": None}, {"color": "red", "value": 80})


# A colour a dashboard gives by value: hex, or rgb()/rgba() of numbers. Anything else (a CSS `url(...)`, a quote
# closing the attribute) never reaches the page: it would fetch or inject what the dashboard's author wrote.
_CSS_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}|rgba?\(\s*[0-9.]+%?\s*(,\s*[0-9.]+%?\s*){2,3}\)")


def colour(name: object, fallback: str = NAMED["text"]) -> str:
    """Return the CSS colour of a Grafana colour name or hex/rgb value; `fallback` for anything else."""
    if not isinstance(name, str) or not name:
        return fallback
    if name in NAMED:
        return NAMED[name]
    return name if _CSS_COLOUR.fullmatch(name) else fallback


def series_colour(index: int) -> str:
    """Return the classic palette's colour for the `index`-th series."""
    return PALETTE[index % len(PALETTE)]


def threshold_steps(field: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the threshold steps of a field config's defaults (Grafana's default green/red at 80 when none)."""
    thresholds = field.get("thresholds")
    steps = thresholds.get("steps") if isinstance(thresholds, Mapping) else None
    return list(steps) if isinstance(steps, list) and steps else list(DEFAULT_STEPS)


def threshold_colour(value: float | None, field: Mapping[str, Any], low: float = 0.0, high: float = 100.0) -> str:
    """Return the colour of the threshold step `value` falls in (percentage mode relative to `low`..`high`)."""
    steps = threshold_steps(field)
    thresholds = field.get("thresholds")
    mode = thresholds.get("mode") if isinstance(thresholds, Mapping) else "absolute"
    chosen = steps[0].get("color")
    if value is None or math.isnan(value):
        return colour(chosen)
    compared = (value - low) / (high - low) * 100 if mode == "percentage" and high != low else value
    for step in steps[1:]:
        limit = step.get("value")
        if isinstance(limit, int | float) and compared >= limit:
            chosen = step.get("color")
    return colour(chosen)


def field_colour(field: Mapping[str, Any], index: int) -> str | None:
    """Return the fixed colour a field config gives its series, or None when it uses the palette or thresholds."""
    setting = field.get("color")
    if isinstance(setting, Mapping) and setting.get("mode") == "fixed":
        return colour(setting.get("fixedColor"), series_colour(index))
    return None


def uses_thresholds(field: Mapping[str, Any]) -> bool:
    """Return whether the field's colour mode is `thresholds` (values take their step's colour)."""
    setting = field.get("color")
    return isinstance(setting, Mapping) and setting.get("mode") == "thresholds"


def step_bounds(steps: Sequence[Mapping[str, Any]]) -> list[tuple[float, str]]:
    """Return (lower bound, colour) per threshold step, the base step bounded by -inf."""
    bounds = []
    for index, step in enumerate(steps):
        limit = step.get("value")
        bounds.append((-math.inf if index == 0 or not isinstance(limit, int | float) else float(limit),
                       colour(step.get("color"))))
    return bounds
