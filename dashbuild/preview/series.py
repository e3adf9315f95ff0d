"""Prometheus answers as a panel's series: display names from the legend format, the field config that applies
to each (defaults, then overrides), and the reductions stat, gauge and pie panels show (`lastNotNull`...)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

_LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


@attrs.frozen
class Series:
    """One series of a panel's data: its name, labels, query and points (unix seconds, value)."""

    name: str
    labels: tuple[tuple[str, str], ...]
    ref_id: str
    points: tuple[tuple[float, float], ...]
    instant: bool = False

    @property
    def label_map(self) -> dict[str, str]:
        """Return the labels as a dict."""
        return dict(self.labels)

    @property
    def values(self) -> list[float]:
        """Return the values, in time order."""
        return [value for _, value in self.points]


def display_name(labels: Mapping[str, str], legend: str | None) -> str:
    """Return the name Grafana gives a series: its legend format filled in, else its labels `name{a="b"}`."""
    if legend and legend != "__auto":
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), legend)
    name = labels.get("__name__", "")
    rest = ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()) if key != "__name__")
    if not rest:
        return name or "Value"
    return f"{name}{{{rest}}}"


def _value(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def answer_series(answer: Mapping[str, Any], target: Mapping[str, Any]) -> list[Series]:
    """Return the series of one target's Prometheus answer (matrix, vector or scalar)."""
    data = answer.get("data", {})
    kind, result = data.get("resultType"), data.get("result", [])
    legend = target.get("legendFormat")
    ref_id = str(target.get("refId", "A"))
    series: list[Series] = []
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        series.append(Series(display_name({}, legend), (), ref_id, ((float(result[0]), _value(result[1])),), True))
    for item in result if kind in ("matrix", "vector") else ():
        labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
        if kind == "matrix":
            points = tuple((float(t), _value(v)) for t, v in item.get("values", []))
        else:
            t, v = item.get("value", [0, "NaN"])
            points = ((float(t), _value(v)),)
        series.append(Series(display_name(labels, legend), tuple(sorted(labels.items())), ref_id, points,
                             kind == "vector"))
    return series


def _matches(matcher: Mapping[str, Any], series: Series) -> bool:
    kind, option = matcher.get("id"), matcher.get("options")
    if kind == "byName":
        return option == series.name
    if kind == "byRegexp" and isinstance(option, str):
        try:
            return re.fullmatch(option, series.name) is not None
        except re.error:
            return False
    if kind == "byFrameRefID":
        return option == series.ref_id
    return False


def field_config(panel: Mapping[str, Any], series: Series | None = None) -> dict[str, Any]:
    """Return the panel's field config defaults with the overrides that match `series` applied."""
    config = panel.get("fieldConfig", {})
    merged: dict[str, Any] = dict(config.get("defaults", {}))
    merged["custom"] = dict(merged.get("custom", {}))
    for override in config.get("overrides", []) if series is not None else ():
        if series is not None and _matches(override.get("matcher", {}), series):
            for prop in override.get("properties", []):
                key, value = str(prop.get("id", "")), prop.get("value")
                if key.startswith("custom."):
                    merged["custom"][key.removeprefix("custom.")] = value
                else:
                    merged[key] = value
    return merged


def reduce(values: Sequence[float], calc: str) -> float | None:
    """Return Grafana's reduction `calc` (lastNotNull, last, mean, max, min, sum, count...) of `values`."""
    real = [v for v in values if not math.isnan(v)]
    if calc in ("last", "lastNotNull"):
        chosen = values if calc == "last" else real
        return chosen[-1] if chosen else None
    if calc in ("first", "firstNotNull"):
        chosen = values if calc == "first" else real
        return chosen[0] if chosen else None
    if calc == "count":
        return float(len(values))
    if not real:
        return None
    if calc == "mean":
        return sum(real) / len(real)
    if calc == "max":
        return max(real)
    if calc == "min":
        return min(real)
    if calc == "sum":
        return sum(real)
    if calc in ("range", "delta"):
        return max(real) - min(real) if calc == "range" else real[-1] - real[0]
    if calc == "diff":
        return real[-1] - real[0]
    return real[-1]


def reduced(series: Series, panel: Mapping[str, Any]) -> float | None:
    """Return the value a stat, gauge, bar gauge or pie panel shows for `series` (its first reducer)."""
    calcs = panel.get("options", {}).get("reduceOptions", {}).get("calcs") or ["lastNotNull"]
    return reduce(series.values, str(calcs[0]))
