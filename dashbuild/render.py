"""Compile a DashboardSpec to Grafana dashboard JSON with grafana-foundation-sdk builders.

Panels are compiled in dashbuild/render_panels.py; this module adds the dashboard: variables, annotations,
links, rows, and the panel ids derived from the panels' keys.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from dashbuild.render_panels import datasource_ref, render_panel
from dashbuild.sdk_json import sdk_json
from panels.keys import panel_ids, panel_keys, row_keys
from panels.layout import layout
from panels.settings import DATASOURCE_NAME, DATASOURCE_UID, DATASOURCE_VARIABLE
from panels.spec import DashboardSpec, Link, TagLink
from panels.variables import (
    AdhocVariable,
    Annotation,
    AnyVariable,
    ConstantVariable,
    CustomVariable,
    IntervalVariable,
    TextboxVariable,
    Variable,
)

DATASOURCE_REF = datasource_ref(DATASOURCE_VARIABLE)
# Grafana's own annotation (alerts and annotations saved on the dashboard), as Grafana writes it.
BUILT_IN_ANNOTATION: dict[str, Any] = {
    "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
    "target": {"limit": 100, "matchAny": False, "tags": [], "type": "dashboard"},
}
VariableBuilder = (db.QueryVariable | db.CustomVariable | db.IntervalVariable | db.ConstantVariable
                   | db.TextBoxVariable | db.DatasourceVariable | db.AdHocVariable)


def _datasource_variable() -> db.DatasourceVariable:
    return (db.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")
            .current(dm.VariableOption(selected=True, text=DATASOURCE_NAME, value=DATASOURCE_UID)))


def _query_variable(variable: Variable) -> db.QueryVariable:
    builder = (db.QueryVariable(variable.name).label(variable.label).query(variable.query)
               .datasource(datasource_ref(variable.datasource)).multi(variable.multi)
               .include_all(variable.include_all).refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
               .sort(dm.VariableSort(variable.sort)))
    if variable.default is not None:
        builder = builder.current(_selected(variable.default))
    elif variable.include_all:
        builder = builder.current(dm.VariableOption(selected=True, text="All", value="$__all"))
    if variable.all_value is not None:
        builder = builder.all_value(variable.all_value)
    if variable.regex:
        builder = builder.regex(variable.regex)
    if variable.hidden:
        builder = builder.hide(dm.VariableHide.HIDE_VARIABLE)
    return builder


def _selected(text: str) -> dm.VariableOption:
    return dm.VariableOption(selected=True, text=text, value=text)


def _custom_variable(variable: CustomVariable) -> db.CustomVariable:
    builder = (db.CustomVariable(variable.name).label(variable.label).values(",".join(variable.values))
               .multi(variable.multi).include_all(variable.include_all))
    if variable.default is None and variable.include_all:
        builder = builder.current(dm.VariableOption(selected=True, text="All", value="$__all"))
    else:
        builder = builder.current(_selected(variable.default or variable.values[0]))
    if variable.all_value is not None:
        builder = builder.all_value(variable.all_value)
    return builder.hide(dm.VariableHide.HIDE_VARIABLE) if variable.hidden else builder


def _interval_variable(variable: IntervalVariable) -> db.IntervalVariable:
    builder = (db.IntervalVariable(variable.name).label(variable.label).values(",".join(variable.values))
               .current(_selected(variable.default or variable.values[0])).auto(variable.auto))
    return builder.hide(dm.VariableHide.HIDE_VARIABLE) if variable.hidden else builder


def _variable(variable: AnyVariable) -> VariableBuilder:
    if isinstance(variable, Variable):
        return _query_variable(variable)
    if isinstance(variable, CustomVariable):
        return _custom_variable(variable)
    if isinstance(variable, IntervalVariable):
        return _interval_variable(variable)
    if isinstance(variable, ConstantVariable):
        return db.ConstantVariable(variable.name).value(variable.value)
    if isinstance(variable, TextboxVariable):
        textbox = (db.TextBoxVariable(variable.name).label(variable.label).default_value(variable.default)
                   .current(_selected(variable.default)))
        return textbox.hide(dm.VariableHide.HIDE_VARIABLE) if variable.hidden else textbox
    if isinstance(variable, AdhocVariable):
        adhoc = db.AdHocVariable(variable.name).datasource(datasource_ref(variable.datasource))
        if variable.label:  # some Grafana versions show `label ?? name`, so an empty label would hide the name
            adhoc = adhoc.label(variable.label)
        return adhoc.hide(dm.VariableHide.HIDE_VARIABLE) if variable.hidden else adhoc
    source = db.DatasourceVariable(variable.name).label(variable.label).type("prometheus")
    if variable.regex:
        source = source.regex(variable.regex)
    return source.hide(dm.VariableHide.HIDE_VARIABLE) if variable.hidden else source


def _link(link: Link | TagLink) -> db.DashboardLink:
    if isinstance(link, TagLink):
        return (db.DashboardLink(link.title).type(dm.DashboardLinkType.DASHBOARDS).tooltip(link.tooltip)
                .icon("dashboard").tags(list(link.tags)).as_dropdown(link.as_dropdown).target_blank(False)
                .include_vars(False).keep_time(True))
    return (db.DashboardLink(link.title).type(dm.DashboardLinkType.LINK).url(f"/d/{link.uid}").tooltip(link.tooltip)
            .icon("dashboard").tags([]).as_dropdown(False).target_blank(False).include_vars(False)
            .keep_time(True))


def _annotation(annotation: Annotation) -> dict[str, Any]:
    # The Prometheus datasource reads these keys from the annotation itself (and moves expr and step into
    # its query), which is how Grafana saves a Prometheus annotation; the SDK's model has only `expr`.
    rendered: dict[str, Any] = {
        "name": annotation.name, "datasource": {"type": "prometheus", "uid": f"${{{annotation.datasource}}}"},
        "enable": annotation.enable, "hide": annotation.hide, "iconColor": annotation.icon_color,
        "expr": annotation.expr, "step": annotation.step, "useValueForTime": annotation.use_value_for_time,
    }
    for key, value in (("titleFormat", annotation.title_format), ("textFormat", annotation.text_format),
                       ("tagKeys", annotation.tag_keys)):
        if value:
            rendered[key] = value
    return rendered


def _auto_interval_settings(rendered: dict[str, Any], variables: Sequence[AnyVariable]) -> None:
    """Set an interval variable's auto step settings, which the SDK's builder has no method for (when not
    Grafana's defaults, so other dashboards' JSON stays as it was)."""
    entries = {str(v.get("name")): v for v in rendered.get("templating", {}).get("list", [])}
    for variable in variables:
        if isinstance(variable, IntervalVariable) and (variable.auto_count, variable.auto_min) != (30, "10s"):
            entries[variable.name].update({"auto_count": variable.auto_count, "auto_min": variable.auto_min})


def render_dashboard(spec: DashboardSpec) -> dict[str, Any]:
    """Return the dashboard as a JSON-ready dict (classic v1 model, no `id`)."""
    builder = (
        db.Dashboard(spec.title).uid(spec.uid).description(spec.description).tags(list(spec.tags))
        .readonly().timezone("browser").refresh(spec.refresh).time(spec.time_from, "now")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(_datasource_variable())
    )
    for variable in spec.variables:
        builder = builder.with_variable(_variable(variable))
    for link in spec.links:
        builder = builder.link(_link(link))
    model = builder.build()
    # Panels are placed by our layout, so they are set directly: the SDK's own
    # placement would move panels whose position is (0, 0).
    # Ids come from the panels' keys, not their order: they stay when a panel is retitled or moved.
    keys, rows = panel_keys(spec.rows), row_keys(spec.rows)
    ids = panel_ids([*(key for key in rows if key), *(key for row in keys for key in row)])
    panels: list[dict[str, Any]] = []
    for placed, row_key, panel_keys_of_row in zip(layout(spec.rows), rows, keys, strict=True):
        children = [render_panel(panel, ids[key], pos)
                    for (panel, pos), key in zip(placed.panels, panel_keys_of_row, strict=True)]
        if placed.pos is None or row_key is None:  # a headerless first row: its panels sit at the top
            panels.extend(children)
            continue
        header = db.Row(placed.row.title).id(ids[row_key]).collapsed(placed.row.collapsed).grid_pos(
            dm.GridPos(h=placed.pos.h, w=placed.pos.w, x=placed.pos.x, y=placed.pos.y))
        row: dict[str, Any] = sdk_json((header.repeat(placed.row.repeat) if placed.row.repeat else header).build())
        panels.append(row)
        if placed.row.collapsed:
            row["panels"] = children
        else:
            panels.extend(children)
    # The panels are plain JSON already (render_panel): the model around them is converted without them.
    model.panels = []
    rendered: dict[str, Any] = sdk_json(model)
    rendered["panels"] = panels
    _auto_interval_settings(rendered, spec.variables)
    if spec.annotations:
        annotations = [copy.deepcopy(BUILT_IN_ANNOTATION), *(_annotation(a) for a in spec.annotations)]
        rendered["annotations"] = {"list": annotations}
    return rendered
