"""The overview stays small: beyond `overview_sections_max` modules, one table of all modules replaces the sections.

Size and panel count at 1000 modules, the threshold and one above it, the shipped 3-module overview byte for byte,
the build's checks and lint on the table, links that reach each module's dashboard (also where a module file sets
its own uid), and the table's queries on the real Prometheus engine with known answers, beside the panels they
replace (tests/test_promql_semantics.py's harness); the table form's top-5 modules chosen by their value at the end
of the range where sections average it over the range, and the two counts shown open, on the same engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from bench import synthetic
from dashbuild.checks import run_checks
from dashbuild.discover import ModuleFile, discover
from dashbuild.files import dump_json, dump_yaml
from dashbuild.lint import lint
from dashbuild.overview import MODULE_DASHBOARD_TAGS, build_overview
from dashbuild.pipeline import compile_dashboards, compile_overview, module_spec
from dashbuild.prometheus import recording_rules_file
from dashbuild.queries import GRAFANA_VARIABLES, selected_series, substitute_variables
from dashbuild.render import render_dashboard
from dashbuild.settings import load_settings
from dashbuild.slo_files import slo_rules_file
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import DashboardSpec, ModuleDashboard, Panel, Row, Variable
from panels import helpers as h
from panels.settings import DEFAULTS, OVERVIEW_SECTIONS_MAX, SCRAPE_INTERVAL, ProjectSettings
from rules import slo
from rules.recording import recorded_series
from tests.conftest import REPO
from tests.test_edges import Check, empty, exact
from tests.test_overview import synthetic as small_modules
from tests.test_promql_semantics import NOW, STEP, assert_evaluates, counter, query

TABLE_ONLY = attrs.evolve(DEFAULTS, overview_sections_max=0)


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every panel of a dashboard's JSON, rows and the panels of collapsed rows included."""
    return [panel for top in dashboard["panels"] for panel in (top, *top.get("panels", []))]


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    """Return the panel titled `title`."""
    (found,) = [p for p in all_panels(dashboard) if p.get("title") == title]
    return found


def column(table: dict[str, Any], name: str) -> dict[str, Any]:
    """Return a table's override of column `name` as {property id: value}."""
    (override,) = [o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == name]
    return {prop["id"]: prop["value"] for prop in override["properties"]}


def spec_panel(spec_rows: tuple[Row, ...], key: str) -> Panel:
    """Return the spec panel with this key."""
    (found,) = [p for row in spec_rows for p in row.panels if p.key == key]
    return found


# -- size and panel count stay bounded ----------------------------------------------------------------------------

def test_overview_of_1000_modules_is_small_valid_and_lint_clean() -> None:
    modules = synthetic.load(synthetic.compiled_sources(1000))
    overview = compile_overview(modules)
    assert run_checks([overview]) == []
    assert [(f.rule, f.message) for f in lint([overview])] == []
    size = len(dump_json(overview.json))
    assert size <= 300_000, f"{size} bytes"
    assert len(all_panels(overview.json)) <= 60
    # One row of cross-module panels, then the two tables in collapsed rows: nothing per module, no link per module.
    assert [p["title"] for p in overview.json["panels"]] == [
        "All modules", "Total operations", "Modules not UP", "SLOs below 25 % budget",
        "Operations/s (all, busiest 5 now)", "Error rate (worst 5 modules now)",
        "Operation duration P95 (slowest 5 modules now)", "Every module", "Every SLO"]
    assert [(p["title"], p["collapsed"], [c["title"] for c in p["panels"]]) for p in overview.json["panels"]
            if p["type"] == "row" and p["collapsed"]] == [("Every module", True, ["Modules"]),
                                                          ("Every SLO", True, ["SLOs"])]
    assert [(link["type"], link["tags"]) for link in overview.json["links"]] == [("dashboards",
                                                                                 list(MODULE_DASHBOARD_TAGS))]
    assert len(overview.json["templating"]["list"]) == 4  # the datasource and the three hidden top-5 choosers


def test_size_does_not_grow_past_the_threshold() -> None:
    sizes = {count: len(dump_json(render_dashboard(build_overview(small_modules(count)))))
             for count in (OVERVIEW_SECTIONS_MAX + 1, 200)}
    # Only the module names differ, never the number of panels, queries or links.
    assert sizes[OVERVIEW_SECTIONS_MAX + 1] == sizes[200]


def test_sections_up_to_the_threshold_and_a_table_one_above() -> None:
    at = render_dashboard(build_overview(small_modules(OVERVIEW_SECTIONS_MAX)))
    sections = [p for p in at["panels"] if p["type"] == "row" and p.get("collapsed")]
    assert len(sections) == OVERVIEW_SECTIONS_MAX and len(at["links"]) == OVERVIEW_SECTIONS_MAX
    assert {"Module health", "Cost by module", "SLOs: objective"} <= {p["title"] for p in all_panels(at)}
    assert "Modules" not in {p["title"] for p in all_panels(at)}

    above = render_dashboard(build_overview(small_modules(OVERVIEW_SECTIONS_MAX + 1)))
    assert [(p["title"], p["collapsed"]) for p in above["panels"] if p["type"] == "row"] == [
        ("All modules", False), ("Every module", True), ("Every SLO", True)]
    assert len(above["links"]) == 1
    titles = {p["title"] for p in all_panels(above)}
    assert {"Modules", "SLOs", "Modules not UP", "SLOs below 25 % budget"} <= titles
    # The stats and the pie that show one value per module are gone: the tables' columns show their numbers (cost
    # per hour rather than over the range).
    assert not {"Module health", "Cost by module", "SLOs: objective"} & titles


def test_no_panel_or_variable_reads_every_module_over_the_range() -> None:
    # Panels run again on every refresh: beyond the threshold only the total of the one all-modules series is read
    # over the range (the pie's per-module totals read N x range / interval samples each time), and the top-5
    # variables read each module's value at the end of the range, not every sample in it.
    dashboard = render_dashboard(build_overview(small_modules(OVERVIEW_SECTIONS_MAX + 1)))
    over_range = {p["title"] for p in all_panels(dashboard) for t in p.get("targets", []) if "$__range" in t["expr"]}
    assert over_range == {"Total operations"}
    (target,) = panel(dashboard, "Total operations")["targets"]
    assert selected_series(substitute_variables(target["expr"], GRAFANA_VARIABLES)) == {"all:operations:rate1m"}
    variables = [v for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert [(v["name"], v["query"], v["hide"]) for v in variables] == [
        ("busiest", "query_result(topk(5, module:operations:rate1m))", 2),
        ("failing", "query_result(topk(5, module:error_ratio:rate1m))", 2),
        ("slowest", "query_result(topk(5, module:operation_duration_seconds:p95_1m))", 2)]
    # Beside sections they still average over the range.
    sections = render_dashboard(build_overview(small_modules(OVERVIEW_SECTIONS_MAX)))
    assert all("avg_over_time(" in v["query"] and "[${__range}]" in v["query"]
               for v in sections["templating"]["list"] if v["type"] == "query")


def test_the_threshold_is_a_project_setting() -> None:
    assert OVERVIEW_SECTIONS_MAX >= 3  # the shipped repository keeps its sections
    few = render_dashboard(build_overview(small_modules(3), attrs.evolve(DEFAULTS, overview_sections_max=2)))
    assert "Modules" in {p["title"] for p in all_panels(few)}
    for bad in (-1, True, 2.5, "20"):
        with pytest.raises(ValueError, match="overview_sections_max must be a whole number"):
            ProjectSettings(overview_sections_max=bad)  # type: ignore[arg-type]


def test_shipped_three_module_overview_is_byte_identical() -> None:
    settings = load_settings(REPO)
    modules = discover(REPO)
    assert len(modules) == 3 and len(modules) <= settings.overview_sections_max
    shipped = (REPO / "provisioning" / "dashboards" / "modules-overview.json").read_bytes()
    assert dump_json(compile_overview(modules, settings).json) == shipped


# -- the table goes through the pipeline like any panel --------------------------------------------------------------

def custom_uid_modules() -> list[ModuleFile]:
    """Return three modules; the second's dashboard keeps an imported uid that is not its slug."""
    modules: list[ModuleFile] = []
    for name, uid in (("alpha", None), ("beta_svc", "Imported-Beta_1"), ("gamma", None)):
        contract = ModuleContract(name, name.title(), ScrapeTarget(9400 + len(modules)), standard_metrics(name))
        dashboard = ModuleDashboard(rows=(Row("Traffic", (
            h.rate_per_second(contract.metric("operations_total"), title="Ops").in_overview(),)),), uid=uid)
        modules.append(ModuleFile(f"dashboards/{name}.py", contract, dashboard))
    return modules


def test_table_overview_passes_schema_and_lint_beside_the_module_dashboards() -> None:
    dashboards = compile_dashboards(custom_uid_modules(), TABLE_ONLY)
    assert run_checks(dashboards) == []
    assert [(f.dashboard, f.rule, f.message) for f in lint(dashboards)
            if f.dashboard.startswith("modules-overview")] == []


def test_each_row_links_to_its_module_dashboard_also_with_an_own_uid() -> None:
    modules = custom_uid_modules()
    uids = {m.contract.slug: module_spec(m).uid for m in modules}
    assert uids["beta-svc"] == "Imported-Beta_1"
    table = panel(render_dashboard(build_overview([(m.contract, m.dashboard) for m in modules], TABLE_ONLY)),
                  "Modules")
    # The health query copies `module` into `dashboard`, a hidden column mapped to the uid where it differs;
    # the module cell's link opens /d/<that column's text>, which Grafana gives after value mappings.
    assert table["targets"][0]["expr"] == 'label_join(module:up:avg, "dashboard", "", "module")'
    hidden = column(table, "dashboard")
    assert hidden["custom.hidden"] is True
    (mapping,) = hidden["mappings"]
    shown = {slug: mapping["options"].get(slug, {}).get("text", slug) for slug in uids}
    assert shown == uids
    (link,) = column(table, "Module")["links"]
    assert link["url"] == "/d/${__data.fields.dashboard}?${__url_time_range}"
    # Without own uids there is nothing to map: the copy of the slug is the uid.
    plain = panel(render_dashboard(build_overview(small_modules(3), TABLE_ONLY)), "Modules")
    assert "mappings" not in column(plain, "dashboard")


def test_the_dashboards_link_lists_every_module_dashboard() -> None:
    for module in custom_uid_modules():
        assert set(MODULE_DASHBOARD_TAGS) <= set(module_spec(module).tags)


def test_table_reads_only_recorded_series_with_one_query_per_column() -> None:
    dashboard = render_dashboard(build_overview(small_modules(50)))
    recorded = recorded_series() | {slo.SLI, slo.OBJECTIVE, slo.BUDGET_REMAINING, slo.BURN_RATE}
    for title, columns in (("Modules", 5), ("SLOs", 4)):
        table = panel(dashboard, title)
        assert len(table["targets"]) == columns
        assert all(t["instant"] and t["format"] == "table" for t in table["targets"])
        for target in table["targets"]:
            assert selected_series(substitute_variables(target["expr"], GRAFANA_VARIABLES)) <= recorded
        assert [t["id"] for t in table["transformations"]] == ["merge", "organize"]
        # The sorted column is one the table has after renaming (Grafana sorts by display name).
        sort_by = table["options"]["sortBy"][0]["displayName"]
        assert sort_by in table["transformations"][1]["options"]["renameByName"].values()
    organize = panel(dashboard, "Modules")["transformations"][1]["options"]
    assert organize["renameByName"] == {"module": "Module", "Value #A": "Health", "Value #B": "Operations/s",
                                        "Value #C": "Error ratio", "Value #D": "P95 duration", "Value #E": "Cost/h"}
    assert organize["excludeByName"] == {"Time": True}


def test_slo_table_runs_the_slo_columns_queries() -> None:
    # The same four queries as the SLO stats beside sections: the same numbers, one row per module and SLO.
    sections, table = build_overview([]), build_overview(small_modules(1), TABLE_ONLY)
    stats = [p for row in sections.rows for p in row.panels if p.title.startswith("SLOs: ")]
    assert [t.expr for p in stats for t in p.targets] == [t.expr for t in spec_panel(table.rows,
                                                                                     "overview.slo_table").targets]


def test_columns_show_numbers_as_the_panels_they_replace_do() -> None:
    sections = render_dashboard(build_overview(small_modules(3)))
    table = render_dashboard(build_overview(small_modules(3), TABLE_ONLY))
    modules, slos = panel(table, "Modules"), panel(table, "SLOs")
    for name, title, properties in (("Health", "Module health", ("unit", "mappings", "thresholds", "min", "max")),
                                    ("Error ratio", "Error rate (worst 5 modules)", ("unit", "thresholds")),
                                    ("SLI over the window", "SLOs: SLI over the window", ("unit", "decimals")),
                                    ("Error budget remaining", "SLOs: error budget remaining",
                                     ("unit", "decimals", "thresholds"))):
        shown = column(modules if name in ("Health", "Error ratio") else slos, name)
        defaults = panel(sections, title)["fieldConfig"]["defaults"]
        assert {p: shown[p] for p in properties} == {p: defaults[p] for p in properties}, name


def test_panels_in_both_modes_keep_their_keys_and_ids() -> None:
    sections = render_dashboard(build_overview(small_modules(3)))
    table = render_dashboard(build_overview(small_modules(3), TABLE_ONLY))
    # The top-5 panels say which modules they show: on average over the range beside sections, now in the table form.
    shared = (("Total operations", "Total operations"), ("All modules", "All modules"),
              ("Operations/s (all, busiest 5)", "Operations/s (all, busiest 5 now)"),
              ("Error rate (worst 5 modules)", "Error rate (worst 5 modules now)"),
              ("Operation duration P95 (slowest 5 modules)", "Operation duration P95 (slowest 5 modules now)"))
    assert [panel(sections, s)["id"] for s, _ in shared] == [panel(table, t)["id"] for _, t in shared]
    for beside_sections, in_table in shared[2:]:
        assert panel(sections, beside_sections)["targets"] == panel(table, in_table)["targets"]
        assert "over the time range" in panel(sections, beside_sections)["description"]
        assert "at the end of the time range" in panel(table, in_table)["description"]
    spec = build_overview(small_modules(3), TABLE_ONLY)
    assert [p.key for row in spec.rows for p in row.panels] == [
        "overview.total_operations", "overview.modules_not_up", "overview.slos_low_on_budget",
        "overview.operations_by_module", "overview.error_ratio_by_module", "overview.p95_by_module",
        "overview.module_table", "overview.slo_table"]


def test_table_overview_renders_the_same_across_hash_seeds() -> None:
    script = ("import sys; from dashbuild.files import dump_json; from dashbuild.overview import build_overview; "
              "from dashbuild.render import render_dashboard; from tests.test_overview_table import "
              "custom_uid_modules, TABLE_ONLY; modules = [(m.contract, m.dashboard) for m in custom_uid_modules()]; "
              "sys.stdout.buffer.write(dump_json(render_dashboard(build_overview(modules, TABLE_ONLY))))")
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=120,
                                check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1


# -- the numbers are true: the table's queries on the real engine ----------------------------------------------------

# Three modules scraped every SCRAPE_INTERVAL for 20 minutes with their `module` label.
# alpha: 1.9 + 0.1 operations a second, 0.1 errors a second, durations 0.2/s <= 0.1 s, 1/s <= 0.5 s, 2/s <= 1 s,
#        0.01 USD a second, its one target up.
# beta:  1 operation a second that never failed (no error series at all), durations 0.5/s <= 0.1 s, 1/s <= 0.25 s,
#        0.002 USD a second, one of its two targets up.
# gamma: no traffic (counters primed at 0, as the instrumentation does), its target up.
SAMPLES = round(1200 / STEP)
SERIES = {
    'alpha_operations_total{module="alpha", operation="x", status="ok"}': counter(1.9, 1200),
    'alpha_operations_total{module="alpha", operation="x", status="error"}': counter(0.1, 1200),
    'alpha_errors_total{module="alpha", operation="x", error_type="timeout"}': counter(0.1, 1200),
    **{f'alpha_operation_duration_seconds_bucket{{module="alpha", operation="x", le="{le}"}}': counter(rate, 1200)
       for le, rate in (("0.1", 0.2), ("0.5", 1), ("1", 2), ("+Inf", 2))},
    'alpha_cost_total{module="alpha"}': counter(0.01, 1200),
    'up{job="alpha", module="alpha", instance="a:1"}': f"1x{SAMPLES}",
    'beta_operations_total{module="beta", operation="x", status="ok"}': counter(1, 1200),
    **{f'beta_operation_duration_seconds_bucket{{module="beta", operation="x", le="{le}"}}': counter(rate, 1200)
       for le, rate in (("0.1", 0.5), ("0.25", 1), ("1", 1), ("+Inf", 1))},
    'beta_cost_total{module="beta"}': counter(0.002, 1200),
    'up{job="beta", module="beta", instance="b:1"}': f"1x{SAMPLES}",
    'up{job="beta", module="beta", instance="b:2"}': f"0x{SAMPLES}",
    'gamma_operations_total{module="gamma", operation="x", status="ok"}': f"0x{SAMPLES}",
    'gamma_errors_total{module="gamma", operation="x", error_type="timeout"}': f"0x{SAMPLES}",
    **{f'gamma_operation_duration_seconds_bucket{{module="gamma", operation="x", le="{le}"}}': f"0x{SAMPLES}"
       for le in ("0.1", "+Inf")},
    'gamma_cost_total{module="gamma"}': f"0x{SAMPLES}",
    'up{job="gamma", module="gamma", instance="c:1"}': f"1x{SAMPLES}",
}
CONTRACTS = [ModuleContract(name, name.title(), ScrapeTarget(9500 + index), standard_metrics(name))
             for index, name in enumerate(("alpha", "beta", "gamma"))]
RULES = recording_rules_file(CONTRACTS)


def cells(**values: float) -> list[dict[str, Any]]:
    """Return promtool's expected samples: one per module, labelled by it."""
    return [{"labels": f'{{module="{module}"}}', "value": value} for module, value in values.items()]


# Per column: the values worked out above (P95 alpha: rank 1.9 of 2 in (0.5, 1] holding ranks 1..2 is
# 0.5 + 0.5 * 0.9 = 0.95; beta: rank 0.95 of 1 in (0.1, 0.25] holding 0.5..1 is 0.1 + 0.15 * 0.9 = 0.235), and the
# panel beside sections that shows the same number (its query and the index of the target).
COLUMNS = {
    "Operations/s": (cells(alpha=2, beta=1, gamma=0), "overview.operations_by_module", 1),
    # 0 for beta, which never failed; nothing for gamma, which has no traffic.
    "Error ratio": (cells(alpha=0.05, beta=0), "overview.error_ratio_by_module", 0),
    "P95 duration": (cells(alpha=0.95, beta=0.235), "overview.p95_by_module", 0),
}


def table_query(name: str) -> str:
    """Return the module table's query of column `name` as Grafana sends it."""
    table = spec_panel(build_overview(small_modules(1), TABLE_ONLY).rows, "overview.module_table")
    names = ("Health", "Operations/s", "Error ratio", "P95 duration", "Cost/h")
    return query(table, names.index(name))


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_table_column_equals_the_panel_it_replaces(tmp_path: Path, promtool: str, name: str) -> None:
    expected, replaced_key, index = COLUMNS[name]
    assert_evaluates(tmp_path, promtool, SERIES, table_query(name), NOW, expected, rules=RULES,
                     interval=SCRAPE_INTERVAL)
    replaced = spec_panel(build_overview([]).rows, replaced_key)
    assert_evaluates(tmp_path, promtool, SERIES, query(replaced, index), NOW, expected, rules=RULES,
                     interval=SCRAPE_INTERVAL)


def test_table_health_carries_the_dashboard_label(tmp_path: Path, promtool: str) -> None:
    # alpha and gamma: all targets up; beta: one of two. The health stat beside sections shows the same values.
    assert_evaluates(tmp_path, promtool, SERIES, table_query("Health"), NOW, [
        {"labels": f'{{dashboard="{module}", module="{module}"}}', "value": value}
        for module, value in (("alpha", 1), ("beta", 0.5), ("gamma", 1))], rules=RULES, interval=SCRAPE_INTERVAL)
    stat = spec_panel(build_overview([]).rows, "overview.module_health")
    assert_evaluates(tmp_path, promtool, SERIES, query(stat), NOW, cells(alpha=1, beta=0.5, gamma=1), rules=RULES,
                     interval=SCRAPE_INTERVAL)


def test_table_cost_per_hour_equals_the_module_dashboards_cost_rate(tmp_path: Path, promtool: str) -> None:
    # 0.01 and 0.002 USD a second are 36 and 7.2 USD an hour; gamma spends nothing. Each module dashboard's own
    # cost-per-hour panel reads the raw counter and shows the same.
    assert_evaluates(tmp_path, promtool, SERIES, table_query("Cost/h"), NOW, cells(alpha=36, beta=7.2, gamma=0),
                     rules=RULES, interval=SCRAPE_INTERVAL)
    for contract, value in zip(CONTRACTS, (36, 7.2, 0), strict=True):
        own = h.cost_rate(contract.metric("cost_total"))
        assert_evaluates(tmp_path, promtool, SERIES, query(own), NOW, [{"labels": "{}", "value": value}],
                         interval=SCRAPE_INTERVAL)


def test_known_answer_fixture_is_what_the_recording_rules_read() -> None:
    # Every raw series above is one the rules read, so no column is right by accident of a missing input.
    raw = {name.split("{")[0] for name in SERIES}
    read = {name for group in RULES["groups"] for rule in group["rules"]
            for name in selected_series(rule["expr"])}
    assert raw <= read


# -- the table form's top-5 choice and counts, on the real engine ----------------------------------------------------

def run_scenarios(tmp_path: Path, promtool: str, rules: dict[str, Any], evaluation_interval: str, interval: str,
                  scenarios: Sequence[tuple[dict[str, str], Sequence[Check]]]) -> None:
    """Assert each scenario's checks over its own input series (a sample every `interval`), all in one promtool run
    with `rules` evaluated every `evaluation_interval`."""
    (tmp_path / "rules.yml").write_bytes(dump_yaml(rules))
    test = {"rule_files": ["rules.yml"], "evaluation_interval": evaluation_interval, "tests": [
        {"interval": interval, "input_series": [{"series": name, "values": values} for name, values in series.items()],
         "promql_expr_test": [{"expr": c.expr, "eval_time": c.at, "exp_samples": c.samples} for c in checks]}
        for series, checks in scenarios]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def chooses(spec: DashboardSpec, name: str, range_: str = "20m") -> str:
    """Return the PromQL of the overview's hidden top-5 variable `name`, as Grafana runs it over `range_`."""
    (variable,) = [v for v in spec.variables if isinstance(v, Variable) and v.name == name]
    return variable.query.removeprefix("query_result(").removesuffix(")").replace("${__range}", range_)


def each(*modules: str, value: float = 1) -> list[dict[str, Any]]:
    """Return promtool's expected samples: `value` for each of `modules`."""
    return cells(**dict.fromkeys(modules, value))


# m1..m5 do 1..5 operations a second all along, 0.01 x i of them failing; m6 did 20 a second, half failing, for the
# first 10 minutes, and none since (its counters stay: a rate of 0, no error ratio). Over the last 20 minutes m6 is
# the busiest and the most failing on average; at the end it is idle.
RANKED = [ModuleContract(f"m{i}", f"M{i}", ScrapeTarget(9600 + i), standard_metrics(f"m{i}")) for i in range(1, 7)]
RANKED_SERIES = {
    **{f'm{i}_operations_total{{module="m{i}", operation="x", status="ok"}}': counter(i, 1200) for i in range(1, 6)},
    **{f'm{i}_errors_total{{module="m{i}", operation="x", error_type="e"}}': counter(0.01 * i * i, 1200)
       for i in range(1, 6)},
    'm6_operations_total{module="m6", operation="x", status="ok"}': f"0+{20 * STEP:g}x120 {20 * 600}x119",
    'm6_errors_total{module="m6", operation="x", error_type="e"}': f"0+{10 * STEP:g}x120 {10 * 600}x119",
}


def test_table_form_ranks_by_the_value_at_the_end_where_sections_average_over_the_range(tmp_path: Path,
                                                                                          promtool: str) -> None:
    table, sections = build_overview(small_modules(1), TABLE_ONLY), build_overview([])
    busiest = spec_panel(table.rows, "overview.operations_by_module")
    run_scenarios(tmp_path, promtool, recording_rules_file(RANKED), SCRAPE_INTERVAL, SCRAPE_INTERVAL, [(RANKED_SERIES, [
        # The table form: the five with the highest value now, with that value; m6 (0 operations, no ratio) is out.
        exact(chooses(table, "busiest"), NOW, cells(m1=1, m2=2, m3=3, m4=4, m5=5)),
        exact(chooses(table, "failing"), NOW, cells(m1=0.01, m2=0.02, m3=0.03, m4=0.04, m5=0.05)),
        # Beside sections: the five with the highest average over the range, m6 first and m1 out.
        exact(f"{chooses(sections, 'busiest')} * 0 + 1", NOW, each("m2", "m3", "m4", "m5", "m6")),
        exact(f"{chooses(sections, 'failing')} * 0 + 1", NOW, each("m2", "m3", "m4", "m5", "m6")),
        # The panel then shows the chosen modules' recorded rates, and the total of all.
        exact(query(busiest, 1, busiest="(m1|m2|m3|m4|m5)"), NOW, cells(m1=1, m2=2, m3=3, m4=4, m5=5)),
        exact(query(busiest, 0), NOW, [{"labels": "{}", "value": 15}]),
    ])])


def test_table_form_counts_modules_not_up(tmp_path: Path, promtool: str) -> None:
    # alpha and delta: every target up; beta: one of two (DEGRADED); gamma: its one target down (DOWN).
    contracts = [ModuleContract(name, name.title(), ScrapeTarget(9700 + index), standard_metrics(name))
                 for index, name in enumerate(("alpha", "beta", "gamma", "delta"))]
    up = {'up{job="alpha", module="alpha", instance="a:1"}': f"1x{SAMPLES}",
          'up{job="beta", module="beta", instance="b:1"}': f"1x{SAMPLES}",
          'up{job="beta", module="beta", instance="b:2"}': f"0x{SAMPLES}",
          'up{job="gamma", module="gamma", instance="c:1"}': f"0x{SAMPLES}",
          'up{job="delta", module="delta", instance="d:1"}': f"1x{SAMPLES}"}
    count = query(spec_panel(build_overview(small_modules(1), TABLE_ONLY).rows, "overview.modules_not_up"))
    all_up = {name: values for name, values in up.items() if "alpha" in name or "delta" in name}
    run_scenarios(tmp_path, promtool, recording_rules_file(contracts), SCRAPE_INTERVAL, SCRAPE_INTERVAL, [
        (up, [exact(count, NOW, [{"labels": "{}", "value": 2}])]),
        (all_up, [exact(count, NOW, [{"labels": "{}", "value": 0}])]),  # 0, not empty
        ({"unrelated_total": f"0x{SAMPLES}"}, [empty(count, NOW)]),  # no module:up:avg at all: nothing, not 0
    ])


def test_table_form_counts_slos_low_on_budget(tmp_path: Path, promtool: str) -> None:
    # Default objectives: 99.9 % of operations succeed (budget 0.1 %) and 99 % complete within 1 s (budget 1 %), over
    # 30 days, here the 2 hours stored. 60 operations a minute each. missed: 0.5 % fail, budget left 1 - 5 = -4.
    # tight: 0.08 % fail, left 1 - 0.8 = 0.2, and 2 % slower than 1 s, left 1 - 2 = -1. fine: 0.05 % fail, left 0.5,
    # and 0.5 % slow, left 0.5. quiet: no traffic, no budget figure. Low (below 25 %): missed's and tight's two.
    contracts = [ModuleContract(name, name.title(), ScrapeTarget(9800 + index), standard_metrics(name),
                                objectives=Objectives()) for index, name in enumerate(("missed", "tight", "fine",
                                                                                       "quiet"))]

    def traffic(name: str, failing: float, slow: float | None = None) -> dict[str, str]:
        series = {f'{name}_operations_total{{operation="x", status="ok"}}': "0+60x120",
                  f'{name}_errors_total{{operation="x", error_type="e"}}': f"0+{60 * failing:g}x120"}
        if slow is not None:
            histogram = f"{name}_operation_duration_seconds"
            series |= {f'{histogram}_count{{operation="x"}}': "0+60x120",
                       f'{histogram}_bucket{{operation="x", le="1.0"}}': f"0+{60 * (1 - slow):g}x120"}
        return series

    quiet = {'quiet_operations_total{operation="x", status="ok"}': "0x120",
             'quiet_errors_total{operation="x", error_type="e"}': "0x120"}
    rules = {"groups": [group for c in contracts if (file := slo_rules_file(c)) for group in file["groups"]]}
    count = query(spec_panel(build_overview(small_modules(1), TABLE_ONLY).rows, "overview.slos_low_on_budget"))
    run_scenarios(tmp_path, promtool, rules, slo.EVALUATION_INTERVAL, "1m", [
        ({**traffic("missed", 0.005), **traffic("tight", 0.0008, 0.02), **traffic("fine", 0.0005, 0.005), **quiet}, [
            exact(count, "120m", [{"labels": "{}", "value": 3}]),
            # The budgets it counts, as the SLOs table shows them.
            exact(slo.BUDGET_REMAINING, "120m", [
                {"labels": f'{{module="{module}", slo="{kind}"}}', "value": value} for module, kind, value in (
                    ("missed", "availability", -4), ("tight", "availability", 0.2), ("tight", "latency", -1),
                    ("fine", "availability", 0.5), ("fine", "latency", 0.5))]),
        ]),
        (traffic("fine", 0.0005, 0.005), [exact(count, "120m", [{"labels": "{}", "value": 0}])]),  # 0, not empty
        (quiet, [empty(count, "120m")]),  # no budget figure at all: nothing, not 0
    ])
