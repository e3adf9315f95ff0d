"""The overview dashboard, assembled from the registry of module files. It names no module.

Cross-module panels read the `module:*` series of the generated recording rules (rules/recording.py), so
their query count does not grow with the number of modules. Up to `ProjectSettings.overview_sections_max`
modules, module sections hold the panels each module marks with `.in_overview()` and the dashboard links to
every module dashboard; beyond it, one table of all modules (a row each, linking to the module's dashboard)
replaces the sections and the per-module stats, and one dropdown link lists the module dashboards by tag, so
that the overview's size and panel count stay the same whatever the number of modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashbuild.render_panels import field_config_json
from moddash.contract import ModuleContract, Objectives
from panels import (
    DashboardSpec,
    DataLink,
    Link,
    ModuleDashboard,
    Override,
    Panel,
    Row,
    Step,
    Table,
    Target,
    Variable,
    by_name,
    helpers,
    merge,
    organize,
    promql,
)
from panels import settings as recorded
from panels.keys import keyed_panels
from panels.settings import DEFAULTS, OVERVIEW_UID, ProjectSettings
from panels.slo import burn_steps
from panels.spec import TagLink, ref_id
from rules import slo
from rules.recording import total_over_range

Module = tuple[ModuleContract, ModuleDashboard]
BY_MODULE = "{{module}}"
# Time series show the TOP modules, not all: readable at 30 modules, a nearly constant amount of data to read and
# load, and at 1-minute steps, the resolution of the recorded rates. Which modules: see top_variables.
TOP = 5
# An SLO with less than this share of its error budget left is yellow in the SLO columns, and counted as low.
LOW_BUDGET = 0.25


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
# `query_result` of a topk, from which Grafana extracts the `module` values.
TOP_VARIABLES = {
    "busiest": (recorded.OPERATIONS_RATE, "Busiest modules"),
    "failing": (recorded.ERROR_RATIO, "Modules failing most"),
    "slowest": (recorded.P95_DURATION, "Slowest modules"),
}


def top_variables(now: bool = False) -> tuple[Variable, ...]:
    """Return the hidden variables naming the TOP modules of each recorded series: by its average over the range,
    or (`now`) by its value at the end of the range.

    Grafana runs them as instant queries at the end of the range when the dashboard loads or its range changes.
    The range average reads every sample of every module's series in the range (N x range / SCRAPE_INTERVAL: 1.3
    million at 300 modules over 6 h, 0.45 s of a 0.56 s overview load in BENCHMARKS.md), so it serves the sections
    form (at most `overview_sections_max` modules), where a module busy earlier in the range ranks by all it did.
    The table form ranks by the value at the end of the range, one sample per module, and its panels say "now".
    A coarser recorded series for ranking would still read every module's series across every block of the range:
    at one sample a minute, 33 ms per variable at 300 modules over 6 h against 9 ms for the value now
    (bench/load_cost.py's data), and a rule group for the ranking alone. A recorded topk would read other rules
    (which `promtool tsdb create-blocks-from rules` cannot backfill in one pass) or compute every module's rates
    again from raw series at every evaluation.
    """
    def chooses(series: str) -> str:
        ranked = promql.selector(series) if now else promql.over_time("avg", promql.selector(series), "${__range}")
        return f"query_result({promql.topk(TOP, ranked)})"

    return tuple(Variable(name=name, label=f"{label} now" if now else label, query=chooses(series),
                          regex='/module="([^"]+)"/', all_value=None, hidden=True)
                 for name, (series, label) in TOP_VARIABLES.items())


# How the table form's top-5 panels chose their modules, for their descriptions.
_AT_END = ("at the end of the time range (now, unless the range ends in the past), chosen when the dashboard loads "
           "or its time range changes: ranked by that value, not by the average over the range")


def _top(variable: str) -> str:
    """Return the recorded series of `variable` (a TOP_VARIABLES key), for the modules it chose."""
    return promql.selector(TOP_VARIABLES[variable][0], (promql.variable("module", variable),))


def operations_by_module(now: bool = False) -> Panel:
    """Return operations per second of all modules together and of the busiest modules (on average over the range,
    or `now`: at its end; see top_variables)."""
    if now:
        title = f"Operations/s (all, busiest {TOP} now)"
        description = (f"Operations per second of all modules together, and of the {TOP} modules with the most "
                       f"operations per second {_AT_END} (a module busy only earlier in the range ranks by its rate "
                       f"at the end), from the recorded {recorded.OPERATIONS_RATE}.")
    else:
        title = f"Operations/s (all, busiest {TOP})"
        description = (f"Operations per second of all modules together, and of the {TOP} modules busiest on "
                       f"average over the time range, from the recorded {recorded.OPERATIONS_RATE}.")
    return Panel(
        kind="timeseries",
        title=title,
        description=description,
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


def modules_not_up() -> Panel:
    """Return the number of modules with a scrape target down at the end of the range, from the recorded share of
    targets up."""
    return Panel(
        kind="stat",
        title="Modules not UP",
        description="Modules with at least one scrape target down at the end of the time range (now, unless the "
                    "range ends in the past): DEGRADED or DOWN in the Modules table. From the recorded "
                    f"{recorded.UP}; 0 when every module's targets are up, empty when Prometheus has none of these "
                    "series.",
        unit="none",
        targets=(Target(promql.sum_by(f"{promql.selector(recorded.UP)} < bool 1"), "modules", instant=True),),
        thresholds=(Step("green"), Step("red", 1)),
        decimals=0,
    )


def slos_low_on_budget() -> Panel:
    """Return the number of SLOs with little error budget left, from the recorded budget remaining."""
    return Panel(
        kind="stat",
        title=f"SLOs below {LOW_BUDGET * 100:g} % budget",
        description=f"SLOs (availability, latency; one per module and kind) with less than {LOW_BUDGET * 100:g} % of "
                    "their error budget left over their SLO window at the end of the time range, a missed objective "
                    "(budget below 0) included: yellow or red in the SLOs table. From the recorded "
                    f"{slo.BUDGET_REMAINING}; an SLO without traffic in its window has no budget figure and is not "
                    "counted; 0 when none is low, empty when Prometheus has none of these series.",
        unit="none",
        targets=(Target(promql.sum_by(f"{promql.selector(slo.BUDGET_REMAINING)} < bool {LOW_BUDGET:g}"), "SLOs",
                        instant=True),),
        thresholds=(Step("green"), Step("yellow", 1)),
        decimals=0,
    )


def module_health() -> Panel:
    """Return one UP/DEGRADED/DOWN value per module, from the recorded share of targets up."""
    return helpers.health_status((Target(promql.selector(recorded.UP), BY_MODULE, instant=True),))


def error_ratio_by_module(now: bool = False) -> Panel:
    """Return a time series of the error ratio of the modules that fail most (on average over the range, or `now`:
    at its end; see top_variables)."""
    if now:
        title = f"Error rate (worst {TOP} modules now)"
        description = (f"Errors divided by operations ({recorded.ERROR_RATIO}) of the {TOP} modules with the "
                       f"highest ratio {_AT_END} (a module that failed only earlier in the range ranks by its ratio at "
                       "the end; one without traffic then has no ratio and is not among them). 0 for a module that "
                       "never failed, empty when there is no traffic. Yellow above 1 %, red above 5 %.")
    else:
        title = f"Error rate (worst {TOP} modules)"
        description = (f"Errors divided by operations ({recorded.ERROR_RATIO}) of the {TOP} modules with the highest "
                       "average ratio over the time range; 0 for a module that never failed, empty when there is "
                       "no traffic. Yellow above 1 %, red above 5 %.")
    return Panel(
        kind="timeseries",
        title=title,
        description=description,
        unit="percentunit",
        targets=(Target(_top("failing"), BY_MODULE),),
        thresholds=(Step("green"), Step("yellow", 0.01), Step("red", 0.05)),
        min=0,
        max=1,
        min_interval=recorded.WINDOW,
    )


def p95_by_module(now: bool = False) -> Panel:
    """Return a time series of the P95 operation duration of the slowest modules (on average over the range, or
    `now`: at its end; see top_variables)."""
    if now:
        title = f"Operation duration P95 (slowest {TOP} modules now)"
        description = (f"95th percentile operation duration ({recorded.P95_DURATION}) of the {TOP} modules with "
                       f"the highest P95 {_AT_END} (a module slow only earlier in the range ranks by its P95 at the "
                       "end; one completing no operation then has no P95 and is not among them). Empty while a "
                       "module completes no operation.")
    else:
        title = f"Operation duration P95 (slowest {TOP} modules)"
        description = (f"95th percentile operation duration ({recorded.P95_DURATION}) of the {TOP} modules slowest "
                       "on average over the time range; empty while a module completes no operation.")
    return Panel(
        kind="timeseries",
        title=title,
        description=description,
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
                    (Step("red"), Step("yellow", 0), Step("green", LOW_BUDGET)), 1),
        _slo_column(f"SLOs: burn rate ({slo.BURN_WINDOW})", slo.BURN_RATE, "Error ratio over the last "
                    f"{slo.BURN_WINDOW} divided by the error budget: at 1 the budget lasts exactly the SLO window. "
                    f"Yellow from the ticket's factor, orange and red from the pages' (for a {window} window).",
                    "none", burn_steps(slo.burn_alerts(window)), 2),
    )


# The tags every module dashboard carries (dashbuild/pipeline.py: module_spec); beyond the sections threshold the
# overview links to the dashboards carrying them all, in one dropdown, instead of one link per module.
MODULE_DASHBOARD_TAGS = ("generated", "module")
# The label holding the uid of each module's dashboard in the module table: a copy of `module` (`label_join`,
# which needs no `$1` Grafana would read as a variable), mapped to the uid where a module file sets its own.
DASHBOARD_LABEL = "dashboard"


def _table_values(names: Sequence[str]) -> dict[str, str]:
    """Return the names Grafana gives the value fields of a table's instant queries (`Value #A`...) -> `names`."""
    return {f"Value #{ref_id(index)}": name for index, name in enumerate(names)}


def _column_like(name: str, panel: Panel, cell: str | None = None) -> Override:
    """Return the override giving table column `name` the unit, decimals, limits and value mappings of `panel`, and
    with `cell` (`color-text`, `color-background`) its threshold colours."""
    properties: dict[str, Any] = {"unit": panel.unit}
    for key, value in (("decimals", panel.decimals), ("min", panel.min), ("max", panel.max)):
        if value is not None:
            properties[key] = value
    properties.update(field_config_json(mappings=panel.mappings))
    if cell is not None:
        properties["custom.cellOptions"] = {"type": cell}
        properties.update(field_config_json(thresholds=panel.thresholds))
    return by_name(name, properties)


def _dashboard_uids(modules: Sequence[Module]) -> dict[str, str]:
    """Return module slug -> dashboard uid for the modules whose dashboard has a uid of its own."""
    return {contract.slug: dashboard.uid for contract, dashboard in modules
            if dashboard.uid and dashboard.uid != contract.slug}


def module_table(modules: Sequence[Module]) -> Panel:
    """Return one table of all modules, a row each: health, operations/s, error ratio, P95 and cost/h, with a link.

    Five instant queries of the recorded `module:*` series, whatever the number of modules, joined by their `module`
    label (`merge`); each column reads what the panel beside sections reads (module health, the last points of the
    time series) and shows it with that panel's unit, colours and mappings, so the numbers are the same. Each row's
    module links to that module's dashboard: its uid is the module's slug, mapped where a module file sets its own.
    """
    health, failing = module_health(), error_ratio_by_module()
    # No cost over the range, as the pie beside sections shows it: integrating every module's recorded rate over the
    # range reads N x range / interval samples on every refresh, the costliest query of a many-module overview.
    cost = Panel(kind="stat", title="Cost/h", description="US dollars per hour.", unit="currencyUSD",
                 targets=(Target(promql.scale(promql.selector(recorded.COST_RATE), 3600)),), decimals=2)
    columns = {
        "Health": (f'label_join({health.targets[0].expr}, "{DASHBOARD_LABEL}", "", "module")',
                   _column_like("Health", health, "color-background")),
        "Operations/s": (promql.selector(recorded.OPERATIONS_RATE),
                         _column_like("Operations/s", operations_by_module())),
        "Error ratio": (promql.selector(recorded.ERROR_RATIO), _column_like("Error ratio", failing, "color-text")),
        "P95 duration": (promql.selector(recorded.P95_DURATION), _column_like("P95 duration", p95_by_module())),
        "Cost/h": (cost.targets[0].expr, _column_like("Cost/h", cost)),
    }
    values = _table_values(tuple(columns))
    uids = _dashboard_uids(modules)
    dashboard_column: dict[str, Any] = {"custom.hidden": True}
    if uids:
        dashboard_column["mappings"] = [{"type": "value", "options": {
            slug: {"text": uid, "index": index} for index, (slug, uid) in enumerate(sorted(uids.items()))}}]
    link = DataLink("${__value.raw} dashboard", f"/d/${{__data.fields.{DASHBOARD_LABEL}}}?${{__url_time_range}}")
    return Panel(
        kind="table",
        title="Modules",
        description="Every module, one row each, from the recorded module:* series (one query per column, whatever "
                    "the number of modules): health (UP when all its scrape targets are up, DEGRADED when some "
                    "are, DOWN when none is), operations per second, error ratio (0 for a module that never "
                    "failed, empty without traffic), P95 operation duration (empty while none completes) and "
                    "cost per hour, all now. Sorted by health, worst first; a module's name opens its dashboard.",
        unit="none",
        targets=tuple(Target(expr, "", instant=True, format="table") for expr, _ in columns.values()),
        transformations=(merge(), organize(exclude=("Time",), rename={"module": "Module", **values},
                                           order=("module", *values))),
        overrides=(by_name(DASHBOARD_LABEL, dashboard_column), by_name("Module", field_config_json(links=(link,))),
                   *(override for _, override in columns.values())),
        style=Table(sort_by="Health", descending=False),
    )


def slo_overview_table() -> Panel:
    """Return the SLO columns beside sections as one table, a row per module and SLO: the same queries, units and
    colours."""
    stats = slo_table()
    names = [f"{title[0].upper()}{title[1:]}" for title in (stat.title.removeprefix("SLOs: ") for stat in stats)]
    values = _table_values(names)
    window = Objectives().slo_window
    return Panel(
        kind="table",
        title="SLOs",
        description="Every module's SLOs (availability, latency), one row each, from the recorded SLO series (one "
                    f"query per column): the share of good operations over the SLO window ({window} unless the "
                    "module says otherwise; empty without traffic), the objective, the share of the error budget "
                    "left (red when negative, yellow below 25 %), and the burn rate over the last "
                    f"{slo.BURN_WINDOW} (at 1 the budget lasts exactly the window; coloured at the alerts' burn "
                    "factors). Sorted by budget left, least first.",
        unit="percentunit",
        targets=tuple(Target(stat.targets[0].expr, "", instant=True, format="table") for stat in stats),
        transformations=(merge(), organize(exclude=("Time",), rename={"module": "Module", "slo": "SLO", **values},
                                           order=("module", "slo", *values))),
        overrides=tuple(_column_like(name, stat, "color-text") for name, stat in zip(names, stats, strict=True)),
        style=Table(sort_by=names[2], descending=False),
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


def _summary_with_sections() -> Row:
    """Return the cross-module row shown beside module sections: a stat or chart per measure, one value per module."""
    slo_keys = ("slo_sli", "slo_objective", "slo_budget_remaining", "slo_burn_rate")
    return Row("All modules", (
        module_health().sized(width=8).keyed("overview.module_health"),
        total_operations().sized(width=4).keyed("overview.total_operations"),
        cost_by_module().sized(width=12, height=10).keyed("overview.cost_by_module"),
        operations_by_module().keyed("overview.operations_by_module"),
        error_ratio_by_module().keyed("overview.error_ratio_by_module"),
        p95_by_module().keyed("overview.p95_by_module"),
        *(panel.keyed(f"overview.{key}") for panel, key in zip(slo_table(), slo_keys, strict=True)),
    ), key="overview")


def _summary_with_table(modules: Sequence[Module]) -> tuple[Row, ...]:
    """Return the rows of a many-module overview: totals, counts and the top-5 time series, then the two tables in
    collapsed rows."""
    # The health stat, the cost pie and the SLO stats show one value per module: at hundreds of modules they are
    # unreadable and slow to draw. Health and the SLO numbers move into the tables' columns (the same queries); cost
    # is shown per hour (see module_table).
    # The tables are what sections are below the threshold: every module's detail, in collapsed rows whose queries
    # run when opened. Each of their nine columns reads one sample of every module (or of every module and SLO, 2N),
    # and Prometheus' cost of an instant query grows with the series it selects, whatever it returns (counting
    # them costs it as much): at 300 modules, opening both rows takes longer than loading the whole overview at 3
    # modules (bench/load_cost.py). Open, the two counts read three of those columns' worth instead, so that a
    # module down or an SLO low on budget shows without opening them.
    return (
        Row("All modules", (
            total_operations().sized(width=4).keyed("overview.total_operations"),
            modules_not_up().sized(width=4).keyed("overview.modules_not_up"),
            slos_low_on_budget().sized(width=4).keyed("overview.slos_low_on_budget"),
            operations_by_module(now=True).sized(width=12).keyed("overview.operations_by_module"),
            error_ratio_by_module(now=True).sized(width=12).keyed("overview.error_ratio_by_module"),
            p95_by_module(now=True).sized(width=12).keyed("overview.p95_by_module"),
        ), key="overview"),
        Row("Every module", (module_table(modules).sized(width=24, height=20).keyed("overview.module_table"),),
            collapsed=True, key="modules"),
        Row("Every SLO", (slo_overview_table().sized(width=24, height=12).keyed("overview.slo_table"),),
            collapsed=True, key="slos"),
    )


def build_overview(modules: Sequence[Module], settings: ProjectSettings = DEFAULTS) -> DashboardSpec:
    """Return the overview: cross-module panels, then one section per module and links to every module dashboard
    up to `settings.overview_sections_max` modules, or beyond it a table of all modules and one link by tag."""
    if len(modules) > settings.overview_sections_max:
        return DashboardSpec(
            uid=OVERVIEW_UID,
            title=settings.overview_title,
            description="Health, traffic, errors, latency and cost of every module in one table, each row linking "
                        "to the module's dashboard.",
            rows=_summary_with_table(modules),
            variables=top_variables(now=True),
            links=(TagLink("Module dashboards", MODULE_DASHBOARD_TAGS, "Every module's dashboard"),),
            tags=("generated", "overview"),
        )
    sections = [row for contract, dashboard in modules if (row := module_section(contract, dashboard))]
    return DashboardSpec(
        uid=OVERVIEW_UID,
        title=settings.overview_title,
        description="Health, traffic and cost of every module, with each module's own summary panels.",
        rows=(_summary_with_sections(), *sections),
        variables=top_variables(),
        links=tuple(Link(settings.dashboard_title(contract), dashboard.uid or contract.slug,
                         f"{contract.title} dashboard") for contract, dashboard in modules),
        tags=("generated", "overview"),
    )
