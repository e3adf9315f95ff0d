"""The overview scales: what loads on open does not grow with the number of modules."""

from __future__ import annotations

import attrs

from dashbuild.overview import build_overview
from dashbuild.queries import GRAFANA_VARIABLES, selected_series, substitute_variables
from dashbuild.render import render_dashboard
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h
from panels.settings import DEFAULTS, OVERVIEW_SECTIONS_MAX, ProjectSettings
from rules import slo
from rules.recording import recorded_series


def synthetic(count: int) -> list[tuple[ModuleContract, ModuleDashboard]]:
    """Return `count` modules, each contributing two panels to the overview."""
    modules = []
    for index in range(count):
        name = f"module_{index:03d}"
        contract = ModuleContract(name, f"Module {index}", ScrapeTarget(9000 + index), standard_metrics(name))
        dashboard = ModuleDashboard(rows=(Row("r", (
            h.rate_per_second(contract.metric("operations_total"), title="Ops").in_overview(),
            h.cost_over_range(contract.metric("cost_total")).in_overview(),
        )),))
        modules.append((contract, dashboard))
    return modules


# Enough sections for the tests below to see one per module (the default turns 30 modules into a table).
SECTIONS_30 = attrs.evolve(DEFAULTS, overview_sections_max=30)


def queries_on_load(count: int, settings: ProjectSettings = DEFAULTS) -> int:
    """Return how many queries the overview runs when opened: its variables, and panels outside collapsed rows."""
    dashboard = render_dashboard(build_overview(synthetic(count), settings))
    variables = [v for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return len(variables) + sum(len(p.get("targets", [])) for p in dashboard["panels"] if p["type"] != "row")


def test_overview_query_count_is_independent_of_module_count() -> None:
    # With sections: 3 variables, 7 cross-module targets and the 4 columns of the SLO table.
    assert queries_on_load(3) == queries_on_load(OVERVIEW_SECTIONS_MAX) == queries_on_load(30, SECTIONS_30) == 3 + 7 + 4
    # With the table of all modules: 3 variables, 7 targets of the totals, the two counts and the time series; the
    # module table's 5 columns and the SLO table's 4 wait in collapsed rows until opened.
    assert queries_on_load(OVERVIEW_SECTIONS_MAX + 1) == queries_on_load(300) == 3 + 7


def test_every_module_still_has_its_section_and_link() -> None:
    dashboard = render_dashboard(build_overview(synthetic(30), SECTIONS_30))
    sections = [p for p in dashboard["panels"] if p["type"] == "row" and p["title"].startswith("Module ")]
    assert len(sections) == 30 and all(len(s["panels"]) == 2 and s["collapsed"] for s in sections)
    assert len(dashboard["links"]) == 30


def test_overview_totals_read_only_recorded_series() -> None:
    # Totals over the range integrate the recorded rates (rules/recording.py: total_over_range), so they cost
    # the same for 3 or 30 modules and never read raw counters.
    dashboard = render_dashboard(build_overview(synthetic(30), SECTIONS_30))
    totals = [p for p in dashboard["panels"] if p.get("title") in ("Total operations", "Cost by module")]
    assert len(totals) == 2
    for panel in totals:
        (target,) = panel["targets"]
        assert selected_series(substitute_variables(target["expr"], GRAFANA_VARIABLES)) <= recorded_series()
        assert "sum_over_time(" in target["expr"] and "$__range_s" not in target["expr"]


def test_slo_table_reads_one_recorded_series_per_column() -> None:
    # Each column is one query of a recorded SLO series labelled `module` (and `slo`): one value per module and
    # SLO, whatever the number of modules, and no module named in the query.
    dashboard = render_dashboard(build_overview(synthetic(30), SECTIONS_30))
    columns = [p for p in dashboard["panels"] if p.get("title", "").startswith("SLOs: ")]
    assert [p["title"] for p in columns] == ["SLOs: SLI over the window", "SLOs: objective",
                                             "SLOs: error budget remaining", f"SLOs: burn rate ({slo.BURN_WINDOW})"]
    assert [t["expr"] for p in columns for t in p["targets"]] == [slo.SLI, slo.OBJECTIVE, slo.BUDGET_REMAINING,
                                                                 slo.BURN_RATE]
    assert all(t["legendFormat"] == "{{module}} {{slo}}" and t["instant"] for p in columns for t in p["targets"])
