"""One migrated panel as a `Panel` value: what the model says directly, and the rest as escape hatches.

The model's fields come first (kind, title, queries, unit, thresholds, mappings, overrides, links,
transformations, repeat, the time series style). Then the panel is rendered and compared with the original as
the round-trip comparison compares them (`panel_view`); every setting that still differs is set through `raw`
at its JSON path, with the original's value, until nothing differs. What cannot be set that way (queries, the
data source) or what Grafana's schema refuses is not written, and a note says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from dashbuild.importer.compare_panels import panel_view
from dashbuild.importer.compare_values import ABSENT, leaf_differences, mapping
from dashbuild.importer.migrate_common import arr, obj, short
from dashbuild.render_panels import render_panel
from panels.fields import RAW_FORBIDDEN, DataLink, FrozenMap, Override, Transformation, ValueText, raw_options, thaw
from panels.kinds import Graph, Heatmap, Legend, Repeat, Stat, Text
from panels.layout import GridPos
from panels.settings import DATASOURCE_VARIABLE
from panels.spec import Panel, Step, Target, ref_id

Json = dict[str, Any]
DESCRIPTION_SILENCE = ("panel-title-description-rule",
                       "imported without a description: write what the panel shows and how to read it")
_RAW_KEY = re.compile(r"^[A-Za-z0-9_$@-]+$")
_STEP = re.compile(r"^\$?[a-zA-Z0-9_{}]+$")
# Where each part of `panel_view` lives in the panel JSON.
_VIEW_ROOTS = {"options": "options", "custom": "fieldConfig.defaults.custom", "field": "fieldConfig.defaults",
               "color": "fieldConfig.defaults.color", "thresholds": "fieldConfig.defaults.thresholds",
               "mappings": "fieldConfig.defaults.mappings", "decimals": "fieldConfig.defaults.decimals",
               "min": "fieldConfig.defaults.min", "max": "fieldConfig.defaults.max",
               "unit": "fieldConfig.defaults.unit", "field links": "fieldConfig.defaults.links", "links": "links",
               "transformations": "transformations", "description": "description", "interval": "interval",
               "maxDataPoints": "maxDataPoints", "timeFrom": "timeFrom", "timeShift": "timeShift",
               "hideTimeOverride": "hideTimeOverride", "transparent": "transparent"}
# Roots an escape hatch replaces whole when the original has nothing below them (raw cannot delete a key).
_EMPTY_ROOTS = ("options", "fieldConfig.defaults.custom")


@attrs.frozen
class PanelContext:
    """What converting a panel needs from its dashboard."""

    datasources: Mapping[str, str]  # the original's data source variable names -> ours
    panel_number: int = 0


@attrs.frozen
class ConvertedPanel:
    """A panel as our model writes it, and what the module file should say about it."""

    panel: Panel
    notes: tuple[str, ...] = ()


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if isinstance(value, float) else value


def _source_type(reference: Any) -> str | None:
    """Return the plugin type a data source reference names, if it names one."""
    kind = reference.get("type") if isinstance(reference, Mapping) else None
    return kind if isinstance(kind, str) and kind else None


def _targets(panel: Mapping[str, Any], notes: list[str]) -> tuple[tuple[Target, ...], dict[str, str]]:
    """Return the queries and, per original refId, the refId ours get (overrides by query follow them)."""
    targets: list[Target] = []
    refs: dict[str, str] = {}
    panel_type = _source_type(panel.get("datasource"))
    for number, target in enumerate(t for t in arr(panel.get("targets")) if isinstance(t, Mapping)):
        kind = _source_type(target.get("datasource")) or panel_type
        if kind not in (None, "prometheus", "datasource"):  # "datasource": Grafana's -- Mixed -- and -- Dashboard --
            notes.append(f"query {target.get('refId') or number + 1} is not imported: it reads a {kind} data "
                         "source, and module dashboards query Prometheus")
            continue
        expr = str(target.get("expr") or "").strip()
        if not expr:
            notes.append(f"query {target.get('refId') or number + 1} is not imported: it has no PromQL expression "
                         f"({short(dict(target), 80)})")
            continue
        legend = str(target.get("legendFormat") or "")
        instant = bool(target.get("instant"))
        if instant and target.get("range"):
            notes.append(f"query {target.get('refId')}: ran as both range and instant; imported as a range query")
            instant = False
        query_format = str(target.get("format") or "time_series")
        if query_format not in ("time_series", "table", "heatmap"):
            notes.append(f"query {target.get('refId')}: format {query_format!r} is not imported (time_series used)")
            query_format = "time_series"
        step = str(target.get("interval") or "")
        if step and not _STEP.fullmatch(step):
            notes.append(f"query {target.get('refId')}: min step {step!r} is not imported: not a duration or variable")
            step = ""
        factor = target.get("intervalFactor")
        factor = factor if isinstance(factor, int) and not isinstance(factor, bool) and 1 <= factor <= 10 else 1
        refs[str(target.get("refId") or "")] = ref_id(len(targets))
        targets.append(Target(expr, legend="" if legend == "__auto" else legend, instant=instant,
                              format=query_format,  # type: ignore[arg-type]
                              auto_legend=legend == "__auto" or bool(legend), step=step, interval_factor=factor,
                              hide=bool(target.get("hide")), exemplar=bool(target.get("exemplar"))))
    return tuple(targets), refs


def _thresholds(defaults: Mapping[str, Any]) -> tuple[Step, ...] | None:
    config = defaults.get("thresholds")
    if config is None:
        return (Step("green"), Step("red", 80))  # Grafana's default for a field without thresholds
    config = mapping(config)
    steps = [s for s in arr(config.get("steps")) if isinstance(s, Mapping)]
    if (config.get("mode") or "absolute") != "absolute" or not steps:
        return None
    try:
        return (Step(str(steps[0].get("color") or "green")),
                *(Step(str(s.get("color") or "green"), _float(s.get("value"))) for s in steps[1:]))
    except (TypeError, ValueError):
        return None


def _mappings(defaults: Mapping[str, Any]) -> tuple[ValueText, ...]:
    found: list[ValueText] = []
    for item in arr(defaults.get("mappings")):
        item = mapping(item)
        options = mapping(item.get("options"))
        kind = item.get("type")
        if kind == "value":
            for key, result in options.items():
                number = _float(_number(key))
                if number is None:
                    return ()
                found.append(ValueText(str(mapping(result).get("text") or ""), str(mapping(result).get("color") or ""),
                                       value=number))
        elif kind == "range":
            result = mapping(options.get("result"))
            found.append(ValueText(str(result.get("text") or ""), str(result.get("color") or ""),
                                   low=_float(options.get("from")), high=_float(options.get("to"))))
        elif kind == "regex":
            result = mapping(options.get("result"))
            found.append(ValueText(str(result.get("text") or ""), str(result.get("color") or ""),
                                   pattern=str(options.get("pattern") or "")))
        else:
            return ()
    return tuple(found)


def _number(text: Any) -> Any:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _overrides(config: Mapping[str, Any], refs: Mapping[str, str]) -> tuple[Override, ...]:
    found: list[Override] = []
    for item in arr(config.get("overrides")):
        item = mapping(item)
        matcher = mapping(item.get("matcher"))
        kind, pattern = matcher.get("id"), matcher.get("options")
        if kind not in ("byName", "byRegexp", "byFrameRefID") or not isinstance(pattern, str) or not pattern:
            return ()
        if kind == "byFrameRefID":
            if pattern not in refs:
                return ()
            pattern = refs[pattern]
        properties = [(str(mapping(p).get("id")), _linked(mapping(p).get("id"), mapping(p).get("value")))
                      for p in arr(item.get("properties"))]
        if not properties:
            return ()
        found.append(Override(kind, pattern, properties))
    return tuple(found)


# The keys Grafana's schema requires of a link (it types panel and field links as dashboard links), with the
# values that change nothing for a data link, which reads only title, url and targetBlank.
LINK_REQUIRED = {"type": "link", "icon": "external link", "tooltip": "", "tags": [], "asDropdown": False,
                 "includeVars": False, "keepTime": False, "targetBlank": False}


def _linked(prop_id: Any, value: Any) -> Any:
    """Return an override's `links` value with the keys the schema requires filled in."""
    if prop_id != "links" or not isinstance(value, list):
        return value
    return [{**LINK_REQUIRED, "title": "", **item} if isinstance(item, Mapping) else item for item in value]


def _links(items: Any) -> tuple[DataLink, ...]:
    return tuple(DataLink(str(mapping(link).get("title") or "link"), str(mapping(link).get("url") or "#"),
                          bool(mapping(link).get("targetBlank"))) for link in arr(items) if mapping(link).get("url"))


def _transformations(panel: Mapping[str, Any]) -> tuple[Transformation, ...]:
    found = []
    for item in arr(panel.get("transformations")):
        item = mapping(item)
        if set(item) - {"id", "options"}:
            return ()
        found.append(Transformation(str(item.get("id")), mapping(item.get("options"))))
    return tuple(found)


def _choice(value: Any, allowed: tuple[str, ...], default: str | None) -> Any:
    return value if value in allowed else default


def _whole(value: Any, low: int, high: int, default: int) -> int:
    number = _float(value)
    return int(number) if number is not None and number == int(number) and low <= number <= high else default


def _legend(options: Mapping[str, Any]) -> Legend:
    legend = mapping(options.get("legend"))
    calcs = [c for c in arr(legend.get("calcs")) if isinstance(c, str)]
    sort_by = legend.get("sortBy")
    return Legend(show=legend.get("showLegend") is not False and legend.get("displayMode") != "hidden",
                  display=_choice(legend.get("displayMode"), ("list", "table"), "list"),
                  placement=_choice(legend.get("placement"), ("bottom", "right"), "bottom"), calcs=tuple(calcs),
                  sort_by=sort_by if isinstance(sort_by, str) and sort_by else None,
                  sort_desc=bool(legend.get("sortDesc")))


def _graph(custom: Mapping[str, Any], options: Mapping[str, Any]) -> Graph:
    tooltip = mapping(options.get("tooltip"))
    mode = _choice(tooltip.get("mode"), ("multi", "single", "none"), "single")
    sort = _choice(tooltip.get("sort"), ("desc", "asc", "none"), "none")
    return Graph(tooltip=mode, tooltip_sort=None if sort == ("desc" if mode == "multi" else "none") else sort,
                 legend=_legend(options),
                 draw=_choice(custom.get("drawStyle"), ("line", "bars", "points"), "line"),
                 fill_opacity=_whole(custom.get("fillOpacity"), 0, 100, 0),
                 stacking=_choice(mapping(custom.get("stacking")).get("mode"), ("none", "normal", "percent"), "none"),
                 axis_placement=_choice(custom.get("axisPlacement"), ("auto", "left", "right", "hidden"), None),
                 line_width=_whole(custom.get("lineWidth"), 0, 10, 1),
                 show_points=_choice(custom.get("showPoints"), ("auto", "never", "always"), "auto"))


def _heatmap(options: Mapping[str, Any]) -> Heatmap:
    color, unit = mapping(options.get("color")), mapping(options.get("yAxis")).get("unit")
    return Heatmap(y_unit=unit if isinstance(unit, str) and unit else "short",
                   scheme=str(color.get("scheme") or "Oranges"), exponential=color.get("scale") == "exponential")


def _stat(options: Mapping[str, Any]) -> Stat:
    """Return the stat options; a mode the original leaves out is Grafana's default, not ours."""
    calcs = [c for c in arr(mapping(options.get("reduceOptions")).get("calcs")) if isinstance(c, str)]
    return Stat(color_mode=_choice(options.get("colorMode"), ("value", "background", "background_solid", "none"),
                                   "value"),
                graph_mode=_choice(options.get("graphMode"), ("area", "line", "none"), "area"),
                text_mode=_choice(options.get("textMode"), ("auto", "value", "value_and_name", "name", "none"),
                                  "auto"),
                orientation=_choice(options.get("orientation"), ("auto", "horizontal", "vertical"), "auto"),
                calcs=tuple(calcs) or ("lastNotNull",))


def _repeat(panel: Mapping[str, Any]) -> Repeat | None:
    variable = panel.get("repeat")
    if not isinstance(variable, str) or not variable:
        return None
    direction: Any = "v" if panel.get("repeatDirection") == "v" else "h"
    per_row = panel.get("maxPerRow")
    per_row = per_row if direction == "h" and isinstance(per_row, int) and 1 <= per_row <= 24 else None
    return Repeat(variable, direction, per_row)


def _datasource(panel: Mapping[str, Any], context: PanelContext, notes: list[str]) -> str:
    view = panel_view(panel)
    uid = view.get("datasource")
    if isinstance(uid, str) and uid.startswith("$") and uid[1:] in context.datasources:
        return context.datasources[uid[1:]]
    if uid is not None and arr(panel.get("targets")):
        notes.append(f"data source {short(uid, 60)} is not a data source variable of the dashboard: the panel reads "
                     f"${DATASOURCE_VARIABLE}")
    return DATASOURCE_VARIABLE


def model_panel(original: Mapping[str, Any], context: PanelContext) -> tuple[Panel, list[str]]:
    """Return the panel as our model's fields express it (no escape hatches yet) and notes."""
    notes: list[str] = []
    kind = str(original.get("type"))
    config = mapping(original.get("fieldConfig"))
    defaults = mapping(config.get("defaults"))
    grid = mapping(original.get("gridPos"))
    title = str(original.get("title") or "")
    if not title.strip() and kind != "text":
        title = f"Untitled {kind} panel {context.panel_number}"
        notes.append("the original panel has no title: it is named by kind and place")
    width = grid.get("w") if isinstance(grid.get("w"), int) and 1 <= grid["w"] <= 24 else None
    height = grid.get("h") if isinstance(grid.get("h"), int) and grid["h"] >= 1 else None
    if kind == "text":
        options = mapping(original.get("options"))
        mode: Any = options.get("mode") if options.get("mode") in ("markdown", "html", "code") else "markdown"
        content = str(options.get("content") or "") or " "
        queries = [t for t in arr(original.get("targets")) if isinstance(t, Mapping)]
        if queries or original.get("datasource"):
            notes.append(f"{len(queries)} query(ies) and the data source are not imported: a text panel runs no "
                         "query")
        return Panel("text", title, str(original.get("description") or ""), "", (),
                     style=Text(content, mode), width=width, height=height), notes
    targets, refs = _targets(original, notes)
    if not targets:
        raise ValueError("; ".join(notes) if notes else "it has no query")
    description = str(original.get("description") or "")
    silenced = (DESCRIPTION_SILENCE,) if not description.strip() else ()
    fields: dict[str, Any] = {}
    if kind == "timeseries":
        fields["style"] = _graph(obj(defaults.get("custom")), mapping(original.get("options")))
        label = obj(defaults.get("custom")).get("axisLabel")
        fields["axis_label"] = label if isinstance(label, str) else ""
    if kind == "heatmap":
        fields["style"] = _heatmap(mapping(original.get("options")))
    if kind == "stat":
        fields["style"] = _stat(mapping(original.get("options")))
    thresholds = _thresholds(defaults)
    if thresholds is not None:
        fields["thresholds"] = thresholds
    panel = Panel(
        kind, title, description, str(defaults.get("unit") or "none"), targets,  # type: ignore[arg-type]
        mappings=_mappings(defaults), min=_float(defaults.get("min")), max=_float(defaults.get("max")),
        decimals=defaults.get("decimals") if isinstance(defaults.get("decimals"), int)
        and not isinstance(defaults.get("decimals"), bool) else None,
        min_interval=str(original["interval"]) if isinstance(original.get("interval"), str)
        and original.get("interval") else None,
        width=width, height=height, silenced=silenced, overrides=_overrides(config, refs),
        data_links=_links(defaults.get("links")), links=_links(original.get("links")),
        transformations=_transformations(original), repeat=_repeat(original),
        datasource=_datasource(original, context, notes), **fields)
    return panel, notes


def rendered(panel: Panel) -> Json:
    """Return the panel's JSON as the build renders it (at its size, at the grid's origin)."""
    return render_panel(panel, 1, GridPos(0, 0, panel.width or 12, panel.height or 8))


def _differences(original: Mapping[str, Any], ours: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    view_a, view_b = panel_view(original), panel_view(ours)
    found = []
    for key in ("queries", "overrides", "datasource", "repeat", "kind", "title"):
        a, b = view_a.pop(key), view_b.pop(key)
        if key == "overrides":
            if any(True for _ in leaf_differences(a, b)):
                found.append(("overrides", a, b))
        else:
            found.extend((f"{key}.{path}".rstrip("."), x, y) for path, x, y in leaf_differences(a, b))
    found.extend(leaf_differences(view_a, view_b))
    return found


def _json_path(view_path: str) -> str | None:
    """Return the JSON path (dotted) a `panel_view` path stands for, cut before list indexes and odd keys."""
    if view_path == "overrides":
        return "fieldConfig.overrides"
    root, _, rest = view_path.partition(".")
    base = _VIEW_ROOTS.get(root.split("[")[0])
    if base is None:
        return None
    if root != root.split("[")[0]:
        return base
    keys = []
    for key in rest.split(".") if rest else []:
        bare = key.split("[")[0]
        if not _RAW_KEY.fullmatch(bare):
            break
        keys.append(bare)
        if bare != key:
            break
    return ".".join([base, *keys])


def _get(panel: Mapping[str, Any], path: str) -> Any:
    node: Any = panel
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return ABSENT
        node = node[key]
    return node


def _raw_for(original: Mapping[str, Any], path: str) -> tuple[str, Any] | None:
    """Return (path, value) setting the original's value at `path`, or at the nearest ancestor it has."""
    keys = path.split(".")
    while keys:
        here = ".".join(keys)
        value = _get(original, here)
        if value is not ABSENT:
            return here, value
        if here in _EMPTY_ROOTS:
            return here, {}
        if here == "fieldConfig.defaults":
            return None
        keys.pop()
    return None


SchemaCheck = Callable[[Panel], list[str]]


def _outermost(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options without those below another one's path: the shorter path replaces what they set."""
    return {path: value for path, value in options.items()
            if not any(path.startswith(f"{other}.") for other in options if other != path)}


def _with_defaults(original: Mapping[str, Any]) -> Json:
    """Return the panel with its options and custom field config as Grafana reads them (defaults filled in), so
    an escape hatch copies an object whole, with the keys the schema requires and the original left out."""
    view = panel_view(original)
    filled: Json = dict(original)
    if isinstance(view.get("options"), Mapping):
        filled["options"] = view["options"]
    if isinstance(view.get("custom"), Mapping):
        config = dict(mapping(original.get("fieldConfig")))
        config["defaults"] = {**mapping(config.get("defaults")), "custom": view["custom"]}
        filled["fieldConfig"] = config
    return filled


def convert_panel(original: Mapping[str, Any], context: PanelContext,
                  schema_errors: SchemaCheck | None = None) -> ConvertedPanel:
    """Return the panel in our model with escape hatches for the rest, and notes on what differs."""
    panel, notes = model_panel(original, context)  # a kind outside the model is refused by Panel itself
    raw: dict[str, Any] = {}
    source = _with_defaults(original)
    for _round in range(6):
        differences = [d for d in _differences(original, rendered(panel)) if not d[0].startswith(
            ("queries", "datasource", "kind", "title", "repeat"))]
        wanted: dict[str, Any] = {}
        for view_path, _before, _after in differences:
            json_path = _json_path(view_path)
            found = _raw_for(source, json_path) if json_path else None
            if found is not None and found[0].split(".")[0] not in RAW_FORBIDDEN:
                wanted[found[0]] = found[1]
        wanted = _outermost(wanted)
        added = {p: v for p, v in wanted.items() if raw.get(p, ABSENT) != v}
        if not added:
            break
        raw = _outermost({**raw, **added})
        panel = attrs.evolve(panel, raw=raw_options(raw))
    if schema_errors is not None:
        panel, dropped = _drop_refused(panel, schema_errors)
        notes.extend(dropped)
    renamed = {f"${theirs}": f"${ours}" for theirs, ours in context.datasources.items()}
    for view_path, before, after in _differences(original, rendered(panel)):
        if view_path.endswith("datasource") and renamed.get(before) == after:
            continue  # the dashboard's data source variable, renamed to ours on purpose
        notes.append(f"differs from the original: {view_path}: {short(before, 70)} -> {short(after, 70)}")
    return ConvertedPanel(panel, tuple(notes))


_SPLIT_DEPTH = 4
_OVERRIDE_PROPERTY = re.compile(r"^fieldConfig\.overrides\[(\d+)\]\.properties\[(\d+)\]")


def _drop_refused(panel: Panel, schema_errors: SchemaCheck) -> tuple[Panel, list[str]]:
    """Remove what Grafana's schema refuses: escape hatches, override properties, an unknown unit; note each."""
    dropped: list[str] = []
    pending = list(panel.raw)
    while pending:
        path, value = pending.pop(0)
        errors = schema_errors(panel)
        if not errors:
            return panel, dropped
        without = attrs.evolve(panel, raw=tuple(pair for pair in panel.raw if pair[0] != path))
        remaining = schema_errors(without)
        # One error may name several options ("'a', 'b' were unexpected"): removing one changes it.
        if len(remaining) > len(errors) or set(remaining) == set(errors):
            continue
        items = value.items if isinstance(value, FrozenMap) else ()
        children = [(f"{path}.{key}", child) for key, child in items]
        if children and len(path.split(".")) < _SPLIT_DEPTH and all(_RAW_KEY.fullmatch(k) for k, _ in items):
            # Keep what the schema accepts of an object: its keys one by one.
            panel = attrs.evolve(without, raw=(*without.raw, *children))
            pending = children + pending
            continue
        dropped.append(f"not imported: {path} = {short(thaw(value), 80)}: Grafana 11.6's schema refuses it "
                       f"({short(errors[0], 160)})")
        panel = without
    for _attempt in range(len(panel.overrides) * 8 + 2):
        errors = schema_errors(panel)
        if not errors:
            return panel, dropped
        found = next((m for m in map(_OVERRIDE_PROPERTY.match, errors) if m), None)
        unit_error = any(error.startswith("fieldConfig.defaults.unit") for error in errors)
        if found and int(found.group(1)) < len(panel.overrides):
            index, number = int(found.group(1)), int(found.group(2))
            override = panel.overrides[index]
            name, value = override.properties[number]
            dropped.append(f"not imported: override {override.matcher}={override.pattern!r} property {name} = "
                           f"{short(value, 60)}: Grafana 11.6's schema refuses it ({short(errors[0], 160)})")
            kept = tuple(p for n, p in enumerate(override.properties) if n != number)
            overrides = list(panel.overrides)
            if kept:
                overrides[index] = attrs.evolve(override, properties=kept)
            else:
                overrides.pop(index)
            panel = attrs.evolve(panel, overrides=tuple(overrides))
        elif unit_error:
            dropped.append(f"not imported: unit {panel.unit!r}: not one of Grafana's unit ids (shown as 'none')")
            panel = attrs.evolve(panel, unit="none")
        else:
            break
    errors = schema_errors(panel)
    if errors and panel.raw:
        dropped.append(f"not imported: every escape hatch ({', '.join(p for p, _ in panel.raw)}): the schema "
                       f"refuses the panel with them ({short(errors[0], 160)})")
        panel = attrs.evolve(panel, raw=())
    return panel, dropped
