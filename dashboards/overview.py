"""The overview dashboard, assembled from the registry of module files. It names no module."""

from __future__ import annotations

from collections.abc import Sequence

from contract import ModuleContract
from panels import DashboardSpec, Link, ModuleDashboard, Panel, Row, Step, Target, helpers, promql

OVERVIEW_UID = "modules-overview"
OVERVIEW_TITLE = "Modules Overview"
Module = tuple[ModuleContract, ModuleDashboard]


def _with_metric(modules: Sequence[Module], short_name: str) -> list[ModuleContract]:
    return [contract for contract, _ in modules if contract.has_metric(short_name)]


def total_operations(modules: Sequence[Module]) -> Panel:
    """Return a stat of all modules' operations over the dashboard range, robust to a silent module."""
    terms = [promql.or_zero(promql.sum_by(promql.increase(promql.selector(c.metric("operations_total").name))))
             for c in _with_metric(modules, "operations_total")]
    return Panel(
        kind="stat",
        title="Total operations",
        description="Operations handled by all modules over the dashboard time range (sum of every module's "
                    "{module}_operations_total increase; a module without data counts as 0).",
        unit="short",
        targets=(Target(promql.add(terms), "operations", instant=True),),
        decimals=0,
    )


def operations_by_module(modules: Sequence[Module]) -> Panel:
    """Return a stacked time series of operations per second, one series per module."""
    return Panel(
        kind="timeseries",
        title="Operations/s by module",
        description="Per-second rate of each module's {module}_operations_total, stacked.",
        unit="ops",
        targets=tuple(
            Target(promql.sum_by(promql.rate(promql.selector(c.metric("operations_total").name))), c.title)
            for c in _with_metric(modules, "operations_total")
        ),
        stacked=True,
        min=0,
    )


def cost_by_module(modules: Sequence[Module]) -> Panel:
    """Return a pie chart of each module's cost over the dashboard range."""
    return Panel(
        kind="piechart",
        title="Cost by module",
        description="US dollars accumulated by each module's {module}_cost_total over the dashboard time range.",
        unit="currencyUSD",
        targets=tuple(
            Target(promql.sum_by(promql.increase(promql.selector(c.metric("cost_total").name))), c.title,
                   instant=True)
            for c in _with_metric(modules, "cost_total")
        ),
        decimals=2,
    )


def module_health(modules: Sequence[Module]) -> Panel:
    """Return one UP/DOWN stat with a value per module's scrape job."""
    return helpers.health_of([(contract.job, contract.title) for contract, _ in modules], title="Module health")


def error_ratio_by_module(modules: Sequence[Module]) -> Panel:
    """Return a time series of each module's error ratio."""
    targets = tuple(
        Target(promql.ratio(promql.sum_by(promql.rate(promql.selector(c.metric("errors_total").name))),
                            promql.sum_by(promql.rate(promql.selector(c.metric("operations_total").name)))),
               c.title)
        for c in _with_metric(modules, "errors_total") if c.has_metric("operations_total")
    )
    return Panel(
        kind="timeseries",
        title="Error rate by module",
        description="Each module's errors divided by operations. Yellow above 1 %, red above 5 %.",
        unit="percentunit",
        targets=targets,
        thresholds=(Step("green"), Step("yellow", 0.01), Step("red", 0.05)),
        min=0,
        max=1,
    )


def module_section(contract: ModuleContract, dashboard: ModuleDashboard) -> Row | None:
    """Return the row of panels a module marks for the overview, or None when it marks none."""
    panels = dashboard.overview_panels()
    if not panels:
        return None
    # Prefixed so that titles stay unique across sections and say whose panel it is.
    return Row(contract.title, tuple(p.titled(f"{contract.title}: {p.title}") for p in panels))


def build_overview(modules: Sequence[Module]) -> DashboardSpec:
    """Return the overview: cross-module panels, one section per module, links to every module dashboard."""
    summary = Row("All modules", (
        module_health(modules).sized(width=8),
        total_operations(modules).sized(width=4),
        cost_by_module(modules).sized(width=12, height=10),
        operations_by_module(modules).sized(width=12),
        error_ratio_by_module(modules).sized(width=12),
    ))
    sections = [row for contract, dashboard in modules if (row := module_section(contract, dashboard))]
    return DashboardSpec(
        uid=OVERVIEW_UID,
        title=OVERVIEW_TITLE,
        description="Health, traffic and cost of every module, with each module's own summary panels.",
        rows=(summary, *sections),
        links=tuple(Link(contract.title, contract.slug, f"{contract.title} dashboard") for contract, _ in modules),
        tags=("generated", "overview"),
    )
