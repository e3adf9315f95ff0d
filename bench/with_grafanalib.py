"""An equivalent scaffolded module dashboard written with grafanalib (read as an input, not our core).

Same panels, queries, units, thresholds and positions as `python build.py` emits for a `new-module`
module; grafanalib's own JSON model differs (it emits schemaVersion 12 by default), so only the content
is equivalent, not the bytes.
"""

from __future__ import annotations

import json

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from bench.scaffold_text import (
    DEFAULT_MODULE_TITLE,
    DEFAULT_OVERVIEW_TITLE,
    RATIO_STEPS,
    SLO_ROW,
    SloPanel,
    scaffold_text,
    slo_panels,
)

DS = {"type": "prometheus", "uid": "${datasource}"}


def _steps(*steps: tuple[str, float | None]) -> list[g.Threshold]:
    return [g.Threshold(color, index, 0.0 if value is None else float(value)) for index, (color, value) in
            enumerate(steps)]


def _targets(*queries: tuple[str, str, str], instant: bool = False) -> list[g.Target]:
    return [g.Target(expr=expr, legendFormat=legend, refId=ref, instant=instant, datasource=DS)
            for ref, expr, legend in queries]


def _timeseries(pid: int, title: str, description: str, unit: str, pos: tuple[int, int, int, int],
                targets: list[g.Target], steps: list[g.Threshold], *, stacked: bool = False, axis_label: str = "",
                max_value: float | None = None) -> g.TimeSeries:
    x, y, w, h = pos
    return g.TimeSeries(id=pid, title=title, description=description, dataSource=DS, targets=targets, unit=unit,
                        gridPos=g.GridPos(h=h, w=w, x=x, y=y), thresholds=steps, fillOpacity=10,
                        showPoints="never", tooltipMode="multi", tooltipSort="desc", axisLabel=axis_label,
                        stacking={"mode": "normal" if stacked else "none"}, valueMin=0, valueMax=max_value)


def _stat(pid: int, title: str, description: str, unit: str, pos: tuple[int, int, int, int],
          targets: list[g.Target], steps: list[g.Threshold], decimals: int) -> g.Stat:
    x, y, w, h = pos
    return g.Stat(id=pid, title=title, description=description, dataSource=DS, targets=targets, format=unit,
                  gridPos=g.GridPos(h=h, w=w, x=x, y=y), thresholds=steps, decimals=decimals, graphMode="none",
                  reduceCalc="lastNotNull")


def _slo_stat(pid: int, panel: SloPanel, pos: tuple[int, int, int, int]) -> g.Stat:
    x, y, w, h = pos
    targets = _targets(*((ref, expr, legend) for ref, (expr, legend) in zip("ABCDEFGH", panel.queries, strict=False)),
                       instant=True)
    return g.Stat(id=pid, title=panel.title, description=panel.description, dataSource=DS, targets=targets,
                  format=panel.unit, gridPos=g.GridPos(h=h, w=w, x=x, y=y), thresholds=_steps(*panel.steps),
                  decimals=panel.decimals, graphMode="none", reduceCalc="lastNotNull",
                  textMode="value_and_name" if len(panel.queries) > 1 else "auto")


def _row(pid: int, title: str, y: int) -> g.RowPanel:
    return g.RowPanel(id=pid, title=title, gridPos=g.GridPos(h=1, w=24, x=0, y=y))


def module_dashboard(name: str, title: str) -> bytes:
    """Return the JSON of the grafanalib equivalent of a scaffolded module's dashboard."""
    (slug, ops, dur, errs, cost, hits, misses, tokens, ops_help, dur_help, by_op, ratio_desc, rate,
     quantile) = scaffold_text(name)
    panels = [
        _row(1, "Summary", 0),
        _timeseries(2, "Operations/s", f"Per-second rate of {ops_help}, summed by operation.", "ops", (0, 1, 6, 8),
                    _targets(("A", f"sum by (operation) (rate({ops}{rate}))", "{{operation}}")),
                    _steps(("green", None))),
        _timeseries(3, "Operation duration P95", f"P95 of {dur_help}, estimated by histogram_quantile over "
                    "per-second bucket rates; empty when nothing was observed. The red threshold marks the 1 s "
                    "objective.", "s", (6, 1, 6, 8),
                    _targets(("A", f"histogram_quantile(0.95, sum by (le, operation) (rate({dur}_bucket{rate}))) "
                                   ">= 0",
                              "P95 {{operation}}")), _steps(("green", None), ("red", 1.0))),
        _timeseries(4, "Error rate", ratio_desc, "percentunit", (12, 1, 6, 8),
                    _targets(("A", f"(sum(rate({errs}{rate})) or sum(rate({ops}{rate})) * 0) / "
                                   f"(sum(rate({ops}{rate})) > 0)", "error ratio")),
                    _steps(*RATIO_STEPS), max_value=1),
        _stat(5, "Cost", f"US dollars accumulated by {cost} over the dashboard time range.", "currencyUSD",
              (18, 1, 6, 8), _targets(("A", f"sum(increase({cost}[$__range]))", "cost"), instant=True),
              _steps(("green", None)), 2),
        _row(6, "Per operation ($operation)", 9),
        _timeseries(7, "Operations/s by status", f"Per-second rate of {ops_help}, summed by operation, status. "
                    f"Filtered by {by_op}.", "ops", (0, 10, 8, 8),
                    _targets(("A", f"sum by (operation, status) (rate({ops}{{{by_op}}}{rate}))",
                              "{{operation}} {{status}}")), _steps(("green", None))),
        _timeseries(8, "Operation duration P50/P95/P99", f"P50/P95/P99 of {dur_help}, estimated by "
                    f"histogram_quantile over per-second bucket rates; empty when nothing was observed. Filtered "
                    f"by {by_op}.", "s", (8, 10, 8, 8),
                    _targets(*((ref, f"histogram_quantile({q}, {quantile}) >= 0", f"P{p} {{{{operation}}}}")
                               for ref, q, p in (("A", "0.5", "50"), ("B", "0.95", "95"), ("C", "0.99", "99")))),
                    _steps(("green", None))),
        _timeseries(9, "Error rate by operation", f"{ratio_desc} Filtered by {by_op}.", "percentunit",
                    (16, 10, 8, 8), _targets(("A", f"(sum by (operation) (rate({errs}{{{by_op}}}{rate})) or "
                                                   f"sum by (operation) (rate({ops}{{{by_op}}}{rate})) * 0) / "
                                                   f"(sum by (operation) (rate({ops}{{{by_op}}}{rate})) > 0)",
                                              "{{operation}}")), _steps(*RATIO_STEPS), max_value=1),
        _row(10, "Tokens, cost and cache", 18),
        _timeseries(11, "Token usage", f"Tokens per second from {tokens} (Tokens processed, by type "
                    "(prompt/completion).), stacked by type.", "short", (0, 19, 8, 8),
                    _targets(("A", f"sum by (type) (rate({tokens}{rate}))", "{{type}}")), _steps(("green", None)),
                    stacked=True, axis_label="tokens/s"),
        _timeseries(12, "Cost per hour", f"Spending rate from {cost}, in US dollars per hour.", "currencyUSD",
                    (8, 19, 8, 8), _targets(("A", f"(sum(rate({cost}{rate}))) * 3600", "USD/h")),
                    _steps(("green", None)), axis_label="USD per hour"),
        _stat(13, "Cache hit ratio", f"Cache hits divided by lookups ({hits} / ({hits} + {misses})) over the "
              "dashboard time range; empty when there is no traffic (no lookup). Red below 50 %, yellow below 80 %.",
              "percentunit", (16, 19, 8, 8),
              _targets(("A", f"(sum(increase({hits}[$__range])) or vector(0)) / (((sum(increase({hits}[$__range])) "
                             f"or vector(0)) + (sum(increase({misses}[$__range])) or vector(0))) > 0)", "hit ratio"),
                       instant=True),
              _steps(("red", None), ("yellow", 0.5), ("green", 0.8)), 1),
        _row(14, SLO_ROW, 27),
        *(_slo_stat(15 + index, panel, (index % 3 * 8, 28 + index // 3 * 5, 8, 5))
          for index, panel in enumerate(slo_panels(name))),
    ]
    dashboard = g.Dashboard(
        title=DEFAULT_MODULE_TITLE.format(title=title), uid=slug,
        description=f"{title} operations, latency, errors, tokens, cost and cache.",
        tags=["generated", "module", slug], editable=False, timezone="browser", refresh="30s",
        time=g.Time("now-6h", "now"), graphTooltip=1, panels=panels,
        templating=g.Templating(list=[
            g.Template(name="datasource", query="prometheus", type="datasource", label="Data source"),
            g.Template(name="operation", query=f"label_values({ops}, operation)", dataSource=DS, label="Operation",
                       allValue=".*", includeAll=True, multi=True, refresh=2, sort=1),
        ]),
        links=[g.DashboardLink(title=DEFAULT_OVERVIEW_TITLE, uri="/d/modules-overview", type="link",
                               tooltip="All modules at a glance", icon="dashboard")],
    )
    text = json.dumps(dashboard.to_json_data(), cls=DashboardEncoder, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode()
