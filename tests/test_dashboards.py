"""The generated dashboards: schema-valid, complete per DESIGN.md, and laid out on the 24-column grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashbuild.queries import GRAFANA_VARIABLES, selected_series, substitute_variables
from dashbuild.schema import validate_dashboard
from tests.conftest import REPO

DASHBOARDS = sorted((REPO / "provisioning" / "dashboards").glob("*.json"))

# Every panel the users' dashboards have today (DESIGN.md), by the title we give it.
REQUIRED_PANELS = {
    "prompt-manager": {"Operations/s", "Operation duration P95", "Token usage", "Cost", "Cache hit ratio",
                       "Security validations/s", "Rate limit hits/s"},
    "prompt-security": {"Security validations/s", "Injections detected", "Rate limit hits", "Validation success rate",
                        "Security event timeline"},
    "llm-provider": {"Requests/s by provider", "Request duration", "Token usage", "Cost per provider", "Error rate",
                     "Provider distribution"},
    "modules-overview": {"Total operations", "Cost by module", "Module health"},
}


def load(path: Path) -> dict[str, Any]:
    """Return a dashboard JSON file's content."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def flat_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every non-row panel, including those inside collapsed rows."""
    result = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            result.extend(panel["panels"])
        else:
            result.append(panel)
    return result


def test_all_dashboards_are_generated() -> None:
    assert {p.stem for p in DASHBOARDS} == set(REQUIRED_PANELS)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_validates_against_grafana_schema(path: Path) -> None:
    assert validate_dashboard(load(path)) == []


def test_schema_validation_catches_real_mistakes() -> None:
    dashboard = load(REPO / "provisioning/dashboards/prompt-manager.json")
    panel = flat_panels(dashboard)[0]
    panel["gridPos"]["w"] = 25
    panel["fieldConfig"]["defaults"]["unit"] = "furlongs"
    panel["options"]["legend"]["placement"] = "middle"
    dashboard["graphTooltip"] = 7
    messages = [str(e) for e in validate_dashboard(dashboard)]
    assert any("gridPos.w" in m for m in messages)
    assert any("furlongs" in m for m in messages)
    assert any("options.legend.placement" in m for m in messages)
    assert any("graphTooltip" in m for m in messages)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_has_every_design_panel(path: Path) -> None:
    titles = {p["title"] for p in flat_panels(load(path))}
    assert REQUIRED_PANELS[path.stem] <= titles


def test_overview_has_module_sections_and_links() -> None:
    overview = load(REPO / "provisioning/dashboards/modules-overview.json")
    rows = [p["title"] for p in overview["panels"] if p["type"] == "row"]
    assert rows == ["All modules", "LLM Provider", "Prompt Manager", "Prompt Security"]
    assert all(p["collapsed"] for p in overview["panels"] if p["type"] == "row" and p["title"] != "All modules")
    titles = {p["title"] for p in flat_panels(overview)}
    # The security overview and the LLM usage summary come from the panels those modules mark.
    assert {"Prompt Security: Security validations/s", "Prompt Security: Injections detected",
            "LLM Provider: Requests/s by provider", "LLM Provider: Cost per provider",
            "LLM Provider: Token usage"} <= titles
    assert [link["url"] for link in overview["links"]] == ["/d/llm-provider", "/d/prompt-manager",
                                                           "/d/prompt-security"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_grafana_conventions(path: Path) -> None:
    dashboard = load(path)
    assert "id" not in dashboard
    assert dashboard["uid"] == path.stem
    variables = dashboard["templating"]["list"]
    assert variables[0]["type"] == "datasource" and variables[0]["name"] == "datasource"
    for variable in variables[1:]:
        assert variable["refresh"] == 2 and variable["datasource"]["uid"] == "${datasource}"
    ids = [p["id"] for p in dashboard["panels"]] + [c["id"] for p in dashboard["panels"] for c in p.get("panels", [])]
    assert len(ids) == len(set(ids))
    for panel in flat_panels(dashboard):
        assert panel["description"] and panel["fieldConfig"]["defaults"]["unit"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_queries_follow_conventions(path: Path) -> None:
    dashboard = load(path)
    values = {**GRAFANA_VARIABLES, **{v["name"]: ".*" for v in dashboard["templating"]["list"]}}
    for panel in flat_panels(dashboard):
        for target in panel["targets"]:
            expr = target["expr"]
            assert selected_series(substitute_variables(expr, values))
            if "rate(" in expr:
                assert "[$__rate_interval]" in expr, expr
            if "histogram_quantile" in expr:
                assert "by (le" in expr, expr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_layout_has_no_overlap_and_fits_the_grid(path: Path) -> None:
    dashboard = load(path)
    cells: set[tuple[int, int]] = set()
    # What Grafana shows on load: rows and the panels of expanded rows (collapsed rows hold theirs).
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & area, panel["title"]
        cells |= area


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_ratios_and_quantiles_are_empty_without_data_not_nan(path: Path) -> None:
    # tests/test_edges.py shows each on Prometheus; this keeps every generated panel on that pattern.
    for panel in flat_panels(load(path)):
        for target in panel["targets"]:
            expr = target["expr"]
            if "histogram_quantile" in expr:
                assert expr.endswith(") >= 0"), (panel["title"], expr)
            if panel["fieldConfig"]["defaults"]["unit"] == "percentunit" and " / " in expr:
                assert expr.endswith(" > 0)"), (panel["title"], expr)
                assert "empty when there is no traffic" in panel["description"], panel["title"]


def test_health_panels_map_every_share_of_targets_up() -> None:
    # Grafana shows the first mapping that matches: exact 1 and 0 first, then everything in between.
    for path in DASHBOARDS:
        for panel in flat_panels(load(path)):
            mappings = panel["fieldConfig"]["defaults"].get("mappings")
            if not mappings or "DEGRADED" not in json.dumps(mappings):
                continue
            assert [m["type"] for m in mappings] == ["value", "value", "range"], panel["title"]
            assert mappings[0]["options"]["1"]["text"] == "UP" and mappings[1]["options"]["0"]["text"] == "DOWN"
            assert (mappings[2]["options"]["from"], mappings[2]["options"]["to"]) == (0, 1)
            assert mappings[2]["options"]["result"]["text"] == "DEGRADED"
