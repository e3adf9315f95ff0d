"""The overview dashboard, assembled from the registry of module files. It names no module.

Cross-module panels read the `module:*` series of the generated recording rules (rules/recording.py), so
their query count does not grow with the number of modules; module sections hold the panels each module
marks with `.in_overview()`.
"""

from __future__ import annotations

from collections.abc import Sequence

from moddash.contract import ModuleContract, Objectives
from panels import DashboardSpec, Link, ModuleDashboard, Panel, Row, Step, Target, Variable, helpers, promql
from panels import settings as recorded
from panels.keys import keyed_panels
from panels.settings import DEFAULTS, OVERVIEW_UID, ProjectSettings
from panels.slo import burn_steps
from rules import slo
from rules.recording import total_over_range

Module = tuple[ModuleContract, ModuleDashboard]
BY_MODULE = "{{module}}"
# Time series show the TOP modules (by average over the range), not all: readable at 30 modules, a nearly
# constant amount of data to read and load, and at 1-minute steps, the resolution of the recorded rates.
TOP = 5


def _over_range(series: str, by: Sequence[str] = ()) -> str:
    """Return the total over the dashboard range of a recorded per-second rate (see rules.total_over_range)."""
    # prometheus.yml evaluates the rules every SCRAPE_INTERVAL, so the recorded samples are that far apart.
    return total_over_range(series, recorded.SCRAPE_INTERVAL, by)


def total_operations() -> Panel:
    """Return a stat of all modules' operations over the dashboard range."""
    return Panel(
        kind="stat",
        title="Total operations",
        description="Operations handled by all modules over the dashboard time range, integrated from the "
                    f"recorded {recorded.TOTAL_OPERATIONS_RATE} over the time it was recorded (a range longer "
                    "than Prometheus' history counts what is stored).",
        unit="short",
        targets=(Target(_over_range(recorded.TOTAL_OPERATIONS_RATE), "operations", instant=True),),
        decimals=0,
    )


# Each top-5 panel reads only the series of modules chosen once per load by a hidden variable: the
# `query_result` of topk over the range average, from which Grafana extracts the `module` values.
TOP_VARIABLES = {
    "busiest": (recorded.OPERATIONS_RATE, "Busiest modules"),
    "failing": (recorded.ERROR_RATIO, "Modules failing most"),
    "slowest": (recorded.P95_DURATION, "Slowest modules"),
}


def top_variables() -> tuple[Variable, ...]:
    """Return the hidden variables naming the TOP modules by average of each recorded series over the range."""
    def chooses(series: str) -> str:
        return f"query_result({promql.topk(TOP, promql.over_time('avg', promql.selector(series), '${__range}'))})"

    return tuple(Variable(name=name, label=label, query=chooses(series), regex='/module="([^"]+)"/', all_value=None,
                          hidden=True) for name, (series, label) in TOP_VARIABLES.items())


def _top(variable: str) -> str:
    """Return the recorded series of `variable` (a TOP_VARIABLES key), for the modules it chose."""
    return promql.selector(TOP_VARIABLES[variable][0], (promql.variable("module", variable),))


def operations_by_module() -> Panel:
    """Return operations per second of all modules together and of the busiest modules."""
    return Panel(
        kind="timeseries",
        title=f"Operations/s (all, busiest {TOP})",
        description=f"Operations per second of all modules together, and of the {TOP} modules busiest on "
                    f"average over the time range, from the recorded {recorded.OPERATIONS_RATE}.",
        unit="ops",
        targets=(Target(promql.selector(recorded.TOTAL_OPERATIONS_RATE), "all modules"),
                 Target(_top("busiest"), BY_MODULE)),
        min=0,
        min_interval=recorded.WINDOW,
    )


def cost_by_module() -> Panel:
    """Return a pie chart of each module's cost over the dashboard range."""
    return Panel(
        kind="piechart",
        title="Cost by module",
        description="US dollars spent by each module over the dashboard time range, integrated from the "
                    f"recorded {recorded.COST_RATE} over the time each module was running (a module added or "
                    "stopped during the range counts only what it spent).",
        unit="currencyUSD",
        targets=(Target(_over_range(recorded.COST_RATE, ("module",)), BY_MODULE, instant=True),),
        decimals=2,
    )


def module_health() -> Panel:
    """Return one UP/DEGRADED/DOWN value per module, from the recorded share of targets up."""
    return helpers.health_status((Target(promql.selector(recorded.UP), BY_MODULE, instant=True),))


def error_ratio_by_module() -> Panel:
    """Return a time series of the error ratio of the modules that fail most."""
    return Panel(
        kind="timeseries",
        title=f"Error rate (worst {TOP} modules)",
        description=f"Errors divided by operations ({recorded.ERROR_RATIO}) of the {TOP} modules with the highest "
                    "average ratio over the time range; 0 for a module that never failed, empty when there is "
                    "no traffic. Yellow above 1 %, red above 5 %.",
        unit="percentunit",
        targets=(Target(_top("failing"), BY_MODULE),),
        thresholds=(Step("green"), Step("yellow", 0.01), Step("red", 0.05)),
        min=0,
        max=1,
        min_interval=recorded.WINDOW,
    )


def p95_by_module() -> Panel:
    """Return a time series of the P95 operation duration of the slowest modules."""
    return Panel(
        kind="timeseries",
        title=f"Operation duration P95 (slowest {TOP} modules)",
        description=f"95th percentile operation duration ({recorded.P95_DURATION}) of the {TOP} modules slowest "
                    "on average over the time range; empty while a module completes no operation.",
        unit="s",
        targets=(Target(_top("slowest"), BY_MODULE),),
        min=0,
        min_interval=recorded.WINDOW,
    )


def _slo_column(title: str, series: str, description: str, unit: str, steps: tuple[Step, ...],
                decimals: int) -> Panel:
    """Return one column of the SLO table: a recorded SLO series of every module and SLO, one query."""
    return Panel(
        kind="stat",
        title=title,
        description=f"{description} One value per module and SLO (availability, latency), from the recorded {series}.",
        unit=unit,
        targets=(Target(promql.selector(series), f"{BY_MODULE} {{{{slo}}}}", instant=True),),
        thresholds=steps,
        decimals=decimals,
    ).sized(width=6, height=6)


def slo_table() -> tuple[Panel, ...]:
    """Return the SLO table of all modules: SLI, objective, budget left and burn rate, one query per column.

    The columns are stats of one recorded series each, one value per module and SLO, in the summary row.
    """
    # Burn-rate colours at the factors of the default SLO window: a module's own dashboard uses its own.
    window = Objectives().slo_window
    return (
        _slo_column("SLOs: SLI over the window", slo.SLI, "Share of good operations over each module's SLO window "
                    f"({window} unless the module says otherwise); empty without traffic in the window.",
                    "percentunit", (Step("blue"),), 3),
        _slo_column("SLOs: objective", slo.OBJECTIVE, "The share of good operations each module promises over its "
                    "SLO window.", "percentunit", (Step("blue"),), 3),
        _slo_column("SLOs: error budget remaining", slo.BUDGET_REMAINING, "Share of each SLO's error budget not spent "
                    "over its window: red when negative (objective missed), yellow below 25 %.", "percentunit",
                    (Step("red"), Step("yellow", 0), Step("green", 0.25)), 1),
        _slo_column(f"SLOs: burn rate ({slo.BURN_WINDOW})", slo.BURN_RATE, "Error ratio over the last "
                    f"{slo.BURN_WINDOW} divided by the error budget: at 1 the budget lasts exactly the SLO window. "
                    f"Yellow from the ticket's factor, orange and red from the pages' (for a {window} window).",
                    "none", burn_steps(slo.burn_alerts(window)), 2),
    )


def module_section(contract: ModuleContract, dashboard: ModuleDashboard) -> Row | None:
    """Return the row of panels a module marks for the overview, or None when it marks none."""
    panels = [(panel, key) for panel, key in keyed_panels(dashboard.rows) if panel.overview]
    if not panels:
        return None
    # Titles are prefixed so that they stay unique across sections and say whose panel it is; keys are the
    # module's own, prefixed with its slug, so a section panel is the same panel as on the module's dashboard.
    # Sections are collapsed: their queries run when opened, so loading the overview costs the same for 3 or
    # 30 modules.
    return Row(contract.title, tuple(p.titled(f"{contract.title}: {p.title}").keyed(f"{contract.slug}.{key}")
                                     for p, key in panels), collapsed=True, key=contract.slug)


def build_overview(modules: Sequence[Module], settings: ProjectSettings = DEFAULTS) -> DashboardSpec:
    """Return the overview: cross-module panels, one section per module, links to every module dashboard."""
    slo_keys = ("slo_sli", "slo_objective", "slo_budget_remaining", "slo_burn_rate")
    summary = Row("All modules", (
        module_health().sized(width=8).keyed("overview.module_health"),
        total_operations().sized(width=4).keyed("overview.total_operations"),
        cost_by_module().sized(width=12, height=10).keyed("overview.cost_by_module"),
        operations_by_module().keyed("overview.operations_by_module"),
        error_ratio_by_module().keyed("overview.error_ratio_by_module"),
        p95_by_module().keyed("overview.p95_by_module"),
        *(panel.keyed(f"overview.{key}") for panel, key in zip(slo_table(), slo_keys, strict=True)),
    ), key="overview")
    sections = [row for contract, dashboard in modules if (row := module_section(contract, dashboard))]
    return DashboardSpec(
        uid=OVERVIEW_UID,
        title=settings.overview_title,
        description="Health, traffic and cost of every module, with each module's own summary panels.",
        rows=(summary, *sections),
        variables=top_variables(),
        links=tuple(Link(settings.dashboard_title(contract), dashboard.uid or contract.slug,
                         f"{contract.title} dashboard") for contract, dashboard in modules),
        tags=("generated", "overview"),
    )
