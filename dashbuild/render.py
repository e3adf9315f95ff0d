"""Compile a DashboardSpec to Grafana dashboard JSON with grafana-foundation-sdk builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import piechart, stat, timeseries
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import piechart as pm

from panels.keys import panel_ids, panel_keys, row_keys
from panels.layout import GridPos, layout
from panels.settings import DATASOURCE_NAME, DATASOURCE_UID, DATASOURCE_VARIABLE
from panels.spec import DashboardSpec, Panel, Step, ValueText, Variable

DATASOURCE_REF = dm.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")

PanelBuilder = timeseries.Panel | stat.Panel | piechart.Panel


def _ref_id(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"Q{index}"


def _thresholds(steps: tuple[Step, ...]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=step.value, color=step.color) for step in steps])


def _mapping(mapping: ValueText) -> dm.ValueMap | dm.RangeMap:
    result = dm.ValueMappingResult(text=mapping.text, color=mapping.color)
    if mapping.value is not None:
        return dm.ValueMap(options={f"{mapping.value:g}": result})
    return dm.RangeMap(options=dm.DashboardRangeMapOptions(from_val=mapping.low, to=mapping.high, result=result))


def _timeseries(panel: Panel) -> timeseries.Panel:
    builder = (
        timeseries.Panel()
        .legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST)
                .placement(cm.LegendPlacement.BOTTOM).show_legend(True).calcs([]))
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
        .draw_style(cm.GraphDrawStyle.BARS if panel.bars else cm.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(80 if panel.bars else 10)
        .show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL if panel.stacked else cm.StackingMode.NONE))
    )
    if panel.axis_label:
        builder = builder.axis_label(panel.axis_label)
    return builder


def _stat(panel: Panel) -> stat.Panel:
    instant = all(t.instant for t in panel.targets)
    return (
        stat.Panel()
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]))
        .color_mode(cm.BigValueColorMode.BACKGROUND if panel.mappings else cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.NONE if instant else cm.BigValueGraphMode.AREA)
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME if len(panel.targets) > 1 else cm.BigValueTextMode.AUTO)
        .justify_mode(cm.BigValueJustifyMode.AUTO)
        .orientation(cm.VizOrientation.AUTO)
    )


def _piechart(panel: Panel) -> piechart.Panel:
    return (
        piechart.Panel()
        .pie_type(pm.PieChartType.DONUT)
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]))
        .legend(piechart.PieChartLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
                .placement(cm.LegendPlacement.RIGHT).show_legend(True)
                .values([pm.PieChartLegendValues.VALUE, pm.PieChartLegendValues.PERCENT]))
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.SINGLE).sort(cm.SortOrder.NONE))
    )


_KINDS: dict[str, Callable[[Panel], PanelBuilder]] = {"timeseries": _timeseries, "stat": _stat,
                                                      "piechart": _piechart}


def render_panel(panel: Panel, panel_id: int, pos: GridPos) -> PanelBuilder:
    """Return an SDK panel builder for one placed panel."""
    factory = _KINDS.get(panel.kind)
    if factory is None:
        raise ValueError(f"panel kind {panel.kind!r} is not supported yet")
    builder = (
        factory(panel)
        .id(panel_id)
        .title(panel.title)
        .description(panel.description)
        .datasource(DATASOURCE_REF)
        .unit(panel.unit)
        .thresholds(_thresholds(panel.thresholds))
        .grid_pos(dm.GridPos(h=pos.h, w=pos.w, x=pos.x, y=pos.y))
    )
    for index, target in enumerate(panel.targets):
        query = (prom.Dataquery().expr(target.expr).ref_id(_ref_id(index))
                 .legend_format(target.legend or "__auto").datasource(DATASOURCE_REF))
        builder = builder.with_target(query.instant() if target.instant else query.range())
    if panel.mappings:
        builder = builder.mappings([_mapping(m) for m in panel.mappings])
    if panel.min is not None:
        builder = builder.min(panel.min)
    if panel.max is not None:
        builder = builder.max(panel.max)
    if panel.decimals is not None:
        builder = builder.decimals(panel.decimals)
    if panel.min_interval:
        builder = builder.interval(panel.min_interval)
    if panel.no_value:
        builder = builder.no_value(panel.no_value)
    return builder


def _datasource_variable() -> db.DatasourceVariable:
    return (db.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")
            .current(dm.VariableOption(selected=True, text=DATASOURCE_NAME, value=DATASOURCE_UID)))


def _query_variable(variable: Variable) -> db.QueryVariable:
    builder = (db.QueryVariable(variable.name).label(variable.label).query(variable.query)
               .datasource(DATASOURCE_REF).multi(True).include_all(True)
               .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
               .current(dm.VariableOption(selected=True, text="All", value="$__all")))
    if variable.all_value is not None:
        builder = builder.all_value(variable.all_value)
    if variable.regex:
        builder = builder.regex(variable.regex)
    if variable.hidden:
        builder = builder.hide(dm.VariableHide.HIDE_VARIABLE)
    return builder


def _link(title: str, uid: str, tooltip: str) -> db.DashboardLink:
    return (db.DashboardLink(title).type(dm.DashboardLinkType.LINK).url(f"/d/{uid}").tooltip(tooltip)
            .icon("dashboard").tags([]).as_dropdown(False).target_blank(False).include_vars(False)
            .keep_time(True))


def render_dashboard(spec: DashboardSpec) -> dict[str, Any]:
    """Return the dashboard as a JSON-ready dict (classic v1 model, no `id`)."""
    builder = (
        db.Dashboard(spec.title).uid(spec.uid).description(spec.description).tags(list(spec.tags))
        .readonly().timezone("browser").refresh(spec.refresh).time(spec.time_from, "now")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(_datasource_variable())
    )
    for variable in spec.variables:
        builder = builder.with_variable(_query_variable(variable))
    for link in spec.links:
        builder = builder.link(_link(link.title, link.uid, link.tooltip))
    model = builder.build()
    # Panels are placed by our layout, so they are set directly: the SDK's own
    # placement would move panels whose position is (0, 0).
    # Ids come from the panels' keys, not their order: they stay when a panel is retitled or moved.
    keys, rows = panel_keys(spec.rows), row_keys(spec.rows)
    ids = panel_ids([*rows, *(key for row in keys for key in row)])
    panels: list[Any] = []
    for placed, row_key, panel_keys_of_row in zip(layout(spec.rows), rows, keys, strict=True):
        row = db.Row(placed.row.title).id(ids[row_key]).collapsed(placed.row.collapsed).grid_pos(
            dm.GridPos(h=placed.pos.h, w=placed.pos.w, x=placed.pos.x, y=placed.pos.y)).build()
        children = []
        for (panel, pos), key in zip(placed.panels, panel_keys_of_row, strict=True):
            children.append(render_panel(panel, ids[key], pos).build())
        panels.append(row)
        if placed.row.collapsed:
            row.panels = children
        else:
            panels.extend(children)
    model.panels = panels
    rendered: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
    return rendered
