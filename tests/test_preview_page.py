"""The preview page, without a browser: Grafana's value formatting and colours, series names, table
transformations, and the grid geometry of the generated dashboards (collapsed rows collapsed)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from dashbuild.diff_dashboard import panel_marks
from dashbuild.preview.colours import NAMED, colour, threshold_colour
from dashbuild.preview.data import PanelData
from dashbuild.preview.page import COLUMN_PX, GAP_PX, GRID_WIDTH, ROW_PX, PageInfo, grid_html, page_html
from dashbuild.preview.panel_views import Canvas
from dashbuild.preview.series import Series, answer_series, display_name, reduce
from dashbuild.preview.table_view import table_view
from dashbuild.preview.units import format_value, mapped_text

REPO = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((REPO / "provisioning" / "dashboards").glob("*.json"))
INFO = PageInfo("test", 0.0, 3600.0)


@pytest.mark.parametrize(("value", "unit", "decimals", "shown"), [
    (0.0, "short", None, "0"),
    (1234.0, "short", None, "1.23 K"),
    (2_500_000.0, "short", None, "2.5 Mil"),
    (0.25, "percentunit", None, "25%"),
    (0.0004, "percentunit", 2, "0.04%"),
    (99.5, "percent", None, "99.5%"),
    (0.2, "s", None, "200 ms"),
    (1.5, "s", None, "1.5 s"),
    (90.0, "s", None, "1.5 min"),
    (7200.0, "s", None, "2 hour"),
    (12.345, "reqps", None, "12.3 req/s"),
    (3.0, "ops", None, "3 ops/s"),
    (1.5, "currencyUSD", 2, "$1.50"),
    (2048.0, "bytes", None, "2 KiB"),
    (7.0, "none", None, "7"),
    (math.nan, "short", None, "NaN"),
    (None, "short", None, "No data"),
])
def test_values_are_written_as_grafana_writes_them(value: float | None, unit: str, decimals: int | None,
                                                    shown: str) -> None:
    assert format_value(value, unit, decimals) == shown


def test_value_mappings_and_threshold_colours() -> None:
    mappings = [{"type": "value", "options": {"1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN"}}},
                {"type": "special", "options": {"match": "null", "result": {"text": "no traffic"}}}]
    assert mapped_text(1.0, mappings) == ("UP", "green")
    assert mapped_text(0.0, mappings) == ("DOWN", None)
    assert mapped_text(None, mappings) == ("no traffic", None)
    assert mapped_text(0.5, mappings) is None
    field = {"thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                           {"color": "orange", "value": 0.01},
                                                           {"color": "red", "value": 0.05}]}}
    assert threshold_colour(0.0, field) == NAMED["green"]
    assert threshold_colour(0.01, field) == NAMED["orange"]
    assert threshold_colour(0.2, field) == NAMED["red"]
    percentage = {"thresholds": {"mode": "percentage", "steps": [{"color": "green", "value": None},
                                                                  {"color": "red", "value": 50}]}}
    assert threshold_colour(60.0, percentage, 0.0, 200.0) == NAMED["green"]
    assert threshold_colour(120.0, percentage, 0.0, 200.0) == NAMED["red"]


def test_series_names_values_and_reductions() -> None:
    labels = {"__name__": "x_total", "operation": "render", "status": "success"}
    assert display_name(labels, "{{operation}} {{status}}") == "render success"
    assert display_name(labels, "") == 'x_total{operation="render", status="success"}'
    answer = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"operation": "render"}, "values": [[10, "1"], [20, "NaN"], [30, "+Inf"]]}]}}
    [series] = answer_series(answer, {"refId": "A", "legendFormat": "{{operation}}"})
    assert series.name == "render" and series.ref_id == "A"
    assert series.points[0] == (10.0, 1.0) and math.isnan(series.points[1][1]) and series.points[2][1] == math.inf
    assert reduce([1.0, math.nan], "lastNotNull") == 1.0
    assert reduce([1.0, 3.0], "mean") == 2.0
    assert reduce([], "lastNotNull") is None


def test_a_table_merges_its_queries_by_label_and_organizes_columns() -> None:
    panel: dict[str, Any] = {
        "type": "table",
        "transformations": [{"id": "merge", "options": {}},
                            {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                           "renameByName": {"module": "Module", "Value #A": "Ops",
                                                                            "Value #B": "Errors"},
                                                           "indexByName": {"module": 0, "Value #A": 1,
                                                                           "Value #B": 2}}}],
        "fieldConfig": {"defaults": {"unit": "none"}, "overrides": [
            {"matcher": {"id": "byName", "options": "Errors"},
             "properties": [{"id": "unit", "value": "percentunit"}]}]},
        "options": {"sortBy": [{"displayName": "Ops", "desc": True}]},
    }
    series = [Series("a", (("module", "a"),), "A", ((5.0, 1.0),), True),
              Series("b", (("module", "b"),), "A", ((5.0, 3.0),), True),
              Series("a", (("module", "a"),), "B", ((5.0, 0.5),), True)]
    view = table_view(panel, series, Canvas(400, 200, 0, 10))
    assert re.findall(r"<th>(.*?)</th>", view.html) == ["Module", "Ops", "Errors"]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", view.html)
    assert cells == ["b", "3", "", "a", "1", "50%"]
    assert view.marks == 2


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_sits_where_grafana_puts_it_and_collapsed_rows_stay_collapsed(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    html = grid_html(dashboard, {}, INFO)
    placed = {int(m["id"]): (int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"])) for m in re.finditer(
        r'data-panel-id="(?P<id>\d+)"[^>]*style="left:(?P<left>\d+)px;top:(?P<top>\d+)px;width:(?P<width>\d+)px;'
        r'height:(?P<height>\d+)px"', html)}
    row_y = 0
    expected = {}
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            children = panel.get("panels") or []
            for child in children:
                expected[child["id"]] = (child["gridPos"], panel["gridPos"]["y"] + 1)
            row_y = panel["gridPos"]["y"] + 1
            continue
        expected[panel["id"]] = (panel["gridPos"], row_y)
    assert set(placed) == set(expected)
    for panel_id, (grid, first_row) in expected.items():
        assert placed[panel_id] == (grid["x"] * (COLUMN_PX + GAP_PX), (grid["y"] - first_row) * (ROW_PX + GAP_PX),
                                    grid["w"] * (COLUMN_PX + GAP_PX) - GAP_PX, grid["h"] * (ROW_PX + GAP_PX) - GAP_PX)
    assert GRID_WIDTH == 24 * (COLUMN_PX + GAP_PX) - GAP_PX
    collapsed = [p["title"] for p in dashboard["panels"] if p["type"] == "row" and p.get("collapsed")]
    opened = [p["title"] for p in dashboard["panels"] if p["type"] == "row" and not p.get("collapsed")]
    for title in collapsed:
        assert re.search(rf'<details class="row" data-row="{re.escape(title)}">', html)
    for title in opened:
        assert re.search(rf'<details class="row" open data-row="{re.escape(title)}">', html)


def test_a_panel_says_no_data_and_its_query_errors() -> None:
    dashboard = json.loads((REPO / "provisioning" / "dashboards" / "prompt-manager.json").read_text())
    first = next(p for p in dashboard["panels"] if p["type"] != "row")
    data = {str(first["id"]): PanelData((), ("query A: bad_data: parse error",))}
    html = page_html(dashboard, data, INFO)
    section = re.search(rf'<section[^>]*data-panel-id="{first["id"]}".*?</section>', html)
    assert section is not None
    assert "No data" in section.group(0) and "query A: bad_data: parse error" in section.group(0)
    assert 'data-errors="1"' in section.group(0)
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_review_marks_name_the_retitled_added_and_removed_panels() -> None:
    before = json.loads((REPO / "provisioning" / "dashboards" / "prompt-manager.json").read_text())
    after = json.loads(json.dumps(before))
    panels = [p for p in after["panels"] if p["type"] != "row"]
    panels[0]["title"] = "Retitled"
    removed = panels[1]
    after["panels"].remove(removed)
    old, new = panel_marks(before, after)
    assert old == {panels[0]["id"]: "changed", removed["id"]: "removed"}
    assert new == {panels[0]["id"]: "changed"}


@pytest.mark.parametrize("given", ["#fff;background:url(http://example.invalid/x)", '#fff" onmouseover="x',
                                   "url(http://example.invalid/x)", "rgb(1,2,3);x:y", 7, None])
def test_a_colour_from_the_json_is_a_colour_or_nothing(given: object) -> None:
    assert colour(given) == NAMED["text"]
    assert colour("#73BF69") == "#73BF69" and colour("rgba(1, 2, 3, 0.5)") == "rgba(1, 2, 3, 0.5)"
    assert colour("semi-dark-red") == NAMED["semi-dark-red"]


def test_text_from_the_json_is_escaped_everywhere_it_is_shown() -> None:
    hostile = '<img src="http://example.invalid/x">'
    dashboard = {"title": hostile, "panels": [
        {"type": "row", "title": hostile, "collapsed": False, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
        {"type": "stat", "id": 2, "title": hostile, "description": hostile, "gridPos": {"x": 0, "y": 1, "w": 6, "h": 4},
         "fieldConfig": {"defaults": {"unit": hostile, "color": {"mode": "fixed", "fixedColor": hostile}}}},
        {"type": "text", "id": 3, "title": "t", "options": {"content": hostile}, "gridPos": {"x": 6, "y": 1, "w": 6,
                                                                                        "h": 4}},
        {"type": hostile, "id": 4, "title": "t", "gridPos": {"x": 12, "y": 1, "w": 6, "h": 4}},
    ]}
    series = Series(hostile, (("a", hostile),), "A", ((0.0, 1.0), (60.0, 2.0)))
    html = page_html(dashboard, {"2": PanelData((series,), (hostile,))}, INFO)
    assert "<img" not in html and "example.invalid" not in html.replace("&quot;http://example.invalid/x&quot;", "")
