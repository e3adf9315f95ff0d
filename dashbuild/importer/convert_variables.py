"""A migrated dashboard's template variables and annotations as our value objects, with notes for the rest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dashbuild.importer.compare_values import datasource_uid, mapping
from dashbuild.importer.migrate_common import short
from panels import variables as v
from panels.settings import DATASOURCE_VARIABLE

HIDE_VARIABLE = 2


def primary_datasource(templating: Sequence[Mapping[str, Any]]) -> str | None:
    """Return the name of the dashboard's Prometheus data source variable (the first), which becomes ours."""
    for variable in templating:
        if variable.get("type") == "datasource" and str(variable.get("query") or "prometheus") == "prometheus":
            return str(variable.get("name") or "") or None
    return None


def _source(reference: Any, datasources: Mapping[str, str]) -> str | None:
    uid = datasource_uid(reference)
    if uid is None:
        return DATASOURCE_VARIABLE
    if isinstance(uid, str) and uid.startswith("$") and uid[1:] in datasources:
        return datasources[uid[1:]]
    return None


def _current(variable: Mapping[str, Any]) -> str | None:
    value = mapping(variable.get("current")).get("value")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return str(value) if isinstance(value, str) and value and value != "$__all" else None


def _one(variable: Mapping[str, Any], datasources: Mapping[str, str]) -> v.AnyVariable | str:
    """Return the variable, or why it is not imported."""
    kind, name = variable.get("type"), str(variable.get("name") or "")
    if not v.NAME_RE.fullmatch(name):
        return f"{name!r} is not a variable name Grafana substitutes"
    label = str(variable.get("label") or "")
    hidden = variable.get("hide") == HIDE_VARIABLE
    if kind == "query":
        query = variable.get("query")
        text = str(mapping(query).get("query", "")) if isinstance(query, Mapping) else str(query or "")
        source = _source(variable.get("datasource"), datasources)
        if source is None:
            return f"its data source {short(variable.get('datasource'), 60)} is not a data source variable"
        all_value = variable.get("allValue")
        sort = variable.get("sort")
        return v.Variable(name, label, text, str(variable.get("regex") or ""),
                          str(all_value) if isinstance(all_value, str) and all_value else None, hidden, source,
                          multi=bool(variable.get("multi")), include_all=bool(variable.get("includeAll")),
                          default=_current(variable),
                          sort=sort if isinstance(sort, int) and not isinstance(sort, bool) and 0 <= sort <= 8 else 0)
    if kind == "custom":
        values = [part.strip() for part in str(variable.get("query") or "").split(",")]
        all_value = variable.get("allValue")
        default = _current(variable)
        return v.CustomVariable(name, label, values, default if default in values else None,
                                bool(variable.get("multi")), bool(variable.get("includeAll")),
                                str(all_value) if isinstance(all_value, str) and all_value else None, hidden)
    if kind == "interval":
        values = [part.strip() for part in str(variable.get("query") or "").split(",") if part.strip()]
        default = _current(variable)
        count, least = variable.get("auto_count"), variable.get("auto_min")
        return v.IntervalVariable(name, label, values, default if default in values else None,
                                  bool(variable.get("auto")), hidden,
                                  count if isinstance(count, int) and not isinstance(count, bool) else 30,
                                  least if isinstance(least, str) and least else "10s")
    if kind == "constant":
        return v.ConstantVariable(name, str(variable.get("query") or ""))
    if kind == "textbox":
        return v.TextboxVariable(name, label, str(variable.get("query") or ""), hidden)
    if kind == "datasource":
        if variable.get("query") not in ("prometheus", None):
            return f"a {variable.get('query')} data source variable: the model's are Prometheus"
        return v.DatasourceVariable(name, label, str(variable.get("regex") or ""), hidden)
    if kind == "adhoc":
        source = _source(variable.get("datasource"), datasources)
        if source is None:
            return f"its data source {short(variable.get('datasource'), 60)} is not a data source variable"
        return v.AdhocVariable(name, label, source, hidden)
    return f"the model has no {kind} variables"


def variables_of(templating: Sequence[Mapping[str, Any]], primary: str | None
                 ) -> tuple[tuple[v.AnyVariable, ...], dict[str, str], list[str]]:
    """Return the variables, the data source variable names mapped to ours, and notes.

    The dashboard's Prometheus data source variable becomes the `datasource` variable every dashboard has.
    """
    datasources = {primary: DATASOURCE_VARIABLE} if primary else {}
    for variable in templating:
        name = str(variable.get("name") or "")
        if variable.get("type") == "datasource" and name and name != primary:
            datasources[name] = name
    found: list[v.AnyVariable] = []
    notes: list[str] = []
    taken = {DATASOURCE_VARIABLE}
    for variable in templating:
        name = str(variable.get("name") or "")
        if variable.get("type") == "datasource" and name == primary:
            if name != DATASOURCE_VARIABLE:
                notes.append(f"variable ${name} is the dashboard's Prometheus data source: it becomes "
                             f"${DATASOURCE_VARIABLE}, which every module dashboard has")
            continue
        if name in taken:
            notes.append(f"variable {name!r} is not imported: a variable of that name comes first (or it is "
                         f"${DATASOURCE_VARIABLE}, which every module dashboard has)")
            continue
        try:
            made = _one(variable, datasources)
        except (TypeError, ValueError) as error:
            made = str(error)
        if isinstance(made, str):
            notes.append(f"variable {name!r} is not imported: {made}")
        else:
            found.append(made)
            taken.add(name)
    return tuple(found), datasources, notes


def annotations_of(annotations: Sequence[Mapping[str, Any]], datasources: Mapping[str, str]
                   ) -> tuple[tuple[v.Annotation, ...], list[str]]:
    """Return the Prometheus query annotations (Grafana's built-in one is always there) and notes."""
    found: list[v.Annotation] = []
    notes: list[str] = []
    for annotation in annotations:
        name = str(annotation.get("name") or "")
        if annotation.get("builtIn"):
            continue
        source = _source(annotation.get("datasource"), datasources)
        expr = str(annotation.get("expr") or "")
        if source is None or not expr:
            notes.append(f"annotation {name!r} is not imported: not a Prometheus query annotation of a data "
                         "source variable")
            continue
        step = str(annotation.get("step") or "60s")
        try:
            found.append(v.Annotation(name or "Annotation", expr, source, str(annotation.get("iconColor") or "red"),
                                      annotation.get("enable", True) is not False, bool(annotation.get("hide")),
                                      str(annotation.get("titleFormat") or ""), str(annotation.get("textFormat") or ""),
                                      str(annotation.get("tagKeys") or ""), step,
                                      bool(annotation.get("useValueForTime"))))
        except (TypeError, ValueError) as error:
            notes.append(f"annotation {name!r} is not imported: {error}")
    return tuple(found), notes
