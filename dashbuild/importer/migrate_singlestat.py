"""The AngularJS `singlestat` panel to `stat` (or `gauge` when its gauge was shown).

Follows Grafana's `sharedSingleStatPanelChangedHandler`, `statPanelChangedHandler` and
`gaugePanelChangedHandler`, and the server-side v28 migration. Beyond them, for the display to stay the
same: thresholds without `colors` take the singlestat's default colors (the panel used them), a gauge
without `minValue`/`maxValue` keeps the old 0–100 range, and `prefix`/`postfix` become the custom units
`prefix:`/`suffix:` when the panel has no unit of its own.
"""

from __future__ import annotations

import copy
from typing import Any

from dashbuild.importer.migrate_common import GRAPH_ONLY_KEYS, PANEL_KEEP, UI_STATE_KEYS, Json, Notes, arr, number, obj
from dashbuild.importer.migrate_mappings import angular_mappings

DEFAULT_COLORS = ["#299c46", "rgba(237, 129, 40, 0.89)", "#d44a3a"]  # the singlestat's own defaults
_REDUCERS = {"min": "min", "max": "max", "avg": "mean", "current": "lastNotNull", "total": "sum", "first": "first",
             "last": "last", "delta": "delta", "diff": "diff", "range": "range", "count": "count", "mean": "mean",
             "name": "mean"}
_DEFAULT_SIZES = {"valueFontSize": "80%", "prefixFontSize": "50%", "postfixFontSize": "50%"}
_NO_UNIT = (None, "", "none", "short")
# Settings the singlestat read that need nothing once converted (editor lists, defaults, sparkline looks).
_IGNORED = {"mappingTypes", "tipTypes", "colorPrefix", "colorPostfix"}


def steps_from_levels(levels_text: Any, colors: Any) -> list[Json] | None:
    """Return threshold steps from `"70,80"` and one more color than levels; None when a level is no number."""
    levels = [number(level) for level in str(levels_text).split(",") if level.strip()]
    if not levels or any(level is None for level in levels):
        return None
    palette = colors if isinstance(colors, list) and colors else DEFAULT_COLORS
    steps: list[Json] = [{"value": None, "color": palette[0]}]
    steps += [{"value": level, "color": color} for level, color in zip(levels, palette[1:], strict=False)]
    return steps


def singlestat_to_stat(panel: Json, notes: Notes) -> Json:
    """Return the `stat` or `gauge` panel a `singlestat` (or `grafana-singlestat-panel`) panel becomes."""
    new: Json = {key: copy.deepcopy(value) for key, value in panel.items() if key in PANEL_KEEP}
    gauge = obj(panel.get("gauge"))
    is_gauge = bool(gauge.get("show"))
    new["type"] = "gauge" if is_gauge else "stat"
    leftovers: Json = {}
    value_name = panel.get("valueName", "avg")
    reducer = _REDUCERS.get(str(value_name))
    if reducer is None:
        leftovers["valueName"] = value_name
        notes.kept(panel, "valueName", value_name, "no such reducer; the mean is shown as Grafana does")
    reduce: Json = {"values": False, "calcs": [reducer or "mean"]}
    if panel.get("tableColumn"):
        reduce["fields"] = f"/^{panel['tableColumn']}$/"
    options: Json = {"reduceOptions": reduce, "orientation": "horizontal"}
    defaults: Json = copy.deepcopy(obj(obj(panel.get("fieldConfig")).get("defaults")))
    if panel.get("format"):
        defaults["unit"] = panel["format"]
    if panel.get("decimals") is not None:
        defaults["decimals"] = panel["decimals"]
    if panel.get("nullText"):
        defaults["noValue"] = panel["nullText"]

    if panel.get("thresholds"):
        steps = steps_from_levels(panel["thresholds"], panel.get("colors"))
        if steps is None:
            leftovers["thresholds"] = panel["thresholds"]
            notes.kept(panel, "thresholds", panel["thresholds"], "not a comma-separated list of numbers")
        else:
            defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    mappings, inactive = angular_mappings(panel, defaults.get("thresholds"))
    if mappings:
        defaults["mappings"] = mappings
    for key, value in inactive.items():
        leftovers[key] = value
        notes.kept(panel, key, value, "not in use: the singlestat's mappingType selected the other list")
    if is_gauge:
        defaults["min"] = number(gauge.get("minValue", 0))
        defaults["max"] = number(gauge.get("maxValue", 100))
        options["showThresholdMarkers"] = gauge.get("thresholdMarkers", True)
        options["showThresholdLabels"] = gauge.get("thresholdLabels", False)
    # Explicit min and max were dropped for percentages in Grafana 8; the migration restores them.
    if defaults.get("unit") == "percent":
        defaults.setdefault("min", 0)
        defaults.setdefault("max", 100)
    elif defaults.get("unit") == "percentunit":
        defaults.setdefault("min", 0)
        defaults.setdefault("max", 1)

    sparkline = obj(panel.get("sparkline"))
    if not is_gauge:
        options["graphMode"] = "area" if sparkline.get("show") else "none"
        options["colorMode"] = ("background" if panel.get("colorBackground") else
                                "value" if panel.get("colorValue") else "none")
        if value_name == "name":
            options["textMode"] = "name"
        if options["colorMode"] == "none" and sparkline.get("show") and sparkline.get("lineColor"):
            defaults["color"] = {"mode": "fixed", "fixedColor": sparkline["lineColor"]}
    for key in ("ymin", "ymax"):
        if sparkline.get(key) is not None:
            leftovers.setdefault("sparkline", {})[key] = sparkline[key]
            notes.kept(panel, f"sparkline.{key}", sparkline[key], "the stat's sparkline scales itself")

    prefix, postfix = panel.get("prefix") or "", panel.get("postfix") or ""
    if (prefix or postfix) and not (prefix and postfix) and defaults.get("unit") in _NO_UNIT:
        defaults["unit"] = f"prefix:{prefix}" if prefix else f"suffix:{postfix}"
    elif prefix or postfix:
        for key, value in (("prefix", prefix), ("postfix", postfix)):
            if value:
                leftovers[key] = value
                notes.kept(panel, key, value, "the unit already says how the value is written")
    if panel.get("nullPointMode") not in (None, "connected"):
        leftovers["nullPointMode"] = panel["nullPointMode"]
        notes.kept(panel, "nullPointMode", panel["nullPointMode"], "stat and gauge reduce the values they get; "
                   "Grafana's migration keeps it as nullValueMode, which they ignore")
    for key, default in _DEFAULT_SIZES.items():
        if panel.get(key) not in (None, default):
            leftovers[key] = panel[key]
            notes.kept(panel, key, panel[key], "the stat sizes its text to the panel")

    new["options"] = options
    new["fieldConfig"] = {"defaults": defaults,
                          "overrides": copy.deepcopy(arr(obj(panel.get("fieldConfig")).get("overrides")))}
    handled = {"valueName", "tableColumn", "format", "decimals", "nullText", "thresholds", "colors", "valueMaps",
               "rangeMaps", "mappingType", "gauge", "sparkline", "colorBackground", "colorValue", "prefix",
               "postfix", "nullPointMode", "options", *_DEFAULT_SIZES, *_IGNORED}
    for key, value in panel.items():
        if key in PANEL_KEEP or key in handled or key in UI_STATE_KEYS or key in leftovers:
            continue
        if key in GRAPH_ONLY_KEYS:
            continue  # left by the generator of the dashboard; the singlestat never read them
        leftovers[key] = copy.deepcopy(value)
        notes.kept(panel, key, value, "no stat equivalent")
    new.update(leftovers)
    return new
