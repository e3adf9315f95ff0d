"""The scaffolded module dashboard written with bare grafana-foundation-sdk calls, as a user would without us.

Produces the same JSON as `python build.py` does for a module made by `new-module` (the benchmark asserts
it), so timing both compares like with like.
"""

from __future__ import annotations

import json
import zlib

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from bench.scaffold_text import (
    DEFAULT_MODULE_TITLE,
    DEFAULT_OVERVIEW_TITLE,
    RATIO_STEPS,
    SLO_ROW,
    SloPanel,
    scaffold_text,
    slo_panels,
)

DS = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")


def _pid(key: str) -> int:
    """Return a panel id as our builder derives it from the panel's key (panels/keys.py), for identical bytes."""
    return zlib.crc32(key.encode()) % (2**31 - 1) + 1


def _steps(*steps: tuple[str, float | None]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=value, color=color) for color, value in steps])


def _query(ref: str, expr: str, legend: str, instant: bool = False) -> prom.Dataquery:
    query = prom.Dataquery().expr(expr).ref_id(ref).legend_format(legend).datasource(DS)
    return query.instant() if instant else query.range()


def _timeseries(pid: int, title: str, description: str, unit: str, pos: tuple[int, int, int, int],
                queries: list[prom.Dataquery], steps: db.ThresholdsConfig, *, stacked: bool = False,
                axis_label: str = "", max_value: float | None = None) -> timeseries.Panel:
    x, y, w, h = pos
    panel = (
        timeseries.Panel()
        .legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST)
                .placement(cm.LegendPlacement.BOTTOM).show_legend(True).calcs([]))
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
        .draw_style(cm.GraphDrawStyle.LINE).line_width(1).fill_opacity(10).show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL if stacked else cm.StackingMode.NONE))
    )
    if axis_label:
        panel = panel.axis_label(axis_label)
    panel = (panel.id(pid).title(title).description(description).datasource(DS).unit(unit).thresholds(steps)
             .grid_pos(dm.GridPos(h=h, w=w, x=x, y=y)))
    for query in queries:
        panel = panel.with_target(query)
    panel = panel.min(0)
    return panel.max(max_value) if max_value is not None else panel


def _stat(pid: int, title: str, description: str, unit: str, pos: tuple[int, int, int, int],
          query: prom.Dataquery, steps: db.ThresholdsConfig, decimals: int, *,
          bounds: tuple[float, float] | None = None) -> stat.Panel:
    x, y, w, h = pos
    panel = (
        stat.Panel()
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]))
        .color_mode(cm.BigValueColorMode.VALUE).graph_mode(cm.BigValueGraphMode.NONE)
        .text_mode(cm.BigValueTextMode.AUTO).justify_mode(cm.BigValueJustifyMode.AUTO)
        .orientation(cm.VizOrientation.AUTO)
        .id(pid).title(title).description(description).datasource(DS).unit(unit).thresholds(steps)
        .grid_pos(dm.GridPos(h=h, w=w, x=x, y=y)).with_target(query)
    )
    if bounds is not None:
        panel = panel.min(bounds[0]).max(bounds[1])
    return panel.decimals(decimals)


def _slo_stat(pid: int, panel: SloPanel, pos: tuple[int, int, int, int]) -> stat.Panel:
    x, y, w, h = pos
    builder = (
        stat.Panel()
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]))
        .color_mode(cm.BigValueColorMode.VALUE).graph_mode(cm.BigValueGraphMode.NONE)
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME if len(panel.queries) > 1 else cm.BigValueTextMode.AUTO)
        .justify_mode(cm.BigValueJustifyMode.AUTO).orientation(cm.VizOrientation.AUTO)
        .id(pid).title(panel.title).description(panel.description).datasource(DS).unit(panel.unit)
        .thresholds(_steps(*panel.steps)).grid_pos(dm.GridPos(h=h, w=w, x=x, y=y))
    )
    for ref, (expr, legend) in zip("ABCDEFGH", panel.queries, strict=False):
        builder = builder.with_target(_query(ref, expr, legend, instant=True))
    return builder.decimals(panel.decimals)


SLO_KEYS = tuple(f"slo.{slo}.{kind}" for slo in ("availability", "latency") for kind in ("sli", "burn_rate", "budget"))


def _row(pid: int, title: str, y: int) -> dm.RowPanel:
    return db.Row(title).id(pid).collapsed(False).grid_pos(dm.GridPos(h=1, w=24, x=0, y=y)).build()


def module_dashboard(name: str, title: str) -> bytes:
    """Return the dashboard JSON of a scaffolded module `name`, built with bare SDK calls."""
    (slug, ops, dur, errs, cost, hits, misses, tokens, ops_help, dur_help, by_op, ratio_desc, rate,
     quantile) = scaffold_text(name)

    builder = (
        db.Dashboard(DEFAULT_MODULE_TITLE.format(title=title)).uid(slug)
        .description(f"{title} operations, latency, errors, tokens, cost and cache.")
        .tags(["generated", "module", slug]).readonly().timezone("browser").refresh("30s").time("now-6h", "now")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus")
                       .current(dm.VariableOption(selected=True, text="Prometheus", value="prometheus")))
        .with_variable(db.QueryVariable("operation").label("Operation")
                       .query(f"label_values({ops}, operation)").datasource(DS).multi(True).include_all(True)
                       .all_value(".*").refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
                       .sort(dm.VariableSort.ALPHABETICAL_ASC)
                       .current(dm.VariableOption(selected=True, text="All", value="$__all")))
        .link(db.DashboardLink(DEFAULT_OVERVIEW_TITLE).type(dm.DashboardLinkType.LINK).url("/d/modules-overview")
              .tooltip("All modules at a glance").icon("dashboard").tags([]).as_dropdown(False)
              .target_blank(False).include_vars(False).keep_time(True))
    )
    model = builder.build()
    ops_id = _pid(f"rate_per_second.{ops}")
    p95_id = _pid(f"duration_p95.{dur}")
    ratio_id = _pid(f"error_ratio.{errs}")
    cost_id = _pid(f"cost_over_range.{cost}")
    status_id = _pid(f"rate_per_second.{ops}-2")
    quantiles_id = _pid(f"duration_p50_p95_p99.{dur}")
    ratio_by_op_id = _pid(f"error_ratio.{errs}-2")
    tokens_id = _pid(f"token_usage.{tokens}")
    cost_rate_id = _pid(f"cost_rate.{cost}")
    cache_id = _pid(f"cache_hit_ratio.{hits}")
    model.panels = [
        _row(_pid("row.summary"), "Summary", 0),
        _timeseries(ops_id, "Operations/s", f"Per-second rate of {ops_help}, summed by operation.", "ops", (0, 1, 6, 8),
                    [_query("A", f"sum by (operation) (rate({ops}{rate}))", "{{operation}}")],
                    _steps(("green", None))).build(),
        _timeseries(p95_id, "Operation duration P95",
                    f"P95 of {dur_help}, estimated by histogram_quantile over per-second bucket rates; empty "
                    "when nothing was observed. The red threshold marks the 1 s objective.", "s", (6, 1, 6, 8),
                    [_query("A", f"histogram_quantile(0.95, sum by (le, operation) (rate({dur}_bucket{rate}))) >= 0",
                            "P95 {{operation}}")], _steps(("green", None), ("red", 1.0))).build(),
        _timeseries(ratio_id, "Error rate", ratio_desc, "percentunit", (12, 1, 6, 8),
                    [_query("A", f"(sum(rate({errs}{rate})) or sum(rate({ops}{rate})) * 0) / "
                                 f"(sum(rate({ops}{rate})) > 0)", "error ratio")],
                    _steps(*RATIO_STEPS), max_value=1).build(),
        _stat(cost_id, "Cost", f"US dollars accumulated by {cost} over the dashboard time range.", "currencyUSD",
              (18, 1, 6, 8), _query("A", f"sum(increase({cost}[$__range]))", "cost", instant=True),
              _steps(("green", None)), 2).build(),
        _row(_pid("row.per_operation_operation"), "Per operation ($operation)", 9),
        _timeseries(status_id, "Operations/s by status", f"Per-second rate of {ops_help}, summed by operation, status. "
                    f"Filtered by {by_op}.", "ops", (0, 10, 8, 8),
                    [_query("A", f"sum by (operation, status) (rate({ops}{{{by_op}}}{rate}))",
                            "{{operation}} {{status}}")], _steps(("green", None))).build(),
        _timeseries(quantiles_id, "Operation duration P50/P95/P99",
                    f"P50/P95/P99 of {dur_help}, estimated by histogram_quantile over per-second bucket rates; "
                    f"empty when nothing was observed. Filtered by {by_op}.", "s", (8, 10, 8, 8),
                    [_query(ref, f"histogram_quantile({q}, {quantile}) >= 0", f"P{p} {{{{operation}}}}")
                     for ref, q, p in (("A", "0.5", "50"), ("B", "0.95", "95"), ("C", "0.99", "99"))],
                    _steps(("green", None))).build(),
        _timeseries(ratio_by_op_id, "Error rate by operation", f"{ratio_desc} Filtered by {by_op}.", "percentunit",
                    (16, 10, 8, 8),
                    [_query("A", f"(sum by (operation) (rate({errs}{{{by_op}}}{rate})) or "
                                 f"sum by (operation) (rate({ops}{{{by_op}}}{rate})) * 0) / "
                                 f"(sum by (operation) (rate({ops}{{{by_op}}}{rate})) > 0)", "{{operation}}")],
                    _steps(*RATIO_STEPS), max_value=1).build(),
        _row(_pid("row.tokens_cost_and_cache"), "Tokens, cost and cache", 18),
        _timeseries(tokens_id, "Token usage", f"Tokens per second from {tokens} (Tokens processed, by type "
                    "(prompt/completion).), stacked by type.", "short", (0, 19, 8, 8),
                    [_query("A", f"sum by (type) (rate({tokens}{rate}))", "{{type}}")], _steps(("green", None)),
                    stacked=True, axis_label="tokens/s").build(),
        _timeseries(cost_rate_id, "Cost per hour", f"Spending rate from {cost}, in US dollars per hour.", "currencyUSD",
                    (8, 19, 8, 8), [_query("A", f"(sum(rate({cost}{rate}))) * 3600", "USD/h")],
                    _steps(("green", None)), axis_label="USD per hour").build(),
        _stat(cache_id, "Cache hit ratio", f"Cache hits divided by lookups ({hits} / ({hits} + {misses})) over the "
              "dashboard time range; empty when there is no traffic (no lookup). Red below 50 %, yellow below 80 %.",
              "percentunit", (16, 19, 8, 8),
              _query("A", f"(sum(increase({hits}[$__range])) or vector(0)) / (((sum(increase({hits}[$__range])) "
                          f"or vector(0)) + (sum(increase({misses}[$__range])) or vector(0))) > 0)", "hit ratio",
                     instant=True),
              _steps(("red", None), ("yellow", 0.5), ("green", 0.8)), 1, bounds=(0, 1)).build(),
        _row(_pid("row.slo"), SLO_ROW, 27),
        *(_slo_stat(_pid(SLO_KEYS[index]), panel, (index % 3 * 8, 28 + index // 3 * 5, 8, 5)).build()
          for index, panel in enumerate(slo_panels(name))),
    ]
    return (json.dumps(model, cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
