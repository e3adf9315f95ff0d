"""Per-panel migration: Grafana's schema steps for panels, then the AngularJS panels' plugin changes."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from dashbuild.importer.migrate_common import MIXED, Json, Notes, arr, datasource_ref, obj, ref_id
from dashbuild.importer.migrate_graph import graph_to_timeseries
from dashbuild.importer.migrate_mappings import upgrade_mappings
from dashbuild.importer.migrate_singlestat import singlestat_to_stat
from dashbuild.importer.migrate_table import is_old_table, old_table_to_table

# Panel keys whose null Grafana reads as "not set" (the v11.6 schema rejects the nulls).
_NULL_IS_ABSENT = ("datasource", "timeFrom", "timeShift", "repeat", "repeatDirection", "repeatIteration",
                   "repeatRowId", "interval", "maxDataPoints", "cacheTimeout", "queryCachingTTL", "description",
                   "hideTimeOverride", "minSpan", "links", "transformations")
# Editor and runtime state that older Grafana versions saved into panels; nothing reads it.
_DEAD_KEYS = ("span", "height", "error", "isNew", "editable", "$$hashKey")
_GRID_FACTORS = (1, 2, 3, 4, 6, 8, 12, 24)
# The panel model (the schema's Panel and RowPanel properties).
_PANEL_MODEL = frozenset({
    "type", "id", "pluginVersion", "targets", "title", "description", "transparent", "datasource", "gridPos",
    "links", "repeat", "repeatDirection", "maxPerRow", "maxDataPoints", "transformations", "interval", "timeFrom",
    "timeShift", "hideTimeOverride", "libraryPanel", "cacheTimeout", "queryCachingTTL", "options", "fieldConfig",
})
_ROW_MODEL = frozenset({"type", "collapsed", "title", "datasource", "gridPos", "id", "panels", "repeat"})
_SINGLE_STAT_PLUGINS = ("stat", "gauge", "bargauge")
# AngularJS panel plugins Grafana 11 cannot load and this importer does not convert.
_ANGULAR = frozenset({
    "grafana-piechart-panel", "grafana-worldmap-panel", "grafana-polystat-panel", "natel-discrete-panel",
    "natel-plotly-panel", "vonage-status-panel", "btplc-status-dot-panel", "briangann-gauge-panel",
    "briangann-datatable-panel", "jdbranham-diagram-panel", "flant-statusmap-panel", "savantly-heatmap-panel",
    "mxswat-separator-panel", "neocat-cal-heatmap-panel", "agenty-flowcharting-panel", "digrich-bubblechart-panel",
    "petrslavotinek-carpetplot-panel", "ryantxu-ajax-panel", "snuids-trafficlights-panel", "pr0ps-trackmap-panel",
    "corpglory-progresslist-panel", "michaeldmoore-annunciator-panel", "grafana-simple-json-datasource",
})
_TABLE_DISPLAY = {"basic": {"type": "gauge", "mode": "basic"}, "gradient-gauge": {"type": "gauge", "mode": "gradient"},
                  "lcd-gauge": {"type": "gauge", "mode": "lcd"},
                  "color-background": {"type": "color-background", "mode": "gradient"},
                  "color-background-solid": {"type": "color-background", "mode": "basic"}}
_LEGACY_LINK_VARIABLES = re.compile(r"(\$__series_name)|(__series_name)|(__value_time)|(\$__field_name)|(__field_name)")


def _upgrade_panel_link(link: Any) -> Any:
    # Schema 19: the old dashboard/absolute panel links become data links with a URL.
    old_style = isinstance(link, dict) and (link.get("type") in ("dashboard", "absolute") or "dashUri" in link
                                            or "dashboard" in link or "keepTime" in link or "params" in link)
    if not old_style:
        return link
    url = link.get("url") or ""
    if not url and link.get("dashboard"):
        url = "dashboard/db/" + re.sub(r" +", "-", re.sub(r"[^\w ]+", "", str(link["dashboard"]).lower()))
    if not url and link.get("dashUri"):
        url = f"dashboard/{link['dashUri']}"
    url = url or "/"
    for flag, variable in (("keepTime", "$__url_time_range"), ("includeVars", "$__all_variables")):
        if link.get(flag):
            url += ("&" if "?" in url else "?") + variable
    if link.get("params"):
        url += ("&" if "?" in url else "?") + str(link["params"])
    new: Json = {"url": url, "title": link.get("title", "")}
    if link.get("targetBlank"):
        new["targetBlank"] = True
    return new


def _legacy_link_syntax(url: Any, old_version: int) -> Any:
    if not isinstance(url, str):
        return url
    if old_version < 20:
        replacements = ("${__series.name}", "__series.name", "__value.time", "${__field.name}", "__field.name")
        url = _LEGACY_LINK_VARIABLES.sub(lambda m: replacements[(m.lastindex or 1) - 1], url)
    if old_version < 21:
        url = url.replace("__series.labels", "__field.labels")
    return url


def _targets(panel: Json, old_version: int, plugin_of: Mapping[str, str], notes: Notes) -> None:
    targets = panel.get("targets")
    if not isinstance(targets, list):
        return
    used = {t["refId"] for t in targets if isinstance(t, dict) and isinstance(t.get("refId"), str)}
    index = 0
    for target in targets:
        if not isinstance(target, dict):
            continue
        for key in [key for key, value in target.items() if value is None and key != "datasource"]:
            del target[key]  # a null query setting is an unset one
        if "datasource" in target:
            target["datasource"] = datasource_ref(target["datasource"], plugin_of, notes, panel)
            if target["datasource"] is None:
                del target["datasource"]
        if not target.get("refId"):
            while ref_id(index) in used:
                index += 1
            target["refId"] = ref_id(index)
            used.add(target["refId"])
    panel_ds = panel.get("datasource")
    if old_version < 36 and isinstance(panel_ds, dict) and panel_ds.get("uid") != MIXED:
        for target in targets:
            if isinstance(target, dict) and not isinstance(target.get("datasource"), dict):
                target["datasource"] = copy.deepcopy(panel_ds)
    elif old_version < 36 and panel_ds is None:
        # Grafana gives the panel the default data source, then the one its queries name.
        refs = [t["datasource"] for t in targets if isinstance(t, dict) and isinstance(t.get("datasource"), dict)
                and t["datasource"].get("uid") != "__expr__"]
        if refs:
            panel["datasource"] = copy.deepcopy(refs[-1])


def _fix_thresholds(thresholds: Any) -> None:
    # The model's rules: "first value is always -Infinity" (JSON null), and Grafana reads thresholds
    # without a mode as absolute (only "percentage" changes how steps are read).
    if not isinstance(thresholds, dict):
        return
    thresholds.setdefault("mode", "absolute")
    steps = thresholds.get("steps")
    if isinstance(steps, list) and steps and isinstance(steps[0], dict):
        steps[0]["value"] = None


def _field_config_steps(panel: Json, old_version: int) -> None:
    config = panel.get("fieldConfig")
    if not isinstance(config, dict):
        return
    # Grafana's panel model always has both; the schema requires both.
    config.setdefault("defaults", {})
    config.setdefault("overrides", [])
    defaults = obj(config.get("defaults"))
    overrides = [o for o in arr(config.get("overrides")) if isinstance(o, dict)]
    _fix_thresholds(defaults.get("thresholds"))
    if old_version < 30 and "mappings" in defaults:
        defaults["mappings"] = upgrade_mappings(defaults["mappings"], defaults.get("thresholds"))
    custom = obj(defaults.get("custom"))
    hide = custom.get("hideFrom")
    if isinstance(hide, dict) and "graph" in hide:
        hide["viz"] = hide.pop("graph")
    if old_version < 38 and panel.get("type") == "table" and "displayMode" in custom:
        mode = custom.pop("displayMode")
        custom["cellOptions"] = _TABLE_DISPLAY.get(str(mode), {"type": mode})
    for override in overrides:
        for prop in arr(override.get("properties")):
            if not isinstance(prop, dict):
                continue
            if prop.get("id") == "thresholds":
                _fix_thresholds(prop.get("value"))
            if old_version < 30 and prop.get("id") == "mappings":
                prop["value"] = upgrade_mappings(prop.get("value"), None)
            if prop.get("id") == "custom.hideFrom" and isinstance(prop.get("value"), dict) \
                    and "graph" in prop["value"]:
                prop["value"]["viz"] = prop["value"].pop("graph")
            if old_version < 38 and panel.get("type") == "table" and prop.get("id") == "custom.displayMode":
                prop["id"] = "custom.cellOptions"
                prop["value"] = _TABLE_DISPLAY.get(str(prop.get("value")), {"type": prop.get("value")})
    if old_version < 35 and panel.get("type") == "timeseries" and custom.get("axisPlacement") == "hidden":
        config["overrides"] = [*overrides, {"matcher": {"id": "byType", "options": "time"},
                                            "properties": [{"id": "custom.axisPlacement", "value": "auto"}]}]


def _options_steps(panel: Json, old_version: int) -> None:
    options = panel.get("options")
    if not isinstance(options, dict):
        return
    if old_version < 30 and panel.get("type") in ("timeseries", "xychart") and "tooltipOptions" in options:
        options["tooltip"] = options.pop("tooltipOptions")
    legend = options.get("legend")
    if old_version < 37 and isinstance(legend, dict):
        if legend.get("displayMode") == "hidden" or legend.get("showLegend") is False:
            legend["displayMode"] = "list"
            legend["showLegend"] = False
        else:
            legend["showLegend"] = True
    for links in (options.get("dataLinks"), (obj(obj(options.get("fieldOptions")).get("defaults"))).get("links")):
        for link in links if isinstance(links, list) else []:
            if isinstance(link, dict):
                link["url"] = _legacy_link_syntax(link.get("url"), old_version)


def _transformation_steps(panel: Json, old_version: int) -> None:
    transformations = panel.get("transformations")
    if not isinstance(transformations, list):
        return
    if old_version < 31:
        upgraded: list[Any] = []
        for transformation in transformations:
            upgraded.append(transformation)
            if isinstance(transformation, dict) and transformation.get("id") == "labelsToFields":
                upgraded.append({"id": "merge", "options": {}})
        panel["transformations"] = transformations = upgraded
    for transformation in transformations:
        if not isinstance(transformation, dict):
            continue
        options = transformation.get("options")
        if old_version < 39 and transformation.get("id") == "timeSeriesTable" and isinstance(options, dict) \
                and isinstance(options.get("refIdToStat"), dict):
            transformation["options"] = {ref: {"stat": stat} for ref, stat in options["refIdToStat"].items()}


def _text_panel(panel: Json, old_version: int) -> None:
    if old_version < 26 and panel.get("type") == "text2":
        panel["type"] = "text"
        if isinstance(panel.get("options"), dict):
            panel["options"].pop("angular", None)
    if panel.get("type") != "text":
        return
    if not isinstance(panel.get("options", {}), dict):
        return
    options = panel.setdefault("options", {})
    # The AngularJS text panel kept its content and mode at the panel's top level.
    if "content" in panel:
        options.setdefault("content", panel.pop("content"))
    if "mode" in panel:
        options.setdefault("mode", panel.pop("mode"))
    if options.get("mode") == "text":
        options["mode"] = "markdown"  # Grafana 7.1 removed the plain-text mode


def _plugin_version(panel: Json) -> float:
    match = re.match(r"v?(\d+)\.(\d+)", str(panel.get("pluginVersion") or "6.1"))
    return float(f"{match.group(1)}.{match.group(2)}") if match else 6.1


def _single_stat_options(panel: Json) -> None:
    # Grafana's sharedSingleStatMigrationHandler for stat/gauge/bargauge panels saved before 7.0/7.1.
    options = panel.get("options")
    if panel.get("type") not in _SINGLE_STAT_PLUGINS or not isinstance(options, dict):
        return
    version = _plugin_version(panel)
    field_options = options.get("fieldOptions")
    if not isinstance(panel.get("fieldConfig", {}), dict):
        return
    config = obj(panel.get("fieldConfig"))
    if version < 7.0 and isinstance(field_options, dict):
        panel["fieldConfig"] = config
        defaults = obj(field_options.get("defaults"))
        if "thresholds" in field_options and "thresholds" not in defaults:
            defaults["thresholds"] = {"mode": "absolute", "steps": field_options["thresholds"]}
        if "mappings" in field_options and "mappings" not in defaults:
            defaults["mappings"] = field_options["mappings"]
        config["defaults"] = {**obj(config.get("defaults")), **defaults}
        config["overrides"] = [*arr(config.get("overrides")), *arr(field_options.get("overrides"))]
        reduce = {key: field_options[key] for key in ("values", "limit", "calcs") if key in field_options}
        options["reduceOptions"] = {**obj(options.get("reduceOptions")), **reduce}
        del options["fieldOptions"]
    defaults = obj(config.get("defaults"))
    if version < 7.1 and defaults.get("title") is not None:
        defaults["displayName"] = defaults.pop("title")


def _max_per_row(min_span: Any) -> int | None:
    if not isinstance(min_span, int | float) or isinstance(min_span, bool) or min_span <= 0:
        return None
    most = 24 / min_span
    return max((factor for factor in _GRID_FACTORS if factor <= most), default=None)


def _heatmap_tooltip(panel: Json) -> None:
    """Grafana 10.3 replaced the heatmap tooltip's `show` by `mode`; its heatmap migration handler converts it."""
    options = panel.get("options")
    tooltip = options.get("tooltip") if isinstance(options, dict) else None
    if isinstance(tooltip, dict) and "show" in tooltip:
        shown = tooltip.pop("show")
        tooltip.setdefault("mode", "single" if shown is not False else "none")


def migrate_panel(panel: Json, old_version: int, plugin_of: Mapping[str, str], notes: Notes) -> Json:
    """Return one panel (a row's children are migrated by the caller) in today's model."""
    for key in _NULL_IS_ABSENT:
        if key in panel and panel[key] is None:
            del panel[key]
    for key in _DEAD_KEYS:
        panel.pop(key, None)
    if "minSpan" in panel:
        min_span = panel.pop("minSpan")
        per_row = _max_per_row(min_span) if old_version < 17 else None
        if per_row is not None and "maxPerRow" not in panel:
            panel["maxPerRow"] = per_row
    if "datasource" in panel:
        panel["datasource"] = datasource_ref(panel["datasource"], plugin_of, notes, panel)
        if panel["datasource"] is None:
            del panel["datasource"]
    _targets(panel, old_version, plugin_of, notes)
    if old_version < 19 and isinstance(panel.get("links"), list):
        panel["links"] = [_upgrade_panel_link(link) for link in panel["links"]]
    if old_version < 18 and "options-gauge" in panel:
        notes.kept(panel, "options-gauge", panel["options-gauge"], "the Grafana 6.0 gauge options are not converted")
    _options_steps(panel, old_version)
    kind = panel.get("type")
    if not isinstance(kind, str):
        notes.kept(panel, "type", kind, "a panel type is a plugin id (a string)")
        return panel
    if kind == "graph":
        panel = graph_to_timeseries(panel, notes)
    elif kind in ("singlestat", "grafana-singlestat-panel"):
        panel = singlestat_to_stat(panel, notes)
    elif is_old_table(panel):
        panel = old_table_to_table(panel, notes)
    elif kind in _ANGULAR:
        notes.add(panel, f"panel type {kind!r} is an AngularJS plugin Grafana 11 no longer loads; left as is")
    elif kind == "heatmap" and not isinstance(panel.get("options"), dict) and "dataFormat" in panel:
        notes.add(panel, "AngularJS heatmap (dataFormat, cards, yAxis) left as is: not converted to the new heatmap")
    else:
        _single_stat_options(panel)
        model = _ROW_MODEL if kind == "row" else _PANEL_MODEL
        for key in panel:
            if key not in model and key != "options-gauge" and not (kind == "text" and key in ("content", "mode")):
                notes.kept(panel, key, panel[key], "not part of the panel model; Grafana keeps it and ignores it")
    _text_panel(panel, old_version)
    if kind == "heatmap":
        _heatmap_tooltip(panel)
    _field_config_steps(panel, old_version)
    _transformation_steps(panel, old_version)
    return panel
