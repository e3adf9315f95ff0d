"""Validate emitted dashboards against Grafana's own JSON Schemas (v11.6.x line of the pinned SDK).

The schemas ship unchanged in `dashbuild/schemas/grafana/v11.6.x/`. One documented point is relaxed
in memory, see `RELAXATIONS`. Panels, their options, field config and targets are validated one by
one, so an error names the panel instead of an unreadable `oneOf` failure at `panels[n]`.
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

SCHEMA_LINE = "v11.6.x"
PANEL_PLUGINS = ("timeseries", "stat", "piechart", "gauge", "bargauge", "table", "text")

# Each relaxation: (definition, property, replacement schema, why).
RELAXATIONS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("Threshold", "value", {"type": ["number", "null"]},
     "the base threshold step is -Infinity, which JSON carries as null; the schema's own description says "
     "'Nulls currently appear here when serializing -Infinity to JSON', and the v12 schema accepts null"),
)


@attrs.frozen
class SchemaError:
    """One schema violation, with the panel title when it is inside a panel."""

    panel: str | None
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _load(name: str) -> dict[str, Any]:
    text = resources.files("dashbuild").joinpath(f"schemas/grafana/{SCHEMA_LINE}/{name}.jsonschema.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


def _validator(definitions: dict[str, Any], ref: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{ref}", "definitions": definitions})


@attrs.frozen
class _Validators:
    dashboard: jsonschema.Draft7Validator
    panel: jsonschema.Draft7Validator
    row: jsonschema.Draft7Validator
    target: jsonschema.Draft7Validator
    options: dict[str, jsonschema.Draft7Validator]
    custom: dict[str, jsonschema.Draft7Validator]
    units: frozenset[str]


@cache
def _validators() -> _Validators:
    definitions = copy.deepcopy(_load("dashboard")["definitions"])
    for definition, prop, replacement, _why in RELAXATIONS:
        definitions[definition]["properties"][prop] = replacement
    options: dict[str, jsonschema.Draft7Validator] = {}
    custom: dict[str, jsonschema.Draft7Validator] = {}
    for plugin in PANEL_PLUGINS:
        plugin_defs = _load(plugin)["definitions"]
        options[plugin] = _validator(plugin_defs, "Options")
        if "FieldConfig" in plugin_defs:
            custom[plugin] = _validator(plugin_defs, "FieldConfig")
    prometheus = _load("prometheus")
    units = frozenset(d["const"] for d in _load("units")["definitions"].values() if "const" in d)
    return _Validators(
        dashboard=_validator(definitions, "Dashboard"),
        panel=_validator(definitions, "Panel"),
        row=_validator(definitions, "RowPanel"),
        target=_validator(prometheus["definitions"], "dataquery"),
        options=options,
        custom=custom,
        units=units,
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


def _panel_errors(panel: dict[str, Any], v: _Validators) -> Iterator[SchemaError]:
    title = str(panel.get("title", f"id {panel.get('id')}"))
    if panel.get("type") == "row":
        yield from _errors(v.row, {**panel, "panels": []}, title, "")
        for child in panel.get("panels", []):
            yield from _panel_errors(child, v)
        return
    yield from _errors(v.panel, panel, title, "")
    plugin = str(panel.get("type"))
    if plugin not in v.options:
        yield SchemaError(title, "type", f"no schema for panel plugin {plugin!r}")
        return
    yield from _errors(v.options[plugin], panel.get("options", {}), title, "options")
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    if plugin in v.custom and "custom" in defaults:
        yield from _errors(v.custom[plugin], defaults["custom"], title, "fieldConfig.defaults.custom")
    unit = defaults.get("unit")
    if unit is not None and unit not in v.units:
        yield SchemaError(title, "fieldConfig.defaults.unit", f"{unit!r} is not one of Grafana's unit ids")
    for index, target in enumerate(panel.get("targets", [])):
        yield from _errors(v.target, target, title, f"targets[{index}]")


def validate_dashboard(dashboard: dict[str, Any]) -> list[SchemaError]:
    """Return every schema violation of a dashboard JSON (empty when it is valid)."""
    v = _validators()
    errors = list(_errors(v.dashboard, {**dashboard, "panels": []}, None, ""))
    for panel in dashboard.get("panels", []):
        errors.extend(_panel_errors(panel, v))
    return errors
