"""What one panel shows, as a plain value: queries, field config, overrides and options, defaults filled in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dashbuild.importer.compare_queries import target_view
from dashbuild.importer.compare_values import (
    ABSENT,
    clean,
    datasource_uid,
    fill,
    known_only,
    mapping,
    schema_of,
    with_defaults,
)
from dashbuild.importer.migrate_common import MIXED, arr, obj
from dashbuild.schema import PANEL_PLUGINS

Json = dict[str, Any]

# Grafana's default thresholds for a field that sets none (the standard `thresholds` option).
DEFAULT_THRESHOLDS: Json = {"mode": "absolute", "steps": [{"value": None, "color": "green"},
                                                          {"value": 80, "color": "red"}]}
# The color scheme a field without `color` gets, per panel plugin (the plugins' standard option defaults).
DEFAULT_COLOR = {**dict.fromkeys(("timeseries", "barchart", "trend", "xychart", "piechart", "histogram"),
                                 "palette-classic"),
                 **dict.fromkeys(("stat", "gauge", "bargauge", "table", "state-timeline", "status-history"),
                                 "thresholds")}
_REDUCE = {"reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": ""}, "orientation": "auto"}
_TOOLTIP = {"mode": "single", "sort": "none", "hideZeros": False}
# Defaults Grafana's panel plugins give in their option builders, which the CUE schemas leave out:
# timeseries `defaultGraphConfig` and `getGraphFieldConfig`, the single-stat reduce options, the table cells.
RUNTIME_DEFAULTS: dict[str, dict[str, Json]] = {
    "timeseries": {
        "options": {"legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []},
                    "tooltip": _TOOLTIP},
        "custom": {"drawStyle": "line", "lineInterpolation": "linear", "lineWidth": 1, "fillOpacity": 0,
                   "gradientMode": "none", "barAlignment": 0, "barWidthFactor": 0.6,
                   "stacking": {"mode": "none", "group": "A"}, "axisGridShow": True, "axisCenteredZero": False,
                   "axisBorderShow": False, "spanNulls": False, "insertNulls": False, "showPoints": "auto",
                   "pointSize": 5, "thresholdsStyle": {"mode": "off"}, "axisPlacement": "auto", "axisLabel": "",
                   "axisColorMode": "text", "scaleDistribution": {"type": "linear"},
                   "hideFrom": {"legend": False, "tooltip": False, "viz": False}},
    },
    "stat": {"options": _REDUCE},
    "gauge": {"options": _REDUCE},
    # The legend the bar gauge adds hidden, and the table's footer, off: what the plugins fill in when a saved
    # panel (schema-invalid without them) has none.
    "bargauge": {"options": {**_REDUCE, "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom",
                                                   "calcs": []}}},
    "piechart": {"options": {**_REDUCE, "pieType": "pie", "tooltip": _TOOLTIP, "legend": {"values": []}}},
    "table": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
              "options": {"footer": {"show": False, "countRows": False}}},
    # The heatmap panel's `defaultOptions` (no heatmap schema is downloaded here).
    "heatmap": {"options": {"calculate": False, "cellGap": 1, "showValue": "auto", "selectionMode": "x",
                            "tooltip": {"mode": "single", "yHistogram": False, "showColorScale": False},
                            "legend": {"show": True}, "yAxis": {"axisPlacement": "left"},
                            "rowsFrame": {"layout": "auto"}}},
}
_PANEL_SETTINGS = ("interval", "maxDataPoints", "timeFrom", "timeShift", "hideTimeOverride", "transparent",
                   "libraryPanel")
_SPECIAL_DEFAULTS = ("unit", "decimals", "min", "max", "thresholds", "color", "mappings", "custom", "links")


def thresholds_text(thresholds: Any) -> str:
    """Return thresholds as one line: `absolute: green, 70 orange, 80 red`."""
    config = thresholds if isinstance(thresholds, Mapping) else DEFAULT_THRESHOLDS
    steps = [s for s in arr(config.get("steps")) if isinstance(s, Mapping)]
    parts = [str(s.get("color")) if i == 0 else f"{s.get('value')} {s.get('color')}" for i, s in enumerate(steps)]
    return f"{config.get('mode') or 'absolute'}: {', '.join(parts)}"


# What a panel or field link is to Grafana (a DataLink); the schema types these as dashboard links, whose other
# fields (type, icon, tags, asDropdown, includeVars, keepTime, tooltip) Grafana does not read there.
DATA_LINK_FIELDS = ("title", "url", "targetBlank", "onClick", "internal", "origin", "oneClick")


def _link(link: Any) -> Any:
    if not isinstance(link, Mapping):
        return link
    kept = {key: value for key, value in link.items() if key in DATA_LINK_FIELDS}
    return clean({**kept, "targetBlank": bool(link.get("targetBlank"))}) | {"title": link.get("title") or ""}


def _property_value(prop_id: str, value: Any) -> Any:
    if prop_id == "thresholds":
        return thresholds_text(value)
    if prop_id == "links" and isinstance(value, list):
        return [_link(link) for link in value]
    return clean(value)


def overrides_view(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the overrides keyed by matcher (`byName=CPU`), each its properties by id (the last one wins)."""
    view: dict[str, dict[str, Any]] = {}
    for override in arr(config.get("overrides")):
        if not isinstance(override, Mapping):
            continue
        matcher = mapping(override.get("matcher"))
        options = matcher.get("options")
        key = f"{matcher.get('id')}={options if isinstance(options, str) else json.dumps(options, sort_keys=True)}"
        while key in view:
            key += "'"  # a second override with the same matcher
        view[key] = {str(p.get("id")): _property_value(str(p.get("id")), p.get("value"))
                     for p in arr(override.get("properties")) if isinstance(p, Mapping)}
    return view


def _panel_datasource(panel: Mapping[str, Any]) -> Any:
    targets = [t for t in arr(panel.get("targets")) if isinstance(t, Mapping)]
    if not targets:
        return None
    own = datasource_uid(panel.get("datasource"))
    if own is not None and own != MIXED:
        return own
    # Without its own, or mixed, the panel runs on the one data source its queries name, if they agree.
    named = {json.dumps(datasource_uid(t.get("datasource"))) for t in targets if t.get("datasource") is not None}
    return datasource_uid(next(t["datasource"] for t in targets if t.get("datasource") is not None)) \
        if len(named) == 1 else own


def panel_view(panel: Mapping[str, Any]) -> Json:
    """Return the settings of a (non-row) panel that change what it shows, in one comparable form."""
    kind = str(panel.get("type") or "")
    plugin = kind if kind in PANEL_PLUGINS else None
    config = mapping(panel.get("fieldConfig"))
    defaults = mapping(config.get("defaults"))
    datasource = _panel_datasource(panel)
    view: Json = {"kind": kind, "title": panel.get("title") or "", "description": panel.get("description") or "",
                  "datasource": datasource}
    view["queries"] = [target_view(t, datasource) for t in arr(panel.get("targets")) if isinstance(t, Mapping)]
    view["unit"] = defaults.get("unit") or "none"
    for key in ("decimals", "min", "max"):
        view[key] = defaults.get(key, ABSENT)
    view["thresholds"] = thresholds_text(defaults.get("thresholds"))
    view["color"] = clean(defaults.get("color")) or ({"mode": DEFAULT_COLOR[kind]} if kind in DEFAULT_COLOR else ABSENT)
    view["mappings"] = clean(arr(defaults.get("mappings")))
    view["links"] = [_link(link) for link in arr(panel.get("links"))]
    view["field links"] = [_link(link) for link in arr(defaults.get("links"))]
    runtime = RUNTIME_DEFAULTS.get(kind, {})
    custom_schema = schema_of(plugin, "FieldConfig") if plugin else None
    custom = known_only(with_defaults(obj(defaults.get("custom")), custom_schema), custom_schema)
    view["custom"] = fill(custom, runtime.get("custom", {}))
    if plugin and custom_schema is None:
        view["custom"] = ABSENT  # a plugin without custom field config (stat, gauge, bar gauge) reads none
    # Standard field options the dashboard schema does not define (`nullValueMode` of old panels) are not read.
    standard = known_only(dict(defaults), schema_of("dashboard", "FieldConfig"))
    view["field"] = clean({key: value for key, value in standard.items() if key not in _SPECIAL_DEFAULTS})
    view["overrides"] = overrides_view(config)
    options_schema = schema_of(plugin, "Options") if plugin else None
    options = known_only(with_defaults(obj(panel.get("options")), options_schema), options_schema)
    view["options"] = fill(options, runtime.get("options", {}))
    view["transformations"] = [clean({**t, "disabled": bool(t.get("disabled"))}) if isinstance(t, Mapping) else t
                               for t in arr(panel.get("transformations"))]
    for key in _PANEL_SETTINGS:
        view[key] = panel.get(key, ABSENT)
    for key in ("transparent", "hideTimeOverride"):  # flags Grafana reads as false when absent
        view[key] = bool(panel.get(key))
    # A repeat is one setting: which variable, which way, how many per row (only with a repeat).
    view["repeat"] = clean({"variable": panel["repeat"], "direction": panel.get("repeatDirection") or "h",
                            "maxPerRow": panel.get("maxPerRow")}) if panel.get("repeat") else ABSENT
    return view
