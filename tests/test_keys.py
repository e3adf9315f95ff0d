"""Stable panel keys: identity apart from title and place, carried into the JSON as panel ids."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

from dashbuild.compiled import CompiledDashboard, CompiledPanel, CompiledTarget
from dashbuild.discover import ModuleFile
from dashbuild.lint import LintContext, Rule, lint_dashboard
from dashbuild.overview import build_overview, module_section
from dashbuild.pipeline import compile_overview
from dashbuild.render import render_dashboard
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import DashboardSpec, ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.keys import panel_ids, panel_keys

DEMO = ModuleContract("demo", "Demo", ScrapeTarget(9000), standard_metrics("demo"),
                      label_values={"operation": ("a",)})
OPS = DEMO.metric("operations_total")
COST = DEMO.metric("cost_total")


def ids(spec: DashboardSpec) -> dict[str, int]:
    """Return panel title -> id in the rendered JSON (rows included)."""
    found: dict[str, int] = {}
    for panel in render_dashboard(spec)["panels"]:
        found[panel["title"]] = panel["id"]
        for child in panel.get("panels", []):
            found[child["title"]] = child["id"]
    return found


def spec(*rows: Row) -> DashboardSpec:
    """Return a dashboard of these rows."""
    return DashboardSpec(uid="demo", title="Demo", description="d", rows=rows)


def test_retitling_keeps_the_id() -> None:
    before = ids(spec(Row("r", (h.rate_per_second(OPS, title="Ops"), h.cost_over_range(COST)))))
    after = ids(spec(Row("r", (h.rate_per_second(OPS, title="Operations per second"), h.cost_over_range(COST)))))
    assert before["Ops"] == after["Operations per second"]
    assert before["Cost (time range)"] == after["Cost (time range)"]


def test_moving_to_another_row_or_place_keeps_the_id() -> None:
    ops, cost = h.rate_per_second(OPS, title="Ops"), h.cost_over_range(COST)
    before = ids(spec(Row("a", (ops, cost)), Row("b", (h.token_usage(DEMO.metric("tokens_total")),))))
    after = ids(spec(Row("a", (cost,)), Row("b", (h.token_usage(DEMO.metric("tokens_total")), ops))))
    assert {title: before[title] for title in ("Ops", "Cost (time range)", "Token usage")} == \
        {title: after[title] for title in ("Ops", "Cost (time range)", "Token usage")}


def test_an_explicit_key_wins_and_must_be_unique() -> None:
    ops = h.rate_per_second(OPS, title="Ops")
    assert panel_keys((Row("r", (ops, ops.keyed("ops-main"))),)) == [
        ["rate_per_second.demo_operations_total", "ops-main"]]
    with pytest.raises(ValueError, match="'same' is given to more than one panel"):
        panel_keys((Row("r", (ops.keyed("same"), ops.keyed("same"))),))
    with pytest.raises(ValueError, match="lowercase letters"):
        ops.keyed("Not A Key")


def test_repeated_derived_keys_are_numbered_in_declaration_order() -> None:
    first, second = h.rate_per_second(OPS, title="All"), h.rate_per_second(OPS, by=("operation",), title="By op")
    assert panel_keys((Row("r", (first, second)),)) == [
        ["rate_per_second.demo_operations_total", "rate_per_second.demo_operations_total-2"]]


def test_a_hand_made_panel_is_keyed_by_its_row_and_place() -> None:
    plain = Panel(kind="stat", title="Plain", description="d", unit="short", targets=(Target("up"),))
    assert panel_keys((Row("Summary row", (h.cost_over_range(COST), plain)),)) == [
        ["cost_over_range.demo_cost_total", "summary_row.2"]]


def test_ids_are_distinct_positive_and_independent_of_order() -> None:
    keys = [f"panel-{i}" for i in range(5000)]
    forward, backward = panel_ids(keys), panel_ids(reversed(keys))
    assert forward == backward
    assert len(set(forward.values())) == len(keys)
    assert all(0 < value < 2**31 for value in forward.values())


def test_overview_sections_keep_the_module_panels_key() -> None:
    dashboard = ModuleDashboard(rows=(Row("r", (h.rate_per_second(OPS, title="Ops").in_overview(),)),))
    section = module_section(DEMO, dashboard)
    assert section is not None and section.key == "demo"
    assert [p.key for p in section.panels] == ["demo.rate_per_second.demo_operations_total"]
    overview = build_overview([(DEMO, dashboard)])
    assert all(p.key for row in overview.rows for p in row.panels)


def test_an_overview_finding_names_the_module_file_by_key_whatever_the_title() -> None:
    other = ModuleContract("other", "Other", ScrapeTarget(9001), standard_metrics("other"),
                           label_values={"operation": ("a",)})
    modules = [ModuleFile(f"dashboards/{c.name}.py", c, ModuleDashboard(rows=(Row("r", (
        h.cost_over_range(c.metric("cost_total"), title="Cost").in_overview(),)),))) for c in (DEMO, other)]
    overview = compile_overview(modules)
    keys = ("demo.cost_over_range.demo_cost_total", "other.cost_over_range.other_cost_total")
    copies = [overview.panel(key) for key in keys]
    for panel in copies:
        assert panel is not None
        panel.json["title"] = "Same"  # type: ignore[index]  # retitled alike: the title tells them apart no more
        panel.json["fieldConfig"]["defaults"]["unit"] = "furlongs" if panel.key == keys[1] else "currencyUSD"
    findings = [f for f in lint_dashboard(overview, LintContext(uids=frozenset({"modules-overview"})))
                if f.rule == "panel-units-rule"]
    assert [(f.file, f.panel_key) for f in findings] == [("dashboards/other.py", keys[1])]


def test_a_silence_follows_the_panel_when_it_is_retitled() -> None:
    def compiled(title: str) -> CompiledDashboard:
        panel = h.cost_over_range(COST, title=title).silence("panel-units-rule", "currency shown in the title")
        rows = (Row("r", (panel,)),)
        data = render_dashboard(spec(*rows))
        data["panels"][1]["fieldConfig"]["defaults"]["unit"] = "furlongs"
        return CompiledDashboard(spec=spec(*rows), json=data, source="dashboards/demo.py")

    context = LintContext(uids=frozenset({"demo"}))
    for title in ("Cost", "Money spent"):
        assert [f for f in lint_dashboard(compiled(title), context) if f.rule == "panel-units-rule"] == []


def test_the_view_flattens_collapsed_rows_and_links_panels_to_their_spec() -> None:
    ops = h.rate_per_second(OPS, title="Ops")
    collapsed = Row("hidden", (h.cost_over_range(COST),), collapsed=True)
    dashboard_spec = spec(Row("r", (ops,)), collapsed)
    d = CompiledDashboard(spec=dashboard_spec, json=render_dashboard(dashboard_spec), source="dashboards/demo.py")
    assert [(p.key, p.title, p.row, p.index) for p in d.panels] == [
        ("rate_per_second.demo_operations_total", "Ops", "r", 0),
        ("cost_over_range.demo_cost_total", "Cost (time range)", "hidden", 0)]
    assert d.panels[0].spec == ops and d.panels[0].source == "dashboards/demo.py"
    assert [t.ref_id for _p, t in d.targets()] == ["A", "A"]
    assert [t.spec for _p, t in d.targets()] == [ops.targets[0], collapsed.panels[0].targets[0]]


def test_each_rule_receives_exactly_its_scope() -> None:
    seen: dict[str, list[object]] = {"dashboard": [], "panel": [], "target": []}

    def on_dashboard(d: CompiledDashboard, _: LintContext) -> Iterator[str]:
        seen["dashboard"].append(d.spec.uid)
        yield from ()

    def on_panel(_d: CompiledDashboard, panel: CompiledPanel, _: LintContext) -> Iterator[str]:
        seen["panel"].append(panel.title)
        yield from ()

    def on_target(_d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                  _: LintContext) -> Iterator[str]:
        seen["target"].append((panel.title, target.ref_id))
        yield from ()

    quantiles = h.duration_quantiles(DEMO.metric("operation_duration_seconds"))
    dashboard_spec = spec(Row("r", (quantiles,)), Row("c", (h.cost_over_range(COST),), collapsed=True))
    d = CompiledDashboard(spec=dashboard_spec, json=render_dashboard(dashboard_spec), source="dashboards/demo.py")
    rules = [Rule(f"{scope}-probe", "probe", "warning", scope, check)  # type: ignore[arg-type]
             for scope, check in (("dashboard", on_dashboard), ("panel", on_panel), ("target", on_target))]
    assert lint_dashboard(d, LintContext(uids=frozenset({"demo"})), rules) == []
    assert seen == {"dashboard": ["demo"], "panel": ["Duration P50/P95/P99", "Cost (time range)"],
                    "target": [("Duration P50/P95/P99", "A"), ("Duration P50/P95/P99", "B"),
                               ("Duration P50/P95/P99", "C"), ("Cost (time range)", "A")]}


def test_evolving_a_panel_keeps_its_origin() -> None:
    ops = h.rate_per_second(OPS, title="Ops")
    assert attrs.evolve(ops, title="Other").origin == ops.origin == "rate_per_second.demo_operations_total"
