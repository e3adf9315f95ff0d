"""Validate emitted dashboards against Grafana's own JSON Schemas (v11.6.x line of the pinned SDK).

The schemas ship unchanged in `dashbuild/schemas/grafana/v11.6.x/`. A few documented points are relaxed
in memory, see `RELAXATIONS`. Panels, their options, field config and targets are validated one by
one, so an error names the panel instead of an unreadable `oneOf` failure at `panels[n]`. Panel plugins
without a schema here are checked against the SDK's models (dashbuild/schema_sdk.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import attrs
import jsonschema

from dashbuild.schema_sdk import SDK_PLUGINS, sdk_problems
from dashbuild.schema_shape import Shape, Shapeless, shape_function

SCHEMA_LINE = "v11.6.x"
PANEL_PLUGINS = ("timeseries", "stat", "piechart", "gauge", "bargauge", "table", "text")

# Each relaxation: (definition, property, replacement schema, why).
_PROMETHEUS_ANNOTATION = ("the v11.6 schema lists the Grafana datasource's annotation fields only ('TODO.. this "
                          "should just be a normal query target'); the Prometheus datasource's annotation support "
                          "reads titleFormat, textFormat, tagKeys and useValueForTime from the annotation and moves "
                          "step into its query, which is how Grafana saves a Prometheus annotation")
_ANY_VALUE = ("the CUE source leaves this value free (`_`), which the export turned into 'object'; the SDK generated "
              "from the same CUE types it as any value, and Grafana's own overrides and field matchers hold strings "
              "and numbers (unit 's', matcher byName 'errors'); dashbuild/schema.py checks each override property "
              "against the field config schema instead")
RELAXATIONS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("Threshold", "value", {"type": ["number", "null"]},
     "the base threshold step is -Infinity, which JSON carries as null; the schema's own description says "
     "'Nulls currently appear here when serializing -Infinity to JSON', and the v12 schema accepts null"),
    ("DynamicConfigValue", "value", {}, _ANY_VALUE),
    ("MatcherConfig", "options", {}, _ANY_VALUE),
    ("AnnotationQuery", "step", {"type": "string"}, _PROMETHEUS_ANNOTATION),
    ("AnnotationQuery", "titleFormat", {"type": "string"}, _PROMETHEUS_ANNOTATION),
    ("AnnotationQuery", "textFormat", {"type": "string"}, _PROMETHEUS_ANNOTATION),
    ("AnnotationQuery", "tagKeys", {"type": "string"}, _PROMETHEUS_ANNOTATION),
    ("AnnotationQuery", "useValueForTime", {"type": "boolean"}, _PROMETHEUS_ANNOTATION),
)
# Unions of panel plugin schemas whose branches the export made overlap: in the CUE source each branch's `type`
# is a constant (a discriminated union), exported as the same enum with another default, so a value such as
# {"type": "gauge"} matches several branches and fails `oneOf`. Checked with `anyOf` instead: a value must still
# be one of the branches, whichever.
OVERLAPPING_UNIONS: tuple[tuple[str, str], ...] = (("table", "TableCellOptions"),)
# Field matchers whose option is the field's name, a regex of it, a query's ref id or a field type.
STRING_MATCHERS = frozenset({"byName", "byRegexp", "byFrameRefID", "byType"})


@attrs.frozen
class SchemaError:
    """One schema violation, with the panel title (and id, which names its module file) when inside a panel."""

    panel: str | None
    path: str
    message: str
    # Not compared: where a violation is found, not what it is (the fast and plain paths find the same).
    panel_id: int | None = attrs.field(default=None, eq=False)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _load(name: str) -> dict[str, Any]:
    text = resources.files("dashbuild").joinpath(f"schemas/grafana/{SCHEMA_LINE}/{name}.jsonschema.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


def _validator(definitions: dict[str, Any], ref: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{ref}", "definitions": definitions})


def dereference(definitions: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Return `node` with every local `$ref` inlined, except recursive ones: much faster to validate."""
    if isinstance(node, list):
        return [dereference(definitions, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # Draft-07 ignores the siblings of `$ref`, so the inlined definition replaces the whole node.
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        if name in seen:
            return node
        return dereference(definitions, definitions[name], (*seen, name))
    return {key: dereference(definitions, value, seen) for key, value in node.items()}


def _fast_validator(definitions: dict[str, Any], ref: str) -> jsonschema.Draft7Validator:
    schema = dereference(definitions, {"$ref": f"#/definitions/{ref}"})
    return jsonschema.Draft7Validator({**schema, "definitions": definitions})


_PLACEHOLDERS: dict[str, tuple[type, Any]] = {"string": (str, ""), "integer": (int, 0), "boolean": (bool, False)}


def free_properties(definition: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    """Return the properties whose schema is a bare type (string, integer, boolean) with no other constraint.

    Any value of that type is valid there, so such values cannot change a validation's outcome.
    """
    free = {}
    for name, schema in definition.get("properties", {}).items():
        constraint = {k: v for k, v in schema.items() if k not in ("description", "default")}
        if set(constraint) == {"type"} and constraint["type"] in _PLACEHOLDERS:
            free[name] = _PLACEHOLDERS[constraint["type"]]
    return free


class _Cached:
    """A validator that remembers the errors of every distinct instance, and of every distinct shape.

    Values of `free` properties (see `free_properties`) are replaced by a placeholder of their type before
    validating and keying: a panel's title or a query's `expr` differs per module, its validity does not.
    Instances are keyed by their `repr`, which tells apart everything JSON values can be (`True`, `1`, `1.0`,
    NaN and `None`, lists and tuples) and is faster to make than JSON text.
    An instance seen for the first time is then reduced to its shape (dashbuild/schema_shape.py: the values its
    validation cannot depend on, such as a panel's position or a variable's query, replaced by a marker), and
    instances of one shape are validated once: modules of different sizes and layouts share their validations.
    """

    def __init__(self, validator: jsonschema.Draft7Validator, free: dict[str, tuple[type, Any]] | None = None) -> None:
        self.validator = validator
        self.free = free or {}
        self.results: dict[str, list[tuple[str, str]]] = {}
        self.shape_of = shape_function(validator.schema)
        self.by_shape: dict[Shape, list[tuple[str, str]]] = {}

    def errors(self, instance: Any) -> list[tuple[str, str]]:
        """Return (path, message) of every violation of `instance`, sorted by path."""
        keyed = with_placeholders(instance, self.free)
        key = repr(keyed)
        found = self.results.get(key)
        if found is None:
            try:
                shape: Shape | None = self.shape_of(keyed)
            except Shapeless:
                shape = None
            found = self.by_shape.get(shape) if shape is not None else None
            if found is None:
                errors = sorted(self.validator.iter_errors(keyed), key=lambda e: list(map(str, e.absolute_path)))
                found = [(_path(e, ""), e.message) for e in errors]
                if shape is not None:
                    self.by_shape[shape] = found
            self.results[key] = found
        return found


def with_placeholders(instance: Any, free: dict[str, tuple[type, Any]]) -> Any:
    """Return `instance` with the values of its `free` properties (see `free_properties`) replaced by a
    placeholder of their type; bool is an int in Python, so only a value of exactly the declared type is."""
    if not free or not isinstance(instance, dict):
        return instance
    keyed = {}
    for key, value in instance.items():
        kind = free.get(key)
        keyed[key] = kind[1] if kind is not None and type(value) is kind[0] else value
    return keyed


@attrs.frozen
class _Validators:
    dashboard: jsonschema.Draft7Validator
    panel: jsonschema.Draft7Validator
    row: jsonschema.Draft7Validator
    target: jsonschema.Draft7Validator
    options: dict[str, jsonschema.Draft7Validator]
    custom: dict[str, jsonschema.Draft7Validator]
    units: frozenset[str]
    # The fast path: dereferenced schemas, panel parts validated separately and cached.
    fast_panel: _Cached
    fast_row: _Cached
    fast_dashboard: _Cached
    fast_field_config: _Cached
    fast_options: dict[str, _Cached]
    fast_custom: dict[str, _Cached]
    fast_target: _Cached
    # Override properties: one field config property at a time, so nothing is required.
    partial_defaults: _Cached
    partial_custom: dict[str, _Cached]
    # Whole panels (see `_panel_key`): the findings of every distinct panel, by path, whatever its title.
    panels: dict[str, list[tuple[str, str]]] = attrs.field(factory=dict)


@cache
def _validators() -> _Validators:
    definitions = copy.deepcopy(_load("dashboard")["definitions"])
    for definition, prop, replacement, _why in RELAXATIONS:
        definitions[definition]["properties"][prop] = replacement
    options: dict[str, jsonschema.Draft7Validator] = {}
    custom: dict[str, jsonschema.Draft7Validator] = {}
    fast_options: dict[str, _Cached] = {}
    fast_custom: dict[str, _Cached] = {}
    partial_custom: dict[str, _Cached] = {}
    for plugin in PANEL_PLUGINS:
        plugin_defs = _load(plugin)["definitions"]
        for union_plugin, union in OVERLAPPING_UNIONS:
            if union_plugin == plugin and "oneOf" in plugin_defs.get(union, {}):
                plugin_defs = {**plugin_defs, union: {"anyOf": plugin_defs[union]["oneOf"],
                                                      "description": plugin_defs[union].get("description", "")}}
        options[plugin] = _validator(plugin_defs, "Options")
        fast_options[plugin] = _Cached(_fast_validator(plugin_defs, "Options"))
        if "FieldConfig" in plugin_defs:
            custom[plugin] = _validator(plugin_defs, "FieldConfig")
            fast_custom[plugin] = _Cached(_fast_validator(plugin_defs, "FieldConfig"))
            partial = dereference(plugin_defs, {"$ref": "#/definitions/FieldConfig"})
            partial.pop("required", None)
            partial_custom[plugin] = _Cached(jsonschema.Draft7Validator({**partial, "definitions": plugin_defs}))
    prometheus = _load("prometheus")["definitions"]
    units = frozenset(d["const"] for d in _load("units")["definitions"].values() if "const" in d)
    return _Validators(
        dashboard=_validator(definitions, "Dashboard"),
        panel=_validator(definitions, "Panel"),
        row=_validator(definitions, "RowPanel"),
        target=_validator(prometheus, "dataquery"),
        options=options,
        custom=custom,
        units=units,
        fast_panel=_Cached(_fast_validator(definitions, "Panel"), free_properties(definitions["Panel"])),
        fast_row=_Cached(_fast_validator(definitions, "RowPanel"), free_properties(definitions["RowPanel"])),
        fast_dashboard=_Cached(_fast_validator(definitions, "Dashboard"), free_properties(definitions["Dashboard"])),
        fast_field_config=_Cached(_fast_validator(definitions, "FieldConfigSource")),
        fast_options=fast_options,
        fast_custom=fast_custom,
        fast_target=_Cached(_fast_validator(prometheus, "dataquery"), free_properties(prometheus["dataquery"])),
        partial_defaults=_Cached(_fast_validator(definitions, "FieldConfig")),
        partial_custom=partial_custom,
    )
def grafana_units() -> frozenset[str]:
    """Return Grafana's unit ids (from the units schema)."""
    return _validators().units


def _path(error: jsonschema.ValidationError, prefix: str) -> str:
    path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return path.lstrip(".")


def _errors(validator: jsonschema.Draft7Validator, instance: Any, panel: str | None,
            prefix: str) -> Iterator[SchemaError]:
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        yield SchemaError(panel, _path(error, prefix), error.message)


def _cached_errors(cached: _Cached, instance: Any, panel: str, prefix: str) -> Iterator[SchemaError]:
    for path, message in cached.errors(instance):
        yield SchemaError(panel, f"{prefix}.{path}".strip(".") if path else prefix, message)


def _panel_parts_fast(panel: dict[str, Any], v: _Validators, title: str) -> Iterator[SchemaError]:
    # The Panel schema types `targets` as an array of free objects and `options` as a free object;
    # both are kept in the top-level check (emptied) so that their types are still checked there.
    targets = panel.get("targets")
    top = {k: val for k, val in panel.items() if k not in ("fieldConfig", "options", "targets")}
    if "targets" in panel:
        top["targets"] = [{} for _ in targets] if isinstance(targets, list) and all(
            isinstance(t, dict) for t in targets) else targets
    if "options" in panel:
        top["options"] = {} if isinstance(panel["options"], dict) else panel["options"]
    yield from _cached_errors(v.fast_panel, top, title, "")
    if "fieldConfig" in panel:
        yield from _cached_errors(v.fast_field_config, panel["fieldConfig"], title, "fieldConfig")


def _object(value: Any) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else an empty one (the schema check reports the wrong type)."""
    return value if isinstance(value, dict) else {}


def _custom_errors(custom: Any, plugin: str, v: _Validators, title: str, prefix: str, fast: bool,
                   partial: bool = False) -> Iterator[SchemaError]:
    """Yield the errors of a `custom` field config: the plugin's JSON Schema, else the SDK's model."""
    if plugin in SDK_PLUGINS:
        for path, message in sdk_problems(SDK_PLUGINS[plugin][1], custom):
            yield SchemaError(title, f"{prefix}.{path}".strip("."), message)
    elif plugin not in v.custom:
        if custom not in ({}, None):
            yield SchemaError(title, prefix, f"panel plugin {plugin!r} has no custom field config")
    elif partial:
        yield from _cached_errors(v.partial_custom[plugin], custom, title, prefix)
    elif fast:
        yield from _cached_errors(v.fast_custom[plugin], custom, title, prefix)
    else:
        yield from _errors(v.custom[plugin], custom, title, prefix)


def _unit_errors(unit: Any, v: _Validators, title: str, path: str) -> Iterator[SchemaError]:
    # A unit of another type (the schema reports it too) is not looked up: a list or object is not hashable.
    if unit is not None and (not isinstance(unit, str) or unit not in v.units):
        yield SchemaError(title, path, f"{unit!r} is not one of Grafana's unit ids")


@cache
def _custom_property(plugin: str, path: tuple[str, ...]) -> dict[str, Any] | None:
    """Return the schema of a property inside a panel plugin's custom field config (None when there is none)."""
    definitions = _load(plugin)["definitions"]
    node: Any = dereference(definitions, {"$ref": "#/definitions/FieldConfig"})
    for key in path:
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or key not in properties:
            return None
        node = properties[key]
    return {**node, "definitions": definitions} if isinstance(node, dict) else None


def _override_errors(field_config: dict[str, Any], plugin: str, v: _Validators, title: str,
                     fast: bool) -> Iterator[SchemaError]:
    """Yield the errors of each override: its matcher's option, and each property as a field config property
    (`custom.x` against the plugin's custom field config), which the schema leaves free (see RELAXATIONS)."""
    overrides = field_config.get("overrides")
    for index, override in enumerate(overrides if isinstance(overrides, list) else []):
        where = f"fieldConfig.overrides[{index}]"
        matcher = _object(_object(override).get("matcher"))
        if isinstance(matcher.get("id"), str) and matcher["id"] in STRING_MATCHERS and not isinstance(
                matcher.get("options"), str):
            yield SchemaError(title, f"{where}.matcher.options",
                              f"{matcher.get('options')!r:.60} is not a string, which {matcher.get('id')} needs")
        properties = _object(override).get("properties")
        for number, prop in enumerate(properties if isinstance(properties, list) else []):
            prop = _object(prop)
            if "value" not in prop or not isinstance(prop.get("id"), str):
                continue
            path = f"{where}.properties[{number}].value"
            *parents, last = prop["id"].split(".")
            if parents == ["custom"]:
                for error in _custom_errors({last: prop["value"]}, plugin, v, title, path, fast, partial=True):
                    yield attrs.evolve(error, path=error.path.replace(f"{path}.{last}", path, 1))
                continue
            if parents[:1] == ["custom"] and plugin in v.custom:
                # A path into a custom option (`custom.hideFrom.viz`): Grafana sets it inside that option's object.
                leaf = _custom_property(plugin, (*parents[1:], last))
                if leaf is None:
                    yield SchemaError(title, f"{where}.properties[{number}].id",
                                      f"{prop['id']!r} is not a field config property")
                else:
                    for error in jsonschema.Draft7Validator(leaf).iter_errors(prop["value"]):
                        yield SchemaError(title, path, error.message)
                continue
            if parents:
                yield SchemaError(title, f"{where}.properties[{number}].id",
                                  f"{prop['id']!r} is not a field config property")
                continue
            for error_path, message in v.partial_defaults.errors({last: prop["value"]}):
                yield SchemaError(title, f"{path}{error_path.removeprefix(last)}" if error_path else path, message)
            if last == "unit":
                yield from _unit_errors(prop["value"], v, title, path)


def _panel_key(panel: dict[str, Any], v: _Validators) -> str:
    """Return what the findings of a (non-row) panel depend on: the panel with the values of its own and its
    targets' free properties (titles, ids, queries, legends) replaced, as the part validations replace them."""
    keyed = with_placeholders(panel, v.fast_panel.free)
    targets = panel.get("targets")
    if type(targets) is list:
        keyed["targets"] = [with_placeholders(target, v.fast_target.free) for target in targets]
    return repr(keyed)


def _panel_errors(panel: dict[str, Any], v: _Validators, fast: bool = True) -> Iterator[SchemaError]:
    title = str(panel.get("title", f"id {panel.get('id')}"))
    if panel.get("type") == "row":
        if fast:
            yield from _cached_errors(v.fast_row, {**panel, "panels": []}, title, "")
        else:
            yield from _errors(v.row, {**panel, "panels": []}, title, "")
        for child in panel.get("panels", []):
            yield from _panel_errors(child, v, fast)
        return
    panel_id = panel.get("id") if type(panel.get("id")) is int else None
    if not fast:
        yield from (attrs.evolve(error, panel_id=panel_id) for error in _panel_checks(panel, v, title, fast))
        return
    # One lookup for the whole panel: the same panel in every module (another title, query, id) is checked once.
    key = _panel_key(panel, v)
    found = v.panels.get(key)
    if found is None:
        found = [(error.path, error.message) for error in _panel_checks(panel, v, title, fast)]
        v.panels[key] = found
    for path, message in found:
        yield SchemaError(title, path, message, panel_id)


def _panel_checks(panel: dict[str, Any], v: _Validators, title: str, fast: bool) -> Iterator[SchemaError]:
    if fast:
        yield from _panel_parts_fast(panel, v, title)
    else:
        yield from _errors(v.panel, panel, title, "")
    plugin = str(panel.get("type"))
    options = panel.get("options", {})
    if plugin in SDK_PLUGINS:
        for path, message in sdk_problems(SDK_PLUGINS[plugin][0], options):
            yield SchemaError(title, f"options.{path}".strip("."), message)
    elif plugin not in v.options:
        yield SchemaError(title, "type", f"no schema for panel plugin {plugin!r}")
        return
    elif fast:
        yield from _cached_errors(v.fast_options[plugin], options, title, "options")
    else:
        yield from _errors(v.options[plugin], options, title, "options")
    field_config = _object(panel.get("fieldConfig"))
    defaults = _object(field_config.get("defaults"))
    if "custom" in defaults:
        yield from _custom_errors(defaults["custom"], plugin, v, title, "fieldConfig.defaults.custom", fast)
    yield from _unit_errors(defaults.get("unit"), v, title, "fieldConfig.defaults.unit")
    yield from _override_errors(field_config, plugin, v, title, fast)
    targets = panel.get("targets", [])
    for index, target in enumerate(targets if isinstance(targets, list) else []):
        if fast and isinstance(target, dict):
            yield from _cached_errors(v.fast_target, target, title, f"targets[{index}]")
        else:
            yield from _errors(v.target, target, title, f"targets[{index}]")


def validate_dashboard(dashboard: dict[str, Any], fast: bool = True) -> list[SchemaError]:
    """Return every schema violation of a dashboard JSON (empty when it is valid).

    `fast=False` validates each panel whole against the schema as published; the default validates the
    same definitions part by part, dereferenced and cached, with the same findings (tests compare them).
    """
    v = _validators()
    top = {**dashboard, "panels": []}
    errors = [SchemaError(None, path, message) for path, message in v.fast_dashboard.errors(top)] if fast else \
        list(_errors(v.dashboard, top, None, ""))
    for panel in dashboard.get("panels", []):
        errors.extend(_panel_errors(panel, v, fast) if isinstance(panel, dict) else
                      [SchemaError(None, "panels", f"{panel!r:.60} is not a panel object")])
    return errors
