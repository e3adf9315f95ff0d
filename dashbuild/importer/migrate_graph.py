"""The AngularJS `graph` panel to `timeseries`, as Grafana's `graphPanelChangedHandler` converts it.

Where this differs from Grafana it shows the old graph more faithfully, and says so here: a y-axis
without `show` is shown (the graph's default), series on the right y-axis get `axisPlacement: right`,
`stack: false` in a series override stops stacking that series, `percentage` stacking becomes 100 %
stacking, the panel's legend `decimals` become the field decimals when the axis sets none, legend sorting
becomes `legend.sortBy`, and `legend: false` / `hideTooltip` / `steppedLine` in series overrides are
converted. A graph whose x-axis is not time (series, histogram) is not a time series and stays a graph.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from dashbuild.importer.migrate_common import (
    GRAPH_ONLY_KEYS,
    PANEL_KEEP,
    UI_STATE_KEYS,
    Json,
    Notes,
    arr,
    number,
    obj,
)

_REGEX_ALIAS = re.compile(r"^([/~@;%#'])(.*?)\1([gimsuy]*)$")
_LEGEND_CALCS = {"min": "min", "max": "max", "avg": "mean", "current": "lastNotNull", "total": "sum"}
_LEGEND_SORT = {"min": "Min", "max": "Max", "avg": "Mean", "current": "Last *", "total": "Total"}
_THRESHOLD_COLORS = {"critical": "red", "warning": "orange"}
# Values of graph settings that change nothing once converted (defaults, or state the graph never used).
_NO_OP: dict[str, Any] = {"renderer": ..., "timeRegions": [], "hiddenSeries": False}


def _axis(axis: Any, right: bool = False) -> Json:
    """Return the field config an old y-axis stands for (unit, decimals, min, max, placement, label, log)."""
    if not isinstance(axis, dict):
        return {}
    custom: Json = {"axisPlacement": ("right" if right else "auto") if axis.get("show", True) else "hidden"}
    if axis.get("label"):
        custom["axisLabel"] = axis["label"]
    if number(axis.get("logBase")) in (2, 10):
        custom["scaleDistribution"] = {"type": "log", "log": number(axis.get("logBase"))}
    config: Json = {"unit": axis.get("format"), "decimals": number(axis.get("decimals")),
                    "min": number(axis.get("min")), "max": number(axis.get("max")), "custom": custom}
    return {key: value for key, value in config.items() if value is not None}


def _right_axis_properties(y1: Json, y2: Json) -> list[Json]:
    properties = [{"id": key, "value": value} for key, value in y2.items() if key != "custom" and value != y1.get(key)]
    y1_custom = y1.get("custom", {})
    properties += [{"id": f"custom.{key}", "value": value} for key, value in y2.get("custom", {}).items()
                   if value != y1_custom.get(key)]
    return properties


def _dedupe(properties: list[Json]) -> list[Json]:
    # A later property with the same id wins in Grafana; keep one, at its first place.
    last = {prop["id"]: prop for prop in properties}
    return [last[prop["id"]] for i, prop in enumerate(properties)
            if prop["id"] not in {p["id"] for p in properties[:i]}]


def _series_override(override: Json, y1: Json, yaxes: list[Any], dash: Json, panel: Json,
                     notes: Notes) -> tuple[Json | None, Json, bool]:
    """Return (override rule, properties it could not convert, whether it fills below another series)."""
    alias = str(override["alias"])
    matcher = {"id": "byRegexp" if _REGEX_ALIAS.match(alias) else "byName", "options": alias}
    props: list[Json] = []
    rest: Json = {}
    dash_override: Json | None = None
    fill_below = False
    for key, value in override.items():
        if key in ("alias", "$$hashKey"):
            continue
        if key == "yaxis":
            if number(value) == 2:
                props += _right_axis_properties(y1, _axis(yaxes[1] if len(yaxes) > 1 else None, right=True))
        elif key == "fill" and (amount := number(value)) is not None:
            props.append({"id": "custom.fillOpacity", "value": amount * 10})
        elif key == "fillBelowTo":
            fill_below = True
            props.append({"id": "custom.fillBelowTo", "value": value})
        elif key == "fillGradient":
            if gradient := number(value):
                props += [{"id": "custom.gradientMode", "value": "opacity"},
                          {"id": "custom.fillOpacity", "value": gradient * 10}]
        elif key == "points":
            props.append({"id": "custom.showPoints", "value": "always" if value else "never"})
        elif key == "bars":
            props.append({"id": "custom.drawStyle", "value": "bars" if value else "line"})
            if value:
                props.append({"id": "custom.fillOpacity", "value": 100})
        elif key == "lines":
            props.append({"id": "custom.lineWidth", "value": 0} if not value else {"id": "custom.drawStyle",
                                                                                    "value": "line"})
        elif key == "linewidth":
            props.append({"id": "custom.lineWidth", "value": value})
        elif key == "pointradius" and (radius := number(value)) is not None:
            props.append({"id": "custom.pointSize", "value": 2 + radius * 2})
        elif key in ("dashLength", "spaceLength", "dashes"):
            dash_override = dash_override or {"fill": dash["fill"], "dash": list(dash["dash"])}
            if key == "dashes":
                dash_override["fill"] = "dash" if value else "solid"
            else:
                dash_override["dash"][0 if key == "dashLength" else 1] = value
        elif key == "stack":
            mode = "none" if value is False else "normal"
            group = "A" if isinstance(value, bool) else str(value)
            props.append({"id": "custom.stacking", "value": {"mode": mode, "group": group}})
        elif key == "color":
            props.append({"id": "color", "value": {"mode": "fixed", "fixedColor": value}})
        elif key == "transform":
            props.append({"id": "custom.transform", "value": "negative-Y" if value == "negative-Y" else "constant"})
        elif key == "legend" and value is False:
            props.append({"id": "custom.hideFrom", "value": {"legend": True, "tooltip": False, "viz": False}})
        elif key == "hideTooltip" and value is True:
            props.append({"id": "custom.hideFrom", "value": {"legend": False, "tooltip": True, "viz": False}})
        elif key == "steppedLine":
            props.append({"id": "custom.lineInterpolation", "value": "stepAfter" if value else "linear"})
        else:
            rest[key] = value
    if dash_override is not None:
        props.append({"id": "custom.lineStyle", "value": dash_override})
    if rest:
        notes.kept(panel, f"seriesOverrides[{alias!r}]", rest, "no time series equivalent")
    rule = {"matcher": matcher, "properties": _dedupe(props)} if props else None
    return rule, ({"alias": alias, **rest} if rest else {}), fill_below


def _thresholds(old: list[Any]) -> tuple[Json, str] | None:
    """Return (thresholds config, thresholdsStyle mode) for the graph's threshold lines and areas."""
    levels = sorted((t for t in old if isinstance(t, dict) and number(t.get("value")) is not None),
                    key=lambda t: number(t.get("value")) or 0)
    if not levels:
        return None

    def color(t: Json) -> Any:
        if t.get("colorMode") == "custom":
            return t.get("fillColor") or t.get("lineColor")
        return _THRESHOLD_COLORS.get(str(t.get("colorMode")), "red")

    steps: list[Json] = []
    for index, level in enumerate(levels):
        after = levels[index + 1] if index + 1 < len(levels) else None
        value = number(level["value"])
        if level.get("op") == "gt":
            steps.append({"value": value, "color": color(level)})
        elif level.get("op") == "lt":
            if not steps:
                steps.append({"value": None, "color": color(level)})
            next_color = color(after) if after is not None and after.get("op") == "lt" else "transparent"
            steps.append({"value": value, "color": next_color})
    if steps and steps[0]["value"] is not None:
        steps.insert(0, {"value": None, "color": "transparent"})
    area = any(t.get("fill") for t in levels)
    line = any(t.get("line") for t in levels)
    mode = "line+area" if area and line else "area" if area else "line"
    return {"mode": "absolute", "steps": steps}, mode


def _legend(old: Any, panel: Json, notes: Notes) -> tuple[Json, Json]:
    """Return (timeseries legend options, the legend settings left as they were)."""
    legend: Json = {"displayMode": "list", "showLegend": True, "placement": "bottom", "calcs": []}
    if not isinstance(old, dict):
        return legend, {}
    if old.get("show", True):
        legend["displayMode"] = "table" if old.get("alignAsTable") else "list"
    else:
        legend["showLegend"] = False
    if old.get("rightSide"):
        legend["placement"] = "right"
    if old.get("values"):
        legend["calcs"] = [_LEGEND_CALCS[key] for key, on in old.items() if key in _LEGEND_CALCS and on]
        if str(old.get("sort")) in _LEGEND_SORT and legend["calcs"]:
            legend["sortBy"] = _LEGEND_SORT[str(old["sort"])]
            legend["sortDesc"] = bool(old.get("sortDesc"))
    if number(old.get("sideWidth")):
        legend["width"] = number(old.get("sideWidth"))
    known = {"show", "alignAsTable", "rightSide", "values", "sort", "sortDesc", "sideWidth", *_LEGEND_CALCS}
    rest = {key: value for key, value in old.items() if key not in known and value not in (False, None)}
    if rest:
        notes.kept(panel, "legend", rest, "the time series legend has no such setting")
    return legend, rest


def _no_op(key: str, value: Any) -> bool:
    if key == "grid":  # pre-schema-13 thresholds and axes; the colors alone draw nothing
        return isinstance(value, dict) and all(v in (None, False) for k, v in value.items() if "Color" not in k)
    if key == "yaxis":
        return isinstance(value, dict) and not value.get("align")
    return key in _NO_OP and (_NO_OP[key] is ... or value == _NO_OP[key])


def graph_to_timeseries(panel: Json, notes: Notes) -> Json:
    """Return the `timeseries` panel a `graph` panel becomes (the graph itself when it is not a time graph)."""
    xaxis = obj(panel.get("xaxis"))
    if xaxis.get("mode") not in (None, "time"):
        notes.add(panel, f"graph with x-axis mode {xaxis.get('mode')!r} left as is: it is no time series; "
                         "Grafana turns it into a bar chart, bar gauge or histogram by hand")
        return panel
    new: Json = {key: copy.deepcopy(value) for key, value in panel.items() if key in PANEL_KEEP}
    new["type"] = "timeseries"
    old_config = obj(panel.get("fieldConfig"))
    yaxes = arr(panel.get("yaxes"))
    y1 = _axis(yaxes[0] if yaxes else None)
    y1 = {**copy.deepcopy(obj(old_config.get("defaults"))), **y1}
    overrides: list[Json] = list(copy.deepcopy(arr(old_config.get("overrides"))))
    leftovers: Json = {}

    for alias, color in obj(panel.get("aliasColors")).items():
        if color:
            overrides.append({"matcher": {"id": "byName", "options": alias},
                              "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]})
    dash = {"fill": "dash" if panel.get("dashes") else "solid",
            "dash": [panel.get("dashLength", 10), panel.get("spaceLength", 10)]}
    fill_below = False
    kept_overrides = []
    for override in arr(panel.get("seriesOverrides")):
        if not isinstance(override, dict) or not override.get("alias"):
            continue
        rule, rest, below = _series_override(override, y1, yaxes, dash, panel, notes)
        fill_below = fill_below or below
        if rule is not None:
            overrides.append(rule)
        if rest:
            kept_overrides.append(rest)
    if kept_overrides:
        leftovers["seriesOverrides"] = kept_overrides

    custom: Json = dict(obj(y1.get("custom")))
    custom["drawStyle"] = "bars" if panel.get("bars") else "line" if panel.get("lines", True) else "points"
    if panel.get("points"):
        custom["showPoints"] = "always"
        if (radius := number(panel.get("pointradius"))) is not None:
            custom["pointSize"] = 2 + radius * 2
    elif custom["drawStyle"] != "points":
        custom["showPoints"] = "never"
    if panel.get("linewidth") is not None:
        custom["lineWidth"] = panel["linewidth"]
    if dash["fill"] != "solid":
        custom["lineStyle"] = dash
    if fill_below:
        custom["fillOpacity"] = 35  # flot drew bands between series with this fixed opacity
    elif (fill := number(panel.get("fill"))) is not None:
        custom["fillOpacity"] = fill * 10
    gradient = number(panel.get("fillGradient"))
    if gradient:
        custom["gradientMode"] = "opacity"
        custom["fillOpacity"] = gradient * 10
    null_mode = panel.get("nullPointMode")
    custom["spanNulls"] = null_mode == "connected"
    if null_mode not in (None, "null", "connected"):
        leftovers["nullPointMode"] = null_mode
        notes.kept(panel, "nullPointMode", null_mode, "the time series panel has no null-as-zero; "
                   "Grafana's own migration keeps it as nullValueMode, which the panel ignores")
    if panel.get("steppedLine"):
        custom["lineInterpolation"] = "stepAfter"
    if custom["drawStyle"] == "bars":
        custom["fillOpacity"] = 100
    if panel.get("stack"):
        custom["stacking"] = {"mode": "percent" if panel.get("percentage") else "normal", "group": "A"}
    tooltip_old = obj(panel.get("tooltip"))
    if tooltip_old.get("value_type") == "cumulative" and panel.get("stack"):
        leftovers["tooltip"] = {"value_type": "cumulative"}
        notes.kept(panel, "tooltip.value_type", "cumulative", "the time series tooltip shows each series' own value")

    decimals = number(panel.get("decimals"))
    if decimals is not None and decimals >= 0 and "decimals" not in y1:
        y1["decimals"] = decimals
    elif panel.get("decimals") is not None and y1.get("decimals") != decimals:
        leftovers["decimals"] = panel["decimals"]
        notes.kept(panel, "decimals", panel["decimals"], "the legend decimals differ from the y-axis decimals")

    thresholds = _thresholds(arr(panel.get("thresholds")))
    if thresholds is not None:
        y1["thresholds"], mode = thresholds
        custom["thresholdsStyle"] = {"mode": mode}
    data_links = arr(obj(panel.get("options")).get("dataLinks"))
    if data_links:
        y1["links"] = [*arr(y1.get("links")), *data_links]
    y1["custom"] = custom
    y1.pop("nullValueMode", None)
    if xaxis.get("show") is False:
        overrides.append({"matcher": {"id": "byType", "options": "time"},
                          "properties": [{"id": "custom.axisPlacement", "value": "hidden"}]})

    legend, legend_rest = _legend(panel.get("legend"), panel, notes)
    if legend_rest:
        leftovers["legend"] = legend_rest
    tooltip: Json = {"mode": "multi" if tooltip_old.get("shared") else "single", "sort": "none"}
    if tooltip_old.get("shared"):
        tooltip["sort"] = {1: "asc", 2: "desc"}.get(int(number(tooltip_old.get("sort")) or 0), "none")
    new["options"] = {"legend": legend, "tooltip": tooltip}
    new["fieldConfig"] = {"defaults": y1, "overrides": overrides}

    handled = {"aliasColors", "bars", "lines", "points", "pointradius", "linewidth", "dashes", "dashLength",
               "spaceLength", "fill", "fillGradient", "nullPointMode", "steppedLine", "stack", "percentage",
               "tooltip", "decimals", "thresholds", "legend", "seriesOverrides", "xaxis", "yaxes", "options",
               "minSpan"}
    for key, value in panel.items():
        if key in PANEL_KEEP or key in handled or key in UI_STATE_KEYS or key in leftovers:
            continue
        if key in GRAPH_ONLY_KEYS and _no_op(key, value):
            continue
        leftovers[key] = copy.deepcopy(value)
        notes.kept(panel, key, value, "no time series equivalent")
    old_options = obj(panel.get("options"))
    for key, value in old_options.items():
        if key != "dataLinks":
            new["options"][key] = copy.deepcopy(value)
            notes.kept(panel, f"options.{key}", value, "a graph option the time series panel does not know")
    new.update(leftovers)
    return new
