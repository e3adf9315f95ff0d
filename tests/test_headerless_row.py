"""A headerless first row: panels above the first row header (or on a dashboard without any), as imported
dashboards often have them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashbuild.checks import run_checks
from dashbuild.compiled import CompiledDashboard, flatten
from dashbuild.diff_dashboard import diff_dashboard
from dashbuild.lint import LintContext, lint_dashboard
from dashbuild.overview import module_section
from dashbuild.render import render_dashboard
from dashbuild.schema import validate_dashboard
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import DashboardSpec, ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.keys import panel_ids, panel_keys, row_keys
from panels.layout import GridPos, layout
from tests.conftest import BuildRunner

TOP = ModuleContract("top", "Top", ScrapeTarget(9000), standard_metrics("top"),
                     label_values={"operation": ("a",), "status": ("ok", "error"), "error_type": ("timeout",),
                                   "type": ("prompt",)})
OPS, COST = TOP.metric("operations_total"), TOP.metric("cost_total")
CONTEXT = LintContext(uids=frozenset({"top"}))


def plain(title: str, kind: str = "timeseries") -> Panel:
    """Return a hand-made panel (keyed by its place in its row)."""
    return Panel(kind, title, "What it shows.", "short", (Target("sum(rate(top_operations_total[$__rate_interval]))"),))  # type: ignore[arg-type]


def spec(*rows: Row) -> DashboardSpec:
    """Return a dashboard of these rows."""
    return DashboardSpec(uid="top", title="Top", description="d", rows=rows)


def compiled(dashboard: DashboardSpec) -> CompiledDashboard:
    """Return the rendered dashboard as the build's checks and lint see it."""
    return CompiledDashboard(spec=dashboard, json=render_dashboard(dashboard), source="dashboards/top.py",
                             known_series=TOP.series_names(), contract=TOP)


def findings(dashboard: DashboardSpec) -> list[str]:
    """Return every schema error (fast and plain paths), check error and lint finding of a dashboard."""
    view = compiled(dashboard)
    fast, plain_errors = validate_dashboard(view.json), validate_dashboard(view.json, fast=False)
    assert sorted(map(str, fast)) == sorted(map(str, plain_errors))
    return ([str(e) for e in fast] + [e.message for e in run_checks([view])]
            + [f"{f.rule}: {f.message}" for f in lint_dashboard(view, CONTEXT)])


def top_and_row() -> DashboardSpec:
    """Return a dashboard with two stats at the top and one titled row below them."""
    return spec(Row("", (h.cost_over_range(COST), plain("Hand-made", "stat"))),
                Row("Traffic", (h.rate_per_second(OPS, title="Ops"),)))


# -- layout and rendering ----------------------------------------------------------------------------

def test_layout_places_headerless_panels_at_the_top() -> None:
    top, traffic = layout(top_and_row().rows)
    assert top.pos is None
    assert [pos for _, pos in top.panels] == [GridPos(x=0, y=0, w=12, h=5), GridPos(x=12, y=0, w=12, h=5)]
    assert traffic.pos == GridPos(x=0, y=5, w=24, h=1)
    assert [pos for _, pos in traffic.panels] == [GridPos(x=0, y=6, w=24, h=8)]


def test_rendered_json_has_no_row_panel_for_it() -> None:
    panels = render_dashboard(top_and_row())["panels"]
    assert [(p["type"], p["title"], p["gridPos"]["y"]) for p in panels] == [
        ("stat", "Cost (time range)", 0), ("stat", "Hand-made", 0), ("row", "Traffic", 5), ("timeseries", "Ops", 6)]


def test_a_dashboard_of_one_headerless_row_has_no_row_panel_at_all() -> None:
    panels = render_dashboard(spec(Row("", (plain("A"), plain("B"), plain("C")))))["panels"]
    assert [(p["type"], p["gridPos"]) for p in panels] == [
        ("timeseries", {"h": 8, "w": 8, "x": x, "y": 0}) for x in (0, 8, 16)]


def test_flatten_puts_its_panels_in_row_empty() -> None:
    view = compiled(top_and_row())
    assert [(p.title, p.row, p.index) for p in view.panels] == [
        ("Cost (time range)", "", 0), ("Hand-made", "", 1), ("Ops", "Traffic", 0)]
    assert [p.key for p in view.panels] == ["cost_over_range.top_cost_total", "top.2",
                                            "rate_per_second.top_operations_total"]
    assert [p.key for p in flatten(view.json)] == [f"#{p.id}" for p in view.panels]


def test_schema_checks_and_lint_are_clean() -> None:
    assert findings(top_and_row()) == []
    assert findings(spec(Row("", (plain("A"), plain("B"))))) == []


# -- validation ----------------------------------------------------------------------------------------

def test_only_the_first_row_may_be_headerless() -> None:
    with pytest.raises(ValueError, match=r"the row without a title \(first panel 'Late'\) is row 2, after row "
                                         r"'Traffic': only the first row may be without a title"):
        spec(Row("Traffic", (plain("A"),)), Row("", (plain("Late"),)))
    with pytest.raises(ValueError, match="is row 2, after the row without a title"):
        ModuleDashboard(rows=(Row("", (plain("A"),)), Row("", ())))


@pytest.mark.parametrize(("fields", "message"), [
    ({"collapsed": True}, "cannot be collapsed"),
    ({"repeat": "operation"}, r"cannot be repeated by \$operation"),
])
def test_a_headerless_row_has_no_header_to_collapse_or_repeat(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"the row without a title \(first panel 'A'\): .*" + message):
        Row("", (plain("A"),), **fields)


# -- keys ----------------------------------------------------------------------------------------------

def test_keys_are_top_and_the_row_needs_no_id() -> None:
    rows = (Row("", (plain("A"), h.rate_per_second(OPS))), Row("Top", (plain("B"),)))
    assert panel_keys(rows) == [["top.1", "rate_per_second.top_operations_total"], ["top.1-2"]]
    assert row_keys(rows) == [None, "row.top"]
    keyed = (Row("", (plain("A"),), key="intro"),)
    assert panel_keys(keyed) == [["intro.1"]] and row_keys(keyed) == [None]


def test_titled_rows_keep_their_ids_when_a_headerless_row_is_added_above() -> None:
    traffic = Row("Traffic", (h.rate_per_second(OPS, title="Ops"), plain("Hand-made")))
    before = render_dashboard(spec(traffic))["panels"]
    after = render_dashboard(spec(Row("", (h.cost_over_range(COST),)), traffic))["panels"]
    assert [p["id"] for p in after[1:]] == [p["id"] for p in before]
    assert after[0]["id"] == panel_ids(["cost_over_range.top_cost_total"])["cost_over_range.top_cost_total"]


# -- the stages that read rows -------------------------------------------------------------------------

def test_overview_section_takes_headerless_panels() -> None:
    dashboard = ModuleDashboard(rows=(Row("", (h.cost_over_range(COST).in_overview(),)),
                                      Row("Traffic", (h.rate_per_second(OPS),))))
    section = module_section(TOP, dashboard)
    assert section is not None and section.title == "Top"
    assert [p.key for p in section.panels] == ["top.cost_over_range.top_cost_total"]


def test_diff_names_the_top_of_the_dashboard() -> None:
    before = render_dashboard(spec(Row("Traffic", (h.rate_per_second(OPS, title="Ops"),))))
    after = render_dashboard(spec(Row("", (h.cost_over_range(COST),)),
                                  Row("Traffic", (h.rate_per_second(OPS, title="Ops"),))))
    changed = diff_dashboard("top.json", before, after)
    assert changed is not None
    assert [(c.kind, c.what, c.details) for c in changed.changes] == [
        ("added", "panel 'Cost (time range)'", ("stat in the top (no row)",))]


# -- a module file with it builds -------------------------------------------------------------------

MODULE = '''
"""Billing Gateway: its summary stats sit above the first row, as an imported dashboard had them."""

from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="billing_gateway", title="Billing Gateway", target=ScrapeTarget(port=8010),
                          metrics=standard_metrics("billing_gateway"))

DASHBOARD = ModuleDashboard(rows=(
    Row("", (h.cost_over_range(CONTRACT.metric("cost_total")).in_overview(),)),
    Row("Traffic", (h.rate_per_second(CONTRACT.metric("operations_total"), by=("operation",)),)),
))
'''


def test_module_file_builds(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "billing_gateway.py").write_text(MODULE)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    dashboard = json.loads((repo_copy / "provisioning" / "dashboards" / "billing-gateway.json").read_text())
    first, second = dashboard["panels"][:2]
    assert (first["type"], first["gridPos"]["y"]) == ("stat", 0)
    assert (second["type"], second["title"], second["gridPos"]["y"]) == ("row", "Traffic", 5)
    assert build_cli(repo_copy, "--check").returncode == 0
