"""Checks on hand-made compiled dashboards: identity (uids, title slugs), and which file a finding names."""

from __future__ import annotations

from typing import Any

from dashbuild.checks import check_identity, check_json_values, check_schema, slugify
from dashbuild.compiled import CompiledDashboard
from dashbuild.queries import referenced_variables, substitute_variables
from dashbuild.render import render_dashboard
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import Row
from panels import helpers as h
from panels.spec import DashboardSpec


def compiled(uid: str, title: str) -> CompiledDashboard:
    """Return a minimal compiled dashboard."""
    data: dict[str, Any] = {"uid": uid, "title": title, "panels": [], "templating": {"list": []}}
    spec = DashboardSpec(uid="x", title="x", description="", rows=())
    return CompiledDashboard(spec=spec, json=data, source=f"dashboards/{uid}.py")


def test_slugs_follow_grafana() -> None:
    assert slugify("Prompt Manager") == slugify("prompt-manager") == "prompt-manager"
    assert slugify("LLM  Provider!") == "llm-provider"


def test_identity_check_finds_slug_and_uid_clashes() -> None:
    errors = check_identity([compiled("a", "Same Title"), compiled("a", "same-title"), compiled("B.C", "Other"),
                             compiled("Mixed_Case-1", "Mixed"), compiled("mixed_case-1", "Lower")])
    messages = [str(e) for e in errors]
    assert any("uid 'a' is also used by dashboards/a.py" in m for m in messages)
    assert any("same slug 'same-title'" in m for m in messages)
    assert any("uid 'B.C' must be 1 to 40 letters, digits, '-' or '_'" in m for m in messages)
    # Grafana's uids are case-sensitive, but they name the provisioning files, which must not collide.
    assert any("uid 'mixed_case-1' is also used by dashboards/Mixed_Case-1.py" in m for m in messages)
    assert len(errors) == 4


def test_variables_are_substituted_in_all_grafana_syntaxes() -> None:
    expr = 'rate(x{a=~"$a", b=~"${b}", c=~"[[c]]", d=~"${d:regex}"}[$__rate_interval])'
    assert referenced_variables(expr) == {"a", "b", "c", "d", "__rate_interval"}
    assert substitute_variables(expr, {"a": "1", "b": "2", "c": "3", "d": "4", "__rate_interval": "1m"}) == (
        'rate(x{a=~"1", b=~"2", c=~"3", d=~"4"}[1m])')


def test_a_finding_names_the_file_of_the_panel_by_its_id_not_its_title() -> None:
    # As in the overview: panels from two module files. Retitled alike, each finding still names its own file.
    demo = ModuleContract("demo", "Demo", ScrapeTarget(9000), standard_metrics("demo"))
    ops, cost = h.rate_per_second(demo.metric("operations_total")), h.cost_over_range(demo.metric("cost_total"))
    spec = DashboardSpec(uid="all", title="All", description="d", rows=(Row("a", (ops,)), Row("b", (cost,))))

    def broken(change: str) -> CompiledDashboard:
        data = render_dashboard(spec)
        first, second = data["panels"][1], data["panels"][3]
        first["title"] = second["title"] = "Same"
        second["fieldConfig"]["defaults"]["unit" if change == "unit" else "decimals"] = \
            "furlongs" if change == "unit" else float("nan")
        return CompiledDashboard(spec=spec, json=data, source="dashboards/overview.py",
                                 panel_sources={"cost_over_range.demo_cost_total": "dashboards/b.py"})

    assert [(e.file, e.panel) for e in check_schema([broken("unit")])] == [("dashboards/b.py", "Same")]
    assert [(e.file, e.panel) for e in check_json_values([broken("nan")])] == [("dashboards/b.py", "Same")]
