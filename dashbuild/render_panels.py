"""Compile one placed `Panel` to Grafana panel JSON with grafana-foundation-sdk builders, then apply its escape
hatches (`Panel.raw`). What every kind shares (queries, unit, thresholds, mappings, overrides, links,
transformations, repeats) is set in `render_panel`; each kind's own options in its function below."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    gauge,
    heatmap,
    histogram,
    piechart,
    stat,
    statetimeline,
    statushistory,
    table,
    text,
    timeseries,
)
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import heatmap as hm
from grafana_foundation_sdk.models import piechart as pm
from grafana_foundation_sdk.models import prometheus as pq
from grafana_foundation_sdk.models import text as tm

from dashbuild.sdk_json import sdk_json
from panels.fields import DataLink, Override, Transformation, ValueText, apply_raw, thaw
from panels.kinds import BarGauge, Gauge, Heatmap, Histogram, Legend, Stat, StateTimeline, StatusHistory, Table, Text
from panels.layout import GridPos
from panels.spec import Panel, Step, ref_id

PanelBuilder = (timeseries.Panel | stat.Panel | piechart.Panel | gauge.Panel | bargauge.Panel | table.Panel
                | heatmap.Panel | histogram.Panel | text.Panel | statetimeline.Panel | statushistory.Panel)


def datasource_ref(variable: str) -> dm.DataSourceRef:
    """Return the reference to the Prometheus datasource a datasource variable selects."""
    return dm.DataSourceRef(type_val="prometheus", uid=f"${{{variable}}}")


def _thresholds(steps: tuple[Step, ...]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=step.value, color=step.color) for step in steps])


def _mapping(mapping: ValueText) -> dm.ValueMap | dm.RangeMap | dm.RegexMap | dm.SpecialValueMap:
    result = dm.ValueMappingResult(text=mapping.text, color=mapping.color or None)
    if mapping.value is not None:
        return dm.ValueMap(options={f"{mapping.value:g}": result})
    if mapping.pattern is not None:
        return dm.RegexMap(options=dm.DashboardRegexMapOptions(pattern=mapping.pattern, result=result))
    if mapping.special is not None:
        return dm.SpecialValueMap(options=dm.DashboardSpecialValueMapOptions(
            match=dm.SpecialValueMatch(mapping.special), result=result))
    return dm.RangeMap(options=dm.DashboardRangeMapOptions(from_val=mapping.low, to=mapping.high, result=result))


def _link(link: DataLink) -> db.DashboardLink:
    # Grafana's schema types panel and field links as dashboard links, so the fields it requires are set.
    return (db.DashboardLink(link.title).type(dm.DashboardLinkType.LINK).url(link.url).tooltip("")
            .icon("external link").tags([]).as_dropdown(False).target_blank(link.target_blank)
            .include_vars(False).keep_time(False))


def field_config_json(*, mappings: Sequence[ValueText] = (), links: Sequence[DataLink] = (),
                      thresholds: Sequence[Step] = ()) -> dict[str, Any]:
    """Return field config properties (`mappings`, `links`, `thresholds`) as a panel's defaults render them, for an
    override that gives one field of a table its own."""
    properties: dict[str, Any] = {}
    if mappings:
        properties["mappings"] = [_mapping(m) for m in mappings]
    if links:
        properties["links"] = [_link(link).build() for link in links]
    if thresholds:
        properties["thresholds"] = _thresholds(tuple(thresholds)).build()
    rendered: dict[str, Any] = sdk_json(properties)
    return rendered


def _override(builder: PanelBuilder, override: Override) -> PanelBuilder:
    properties = [dm.DynamicConfigValue(id_val=name, value=thaw(value)) for name, value in override.properties]
    if override.matcher == "byName":
        return builder.override_by_name(override.pattern, properties)
    if override.matcher == "byRegexp":
        return builder.override_by_regexp(override.pattern, properties)
    return builder.override_by_query(override.pattern, properties)


def _transformation(transformation: Transformation) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val=transformation.id, options=thaw(transformation.options))


def _legend(placement: cm.LegendPlacement = cm.LegendPlacement.BOTTOM) -> cb.VizLegendOptions:
    return (cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST).placement(placement).show_legend(True)
            .calcs([]))


def _graph_legend(legend: Legend) -> cb.VizLegendOptions:
    builder = (cb.VizLegendOptions().display_mode(cm.LegendDisplayMode(legend.display))
               .placement(cm.LegendPlacement(legend.placement)).show_legend(legend.show).calcs(list(legend.calcs)))
    if legend.sort_by is not None:
        builder = builder.sort_by(legend.sort_by).sort_desc(legend.sort_desc)
    return builder


def _tooltip(mode: cm.TooltipDisplayMode = cm.TooltipDisplayMode.MULTI, sort: str | None = None
             ) -> cb.VizTooltipOptions:
    if sort is not None:
        return cb.VizTooltipOptions().mode(mode).sort(cm.SortOrder(sort))
    return cb.VizTooltipOptions().mode(mode).sort(cm.SortOrder.DESCENDING if mode == cm.TooltipDisplayMode.MULTI
                                                  else cm.SortOrder.NONE)


def _last_value() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().values(False).calcs(["lastNotNull"])


def _timeseries(panel: Panel) -> timeseries.Panel:
    graph = panel.graph
    builder = (
        timeseries.Panel()
        .legend(_graph_legend(graph.legend))
        .tooltip(_tooltip(cm.TooltipDisplayMode(graph.tooltip), graph.tooltip_sort))
        .draw_style(cm.GraphDrawStyle(graph.draw))
        .line_width(graph.line_width)
        .fill_opacity(graph.opacity)
        .show_points(cm.VisibilityMode(graph.show_points))
        .span_nulls(False)
        .stacking(cb.StackingConfig().mode(cm.StackingMode(graph.stacking)))
    )
    if graph.axis_placement is not None:
        builder = builder.axis_placement(cm.AxisPlacement(graph.axis_placement))
    if panel.axis_label:
        builder = builder.axis_label(panel.axis_label)
    return builder


def _stat(panel: Panel) -> stat.Panel:
    style = panel.style if isinstance(panel.style, Stat) else Stat()
    instant = all(t.instant for t in panel.targets)
    color = style.color_mode or ("background" if panel.mappings else "value")
    graph = style.graph_mode or ("none" if instant else "area")
    text = style.text_mode or ("value_and_name" if len(panel.targets) > 1 else "auto")
    return (
        stat.Panel()
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(list(style.calcs)))
        .color_mode(cm.BigValueColorMode(color))
        .graph_mode(cm.BigValueGraphMode(graph))
        .text_mode(cm.BigValueTextMode(text))
        .justify_mode(cm.BigValueJustifyMode.AUTO)
        .orientation(cm.VizOrientation(style.orientation))
    )


def _piechart(panel: Panel) -> piechart.Panel:
    return (
        piechart.Panel()
        .pie_type(pm.PieChartType.DONUT)
        .reduce_options(_last_value())
        .legend(piechart.PieChartLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
                .placement(cm.LegendPlacement.RIGHT).show_legend(True)
                .values([pm.PieChartLegendValues.VALUE, pm.PieChartLegendValues.PERCENT]))
        .tooltip(_tooltip(cm.TooltipDisplayMode.SINGLE))
    )


def _gauge(panel: Panel) -> gauge.Panel:
    style = panel.style if isinstance(panel.style, Gauge) else Gauge()
    return (gauge.Panel().reduce_options(_last_value()).show_threshold_markers(style.show_threshold_markers)
            .show_threshold_labels(style.show_threshold_labels).orientation(cm.VizOrientation.AUTO))


def _bargauge(panel: Panel) -> bargauge.Panel:
    style = panel.style if isinstance(panel.style, BarGauge) else BarGauge()
    return (bargauge.Panel().reduce_options(_last_value()).display_mode(cm.BarGaugeDisplayMode(style.display_mode))
            .orientation(cm.VizOrientation(style.orientation)).show_unfilled(style.show_unfilled)
            .value_mode(cm.BarGaugeValueMode.COLOR).name_placement(cm.BarGaugeNamePlacement.AUTO))


def _table(panel: Panel) -> table.Panel:
    style = panel.style if isinstance(panel.style, Table) else Table()
    # The custom field config's required keys are set, so an escape hatch may change one column setting.
    builder = (table.Panel().show_header(True).cell_height(cm.TableCellHeight(style.cell_height))
               .align(cm.FieldTextAlignment.AUTO).inspect(False))
    if style.sort_by:
        builder = builder.sort_by([cb.TableSortByFieldState().display_name(style.sort_by).desc(style.descending)])
    return builder


def _heatmap(panel: Panel) -> heatmap.Panel:
    style = panel.style if isinstance(panel.style, Heatmap) else Heatmap()
    color = (heatmap.HeatmapColorOptions().mode(hm.HeatmapColorMode.SCHEME).scheme(style.scheme).fill("dark-orange")
             .scale(hm.HeatmapColorScale.EXPONENTIAL if style.exponential else hm.HeatmapColorScale.LINEAR)
             .exponent(0.5).steps(64).reverse(False))
    return (
        heatmap.Panel()
        .calculate(False)
        .color(color)
        .rows_frame(heatmap.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.AUTO))
        .y_axis(heatmap.YAxisConfig().unit(style.y_unit).axis_placement(cm.AxisPlacement.LEFT).reverse(False))
        .cell_gap(1)
        .show_value(cm.VisibilityMode.NEVER)
        .show_legend()
        .mode(cm.TooltipDisplayMode.SINGLE)
        .show_y_histogram()
        .scale_distribution(cb.ScaleDistributionConfig().type(cm.ScaleDistribution.LINEAR))
        .hide_from(cb.HideSeriesConfig().legend(False).tooltip(False).viz(False))
    )


def _histogram(panel: Panel) -> histogram.Panel:
    style = panel.style if isinstance(panel.style, Histogram) else Histogram()
    builder = (histogram.Panel().legend(_legend()).tooltip(_tooltip()).combine(True).fill_opacity(style.fill_opacity)
               .line_width(1).gradient_mode(cm.GraphGradientMode.NONE))
    if style.bucket_size is not None:
        builder = builder.bucket_size(style.bucket_size)
    if style.bucket_count is not None:
        builder = builder.bucket_count(style.bucket_count)
    return builder


def _text(panel: Panel) -> text.Panel:
    assert isinstance(panel.style, Text)  # Panel refuses a text panel without it
    return text.Panel().mode(tm.TextMode(panel.style.mode)).content(panel.style.content)


def _state_timeline(panel: Panel) -> statetimeline.Panel:
    style = panel.style if isinstance(panel.style, StateTimeline) else StateTimeline()
    return (statetimeline.Panel().show_value(cm.VisibilityMode(style.show_value)).merge_values(style.merge_values)
            .row_height(style.row_height).align_value(cm.TimelineValueAlignment.LEFT).legend(_legend())
            .tooltip(_tooltip(cm.TooltipDisplayMode.SINGLE)).line_width(0).fill_opacity(style.fill_opacity))


def _status_history(panel: Panel) -> statushistory.Panel:
    style = panel.style if isinstance(panel.style, StatusHistory) else StatusHistory()
    return (statushistory.Panel().show_value(cm.VisibilityMode(style.show_value)).row_height(style.row_height)
            .col_width(style.column_width).legend(_legend()).tooltip(_tooltip(cm.TooltipDisplayMode.SINGLE))
            .line_width(1).fill_opacity(style.fill_opacity))


KINDS: dict[str, Callable[[Panel], PanelBuilder]] = {
    "timeseries": _timeseries, "stat": _stat, "piechart": _piechart, "gauge": _gauge, "bargauge": _bargauge,
    "table": _table, "heatmap": _heatmap, "histogram": _histogram, "text": _text,
    "state-timeline": _state_timeline, "status-history": _status_history,
}


def _query(panel: Panel, index: int) -> prom.Dataquery:
    target = panel.targets[index]
    source = datasource_ref(panel.datasource)
    query = prom.Dataquery().expr(target.expr).ref_id(ref_id(index)).datasource(source)
    if target.legend or target.auto_legend:
        query = query.legend_format(target.legend or "__auto")
    query = query.instant() if target.instant else query.range()
    if target.format != "time_series":
        query = query.format(pq.PromQueryFormat(target.format))
    if target.step:
        query = query.interval(target.step)
    if target.interval_factor != 1:
        query = query.interval_factor(target.interval_factor)
    if target.hide:
        query = query.hide(True)
    if target.exemplar:
        query = query.exemplar(True)
    return query


def _builder(panel: Panel, panel_id: int, pos: GridPos) -> PanelBuilder:
    factory = KINDS.get(panel.kind)
    if factory is None:
        raise ValueError(f"panel kind {panel.kind!r} is not supported yet")
    builder = factory(panel).id(panel_id).title(panel.title).grid_pos(dm.GridPos(h=pos.h, w=pos.w, x=pos.x, y=pos.y))
    if panel.description:
        builder = builder.description(panel.description)
    if panel.kind == "text":
        return builder
    builder = builder.datasource(datasource_ref(panel.datasource)).unit(panel.unit).thresholds(
        _thresholds(panel.thresholds))
    for index in range(len(panel.targets)):
        builder = builder.with_target(_query(panel, index))
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
    for override in panel.overrides:
        builder = _override(builder, override)
    if panel.data_links:
        builder = builder.data_links([_link(link) for link in panel.data_links])
    return builder


def render_panel(panel: Panel, panel_id: int, pos: GridPos) -> dict[str, Any]:
    """Return the JSON of one placed panel, its escape hatches applied last (schema checks come after)."""
    builder = _builder(panel, panel_id, pos)
    if panel.links:
        builder = builder.links([_link(link) for link in panel.links])
    if panel.transformations:
        builder = builder.transformations([_transformation(t) for t in panel.transformations])
    if panel.repeat is not None:
        builder = builder.repeat(panel.repeat.variable).repeat_direction(panel.repeat.direction)
        if panel.repeat.max_per_row is not None:
            builder = builder.max_per_row(panel.repeat.max_per_row)
    rendered: dict[str, Any] = sdk_json(builder.build())
    if not panel.raw:
        return rendered
    try:
        apply_raw(rendered, panel.raw)
    except ValueError as error:
        raise ValueError(f"panel {panel.title!r}: {error}") from None
    # Raw values become plain JSON as the SDK's models do (tuples as lists...), as the dashboard's JSON round trip
    # used to make them.
    plain: dict[str, Any] = sdk_json(rendered)
    return plain
