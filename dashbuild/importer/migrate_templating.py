"""Template variables and annotations: Grafana's schema steps for them (schemas 6 to 36)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashbuild.importer.migrate_common import Json, Notes, datasource_ref

# Variable keys whose null Grafana reads as "not set" (the v11.6 schema rejects the nulls).
_NULL_IS_ABSENT = ("label", "description", "allValue", "regex", "definition", "sort", "skipUrlSync")
# The variable tags feature was removed in schema 28.
_TAG_KEYS = ("tags", "tagsQuery", "tagValuesQuery", "useTags")


def datasource_plugins(templating: Any) -> dict[str, str]:
    """Return the plugin type each data source variable selects (`{"datasource": "prometheus"}`)."""
    variables = templating.get("list") if isinstance(templating, dict) else None
    return {str(v.get("name")): v["query"] for v in (variables if isinstance(variables, list) else [])
            if isinstance(v, dict) and v.get("type") == "datasource" and isinstance(v.get("query"), str)}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def migrate_variable(variable: Json, old_version: int, plugin_of: Mapping[str, str], notes: Notes) -> Json:
    """Return one template variable in today's model."""
    label = f"variable {variable.get('name')!r}"
    for key in _NULL_IS_ABSENT:
        if key in variable and variable[key] is None:
            del variable[key]
    if old_version < 6 and variable.get("type") in (None, "filter"):
        variable["type"] = "query"
    if old_version < 12:
        if "refresh" in variable:
            variable["refresh"] = 1 if variable["refresh"] else 0
        if variable.pop("hideVariable", False):
            variable["hide"] = 2
        elif variable.pop("hideLabel", False):
            variable["hide"] = 1
    current = variable.get("current")
    if isinstance(current, dict) and not current.get("tags", True):
        del current["tags"]  # the variable tags of Grafana < 7.5
    if old_version < 23 and isinstance(current, dict) and current and variable.get("type") in ("query", "custom"):
        # A multi-value variable holds lists, a single-value one a value.
        if variable.get("multi") and not isinstance(current.get("value"), list):
            current["value"], current["text"] = _as_list(current.get("value")), _as_list(current.get("text"))
        elif not variable.get("multi") and isinstance(current.get("value"), list):
            current["value"] = (current["value"] or [""])[0]
            current["text"] = (_as_list(current.get("text")) or [""])[0]
    if old_version < 27 and variable.get("type") == "constant":
        query = variable.get("query") or ""
        variable["current"] = {"selected": True, "text": query, "value": query}
        variable["options"] = [variable["current"]]
        if variable.get("hide", 0) in (0, 1):
            variable["type"] = "textbox"  # a visible constant is what a text box is today
    for key in _TAG_KEYS:
        if key in variable and (not variable[key] or old_version < 28):
            del variable[key]
        elif key in variable:
            notes.add(None, f"{label}: {key} left as is: variable tags were removed in Grafana 7.5")
    if old_version < 29 and variable.get("type") == "query":
        if variable.get("refresh") not in (1, 2):
            variable["refresh"] = 1
        if variable.get("options"):
            variable["options"] = []
    if "datasource" in variable:
        variable["datasource"] = datasource_ref(variable["datasource"], plugin_of, notes, None)
    return variable


def migrate_annotation(annotation: Json, plugin_of: Mapping[str, str], notes: Notes) -> Json:
    """Return one annotation query with its data source as a reference (schema 36)."""
    if "datasource" in annotation:
        annotation["datasource"] = datasource_ref(annotation["datasource"], plugin_of, notes, None)
    return annotation
