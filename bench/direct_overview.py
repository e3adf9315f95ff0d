"""The overview as it would be without recording rules: every cross-module panel queries each module's raw
series, one target per module. Used only to measure what the recording rules save."""

from __future__ import annotations

from collections.abc import Sequence

from dashbuild.overview import module_section
from moddash.contract import ModuleContract
from panels import DashboardSpec, Link, Panel, Row, Step, Target, helpers, promql
from panels.settings import DEFAULT_OVERVIEW_TITLE, OVERVIEW_UID
from panels.spec import ModuleDashboard

Module = tuple[ModuleContract, ModuleDashboard]


def _per_module(modules: Sequence[Module], expr: str, instant: bool = False) -> tuple[Target, ...]:
    return tuple(Target(expr.format(name=c.name, job=c.job), c.title, instant=instant) for c, _ in modules)


def build_direct_overview(modules: Sequence[Module]) -> DashboardSpec:
    """Return the overview with per-module raw queries instead of recorded `module:*` series."""
    rate = "[$__rate_interval]"
    summary = Row("All modules", (
        helpers.health_status(_per_module(modules, 'avg(up{{job="{job}"}})', instant=True)).sized(width=8),
        Panel("stat", "Total operations", "All modules' operations over the range.", "short",
              (Target(promql.add(promql.or_zero(f"sum(increase({c.name}_operations_total[$__range]))")
                                 for c, _ in modules), "operations", instant=True),), decimals=0).sized(width=4),
        Panel("piechart", "Cost by module", "Each module's cost over the range.", "currencyUSD",
              _per_module(modules, "sum(increase({name}_cost_total[$__range]))", instant=True),
              decimals=2).sized(width=12, height=10),
        Panel("timeseries", "Operations/s by module", "Each module's operations per second.", "ops",
              _per_module(modules, f"sum(rate({{name}}_operations_total{rate}))"), stacked=True, min=0),
        Panel("timeseries", "Error rate by module", "Each module's errors divided by operations.", "percentunit",
              _per_module(modules, f"(sum(rate({{name}}_errors_total{rate}))) / "
                                   f"(sum(rate({{name}}_operations_total{rate})))"),
              thresholds=(Step("green"), Step("yellow", 0.01), Step("red", 0.05)), min=0, max=1),
        Panel("timeseries", "Operation duration P95 by module", "Each module's P95 operation duration.", "s",
              _per_module(modules, f"histogram_quantile(0.95, sum by (le) "
                                   f"(rate({{name}}_operation_duration_seconds_bucket{rate})))"), min=0),
    ))
    sections = [row for contract, dashboard in modules if (row := module_section(contract, dashboard))]
    return DashboardSpec(uid=f"{OVERVIEW_UID}-direct", title=f"{DEFAULT_OVERVIEW_TITLE} (direct)", description="",
                         rows=(summary, *sections),
                         links=tuple(Link(c.title, c.slug) for c, _ in modules))
