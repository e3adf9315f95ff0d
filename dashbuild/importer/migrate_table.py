"""The AngularJS table (`table` with `styles`, schema < 24, or `table-old`) to today's `table`.

Follows Grafana's `tablePanelChangedHandler`: the `/.*/` style becomes the field defaults, every other
style an override matched by name or, for `/…/` patterns, by regular expression; `transform` becomes a
transformation. Beyond it, for the display to stay the same: `type: hidden` hides the column
(`custom.hidden`), a unit and decimals apply to number columns only (as they did), decimals 0 are kept,
thresholds keep their fractions, and a string column's value maps become mappings.
"""

from __future__ import annotations

import copy
import re

from dashbuild.importer.migrate_common import GRAPH_ONLY_KEYS, PANEL_KEEP, UI_STATE_KEYS, Json, Notes, arr, number, obj
from dashbuild.importer.migrate_mappings import angular_mappings

DEFAULT_COLORS = ["rgba(245, 54, 54, 0.9)", "rgba(237, 129, 40, 0.89)", "rgba(50, 172, 45, 0.97)"]
_TRANSFORMS = {"timeseries_to_rows": "seriesToRows", "timeseries_to_columns": "seriesToColumns",
               "timeseries_aggregations": "reduce", "table": "merge"}
_COLUMN_REDUCERS = {"avg": "mean", "min": "min", "max": "max", "total": "sum", "current": "lastNotNull",
                    "count": "count"}
_COLOR_MODES = {"cell": "color-background", "row": "color-background", "value": "color-text"}
_CELL_REFERENCE = re.compile(r"\$__cell(_\d+)?|\$\{__cell(_\d+)?\}")
_STYLE_KEYS = {"alias", "pattern", "type", "unit", "decimals", "dateFormat", "colorMode", "colors", "thresholds",
               "link", "linkUrl", "linkTooltip", "linkTargetBlank", "align", "mappingType", "valueMaps", "rangeMaps",
               "$$hashKey"}


def is_old_table(panel: Json) -> bool:
    """Tell whether a panel is an AngularJS table (Grafana's v24 rule, and `table-old`)."""
    if panel.get("type") == "table-old":
        return True
    return panel.get("type") == "table" and "styles" in panel and panel.get("table") != "table2"


def _thresholds(style: Json) -> Json | None:
    levels = [number(level) for level in arr(style.get("thresholds"))]
    if not levels or any(level is None for level in levels):
        return None
    colors = style.get("colors") or DEFAULT_COLORS
    steps = [{"value": None, "color": colors[0]}]
    steps += [{"value": level, "color": color} for level, color in zip(levels, colors[1:], strict=False)]
    return {"mode": "absolute", "steps": steps}


def _style_config(style: Json, panel: Json, notes: Notes) -> tuple[Json, Json]:
    """Return (field config, style settings left as they were) of one style."""
    label = f"styles[{style.get('pattern')!r}]"
    config: Json = {}
    custom: Json = {}
    kind = style.get("type") or "number"
    if style.get("alias") and style.get("alias") != style.get("pattern"):
        config["displayName"] = style["alias"]
    if kind == "hidden":
        return {"custom": {"hidden": True}, **({"displayName": config["displayName"]} if config else {})}, {}
    if kind == "date":
        config["unit"] = f"time: {style.get('dateFormat') or 'YYYY-MM-DD HH:mm:ss'}"
    if kind == "number":
        if style.get("unit"):
            config["unit"] = style["unit"]
        if number(style.get("decimals")) is not None:
            config["decimals"] = number(style["decimals"])
    thresholds = _thresholds(style)
    if thresholds is not None:
        config["thresholds"] = thresholds
    rest: Json = {}
    color_mode = str(style.get("colorMode"))
    if color_mode in _COLOR_MODES:
        custom["cellOptions"] = {"type": _COLOR_MODES[color_mode]}
        if color_mode == "row":
            notes.add(panel, f"{label}: colorMode 'row' colors the cell only: the table colors no whole rows")
    if style.get("align") not in (None, "", "auto"):
        custom["align"] = style["align"]
    if style.get("link"):
        url = str(style.get("linkUrl") or "")
        config["links"] = [{"title": style.get("linkTooltip") or "", "url": url,
                            "targetBlank": bool(style.get("linkTargetBlank"))}]
        if _CELL_REFERENCE.search(url):
            notes.add(panel, f"{label}: link {url!r} uses $__cell, which only the old table filled in; "
                             "today's table uses ${__data.fields[...]} or ${__value.raw}")
    if kind == "string":
        mappings, inactive = angular_mappings(style, thresholds)
        if mappings:
            config["mappings"] = mappings
        rest.update(inactive)
    for key, value in style.items():
        if key not in _STYLE_KEYS and value not in (None, False, "", []):
            rest[key] = value
    if rest:
        notes.kept(panel, label, rest, "no table equivalent")
    if custom:
        config["custom"] = custom
    return config, rest


def _property_list(config: Json) -> list[Json]:
    properties = [{"id": key, "value": value} for key, value in config.items() if key != "custom"]
    properties += [{"id": f"custom.{key}", "value": value} for key, value in config.get("custom", {}).items()]
    return properties


def old_table_to_table(panel: Json, notes: Notes) -> Json:
    """Return the `table` panel an AngularJS table becomes."""
    new: Json = {key: copy.deepcopy(value) for key, value in panel.items() if key in PANEL_KEEP}
    new["type"] = "table"
    leftovers: Json = {}
    transformations = list(copy.deepcopy(arr(panel.get("transformations"))))
    transform = panel.get("transform")
    if isinstance(transform, str) and transform in _TRANSFORMS:
        options: Json = {"reducers": []}
        if transform == "timeseries_aggregations":
            columns = [c.get("value") for c in arr(panel.get("columns")) if isinstance(c, dict)]
            options = {"reducers": [_COLUMN_REDUCERS[c] for c in columns if c in _COLUMN_REDUCERS],
                       "includeTimeField": False}
        transformations.append({"id": _TRANSFORMS[str(transform)], "options": options})
    elif transform not in (None, ""):
        leftovers["transform"] = transform
        notes.kept(panel, "transform", transform, "no transformation does this")
    if transformations:
        new["transformations"] = transformations
    defaults: Json = copy.deepcopy(obj(obj(panel.get("fieldConfig")).get("defaults")))
    overrides: list[Json] = list(copy.deepcopy(arr(obj(panel.get("fieldConfig")).get("overrides"))))
    kept_styles = []
    for style in arr(panel.get("styles")):
        if not isinstance(style, dict):
            continue
        config, rest = _style_config(style, panel, notes)
        if rest:
            kept_styles.append({"pattern": style.get("pattern"), **rest})
        pattern = str(style.get("pattern", ""))
        if pattern == "/.*/":
            custom = {**defaults.get("custom", {}), **config.pop("custom", {})}
            defaults.update(config)
            if custom:
                defaults["custom"] = custom
        elif config:
            matcher = "byRegexp" if re.fullmatch(r"/.*/", pattern) else "byName"
            overrides.append({"matcher": {"id": matcher, "options": pattern}, "properties": _property_list(config)})
    if kept_styles:
        leftovers["styles"] = kept_styles
    new["fieldConfig"] = {"defaults": defaults, "overrides": overrides}
    options_new: Json = {"showHeader": panel.get("showHeader", True) is not False}
    sort = obj(panel.get("sort"))
    if sort.get("col") is not None:
        leftovers["sort"] = sort
        notes.kept(panel, "sort", sort, "the old table sorted by column number; today's table sorts by "
                   "column name (options.sortBy), which the column number does not give")
    for key, default in (("pageSize", None), ("scroll", True), ("fontSize", "100%")):
        if panel.get(key) not in (None, default):
            leftovers[key] = panel[key]
            notes.kept(panel, key, panel[key], "no table equivalent")
    new["options"] = options_new
    handled = {"styles", "transform", "columns", "sort", "pageSize", "scroll", "fontSize", "showHeader", "table",
               "options"}
    if panel.get("columns") and transform != "timeseries_aggregations":
        leftovers["columns"] = panel["columns"]
        notes.kept(panel, "columns", panel["columns"], "only the aggregations transform used columns")
    for key, value in panel.items():
        if key in PANEL_KEEP or key in handled or key in UI_STATE_KEYS or key in leftovers:
            continue
        if key in GRAPH_ONLY_KEYS or key in ("nullPointMode", "thresholds"):
            continue  # left by the generator of the dashboard; the table never read them
        leftovers[key] = copy.deepcopy(value)
        notes.kept(panel, key, value, "no table equivalent")
    new.update(leftovers)
    return new


