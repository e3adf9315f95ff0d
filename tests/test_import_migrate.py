"""`migrate`: the real corpus in today's model, and each conversion on small hand-written old dashboards."""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from dashbuild.importer.migrate import TARGET_SCHEMA_VERSION, migrate, migrate_with_notes
from dashbuild.importer.migrate_common import walk_panels
from dashbuild.schema import SchemaError, validate_dashboard

CORPUS_DIR = Path(__file__).parent / "corpus" / "dashboards"
CORPUS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(CORPUS_DIR.glob("*.json"))}
# How many notes each corpus dashboard gets: a change here is a change in what the importer leaves as is.
EXPECTED_NOTES = {
    "alertmanager__alertmanager-overview": 0, "apache-cassandra__overview": 0, "argocd__argocd-overview": 5,
    "jenkins__jenkins": 8, "kubernetes-2021__k8s-resources-cluster": 28, "kubernetes-autoscaling__hpa": 0,
    "kubernetes__k8s-resources-cluster": 0, "kubernetes__namespace-by-workload": 0, "mysql__mysql-overview": 10,
    "node-exporter__nodes": 0, "prometheus__prometheus": 0, "thanos__query": 18,
    "victoriametrics__victoriametrics-cluster": 0,
}
# Schema errors that remain after migration, each a known point where the project's v11.6 schema is
# stricter than Grafana (dashbuild/schemas/grafana/SOURCE.md, "Strictness") or where the dashboard uses
# what a newer Grafana or a data source adds. (path pattern, message pattern, why it is not a fault.)
ALLOWED: tuple[tuple[str, str, str], ...] = (
    (r"^options(\.\w+)*$", r"is a required property",
     "SOURCE.md: panel options schemas require every option; Grafana fills in missing options"),
    (r"^fieldConfig\.overrides\[\d+\]\.(matcher\.options|properties\[\d+\]\.value)$", r"is not of type 'object'",
     "SOURCE.md: MatcherConfig.options and DynamicConfigValue.value are typed object; real ones are strings, numbers"),
    (r"^(links|fieldConfig\.defaults\.links)\[\d+\]$", r"is a required property",
     "SOURCE.md: DashboardLink requires all 9 fields; panel and field links are data links (title, url)"),
    (r"^templating\.list\[\d+\]\.query$", r"is not valid under any of the given schemas",
     "SOURCE.md: VariableModel.query is string or object-of-objects; a Prometheus query object fails"),
    (r"^$", r"Additional properties are not allowed \('__inputs', '__requires' were unexpected\)",
     "SOURCE.md: the legacy __inputs/__requires export fields (also noted by migrate)"),
    (r"^templating\.list\[\d+\]$", r"Additional properties are not allowed \('(definition|queryValue)' was",
     "SOURCE.md: queryValue, and definition (v11.6 only), which Grafana's editors save"),
    (r"^templating\.list\[\d+\]$", r"Additional properties are not allowed \('baseFilters', 'filters' were",
     "the v11.6 VariableModel has no fields for ad hoc filter variables"),
    (r"^annotations\.list\[\d+\]$",
     r"Additional properties are not allowed \('(textFormat|titleFormat|tagKeys|step|useValueForTime)'",
     "AnnotationQuery lists no data source fields; these are the Prometheus annotation query's own"),
    (r"^targets\[\d+\]$", r"Additional properties are not allowed \('(step|legendLink|calculatedInterval|logBase)'",
     "settings older query editors saved into targets; Grafana keeps and ignores them, migrate keeps them as is"),
    (r"^targets\[\d+\]$", r"'expr' is a required property",
     "a text or row panel's empty query, which Grafana keeps"),
    (r"^fieldConfig\.defaults\.custom$", r"Additional properties are not allowed \('(showValues|footer)' was",
     "options of Grafana 12 that the v11.6 schema does not know yet"),
    (r"^options$", r"Additional properties are not allowed \('filterable', 'showSearch' were",
     "table options of another Grafana version than the v11.6 schema"),
    (r"^options\.footer\.fields$", r"is not of type 'array'",
     "Grafana saves \"\" for a table footer over all fields"),
    (r"^fieldConfig\.defaults\.custom\.cellOptions$", r"is valid under each of",
     "the schema's TableCellOptions oneOf has overlapping branches for {'type': 'auto'}"),
    (r"^fieldConfig\.defaults\.unit$", r"is not one of Grafana's unit ids",
     "a custom unit (prefix:, suffix:, time:, or any text, which Grafana shows as a suffix)"),
    (r"^gnetId$", r"is not of type 'string'", "grafana.com dashboard ids are numbers in Grafana's own exports"),
    (r"^type$", r"no schema for panel plugin 'heatmap'", "the project keeps no schema for the heatmap plugin"),
    (r"^fieldConfig\.defaults$", r"Additional properties are not allowed \('nullValueMode' was",
     "written by Grafana's own 7.x panel migrations; kept as is"),
    (r"^options$", r"Additional properties are not allowed \('fieldOptions' was",
     "left in stat panels by Grafana 7.0's own migration (pluginVersion 7.x); Grafana keeps and ignores it"),
    (r"^transformations\[\d+\]$", r"'options' is a required property", "Grafana reads a missing options as {}"),
    # Override properties are checked as the field config property they set (dashbuild/schema.py), which shows
    # the same strictness in overrides as in defaults, and what Grafana's override editor saves:
    (r"^fieldConfig\.overrides\[\d+\]\.properties\[\d+\]\.value\[\d+\]$", r"is a required property",
     "SOURCE.md: DashboardLink requires all 9 fields; an override's `links` are data links (title, url)"),
    (r"^fieldConfig\.overrides\[\d+\]\.properties\[\d+\]\.value$", r"^None is not (of type|one of)",
     "an override property set to null, which Grafana's editor saves when a value is cleared: it unsets it"),
    (r"^fieldConfig\.overrides\[\d+\]\.properties\[\d+\]\.value$", r"^'true' is not of type 'boolean'",
     "a boolean saved as the string 'true' by older override editors; Grafana reads it as true"),
    (r"^fieldConfig\.overrides\[\d+\]\.properties\[\d+\]\.value$", r"is valid under each of",
     "the schema's TableCellOptions oneOf has overlapping branches, in overrides as in defaults"),
    (r"^fieldConfig\.overrides\[\d+\]\.properties\[\d+\]\.id$", r"'custom\.hideFrom\.viz' is not a field",
     "the nested id Grafana's legend 'hide series' toggle writes; Grafana reads it"),
    (r"^options\.tooltip\.show$", r"unknown property 'show' \(the SDK's heatmap",
     "a heatmap tooltip option of another Grafana version than the SDK's v11.6 model"),
)
_UNEXPECTED = re.compile(r"^Additional properties are not allowed \((.*) (?:was|were) unexpected\)$")


def _is_noted(error: SchemaError, notes: list[Any]) -> bool:
    """Tell whether a top-level "additional properties" error is about keys migrate kept and noted."""
    match = _UNEXPECTED.match(error.message)
    if error.path or match is None:
        return False
    keys = re.findall(r"'([^']+)'", match.group(1))
    texts = [str(n.text) for n in notes if n.panel == error.panel or (not error.panel and n.panel is None)
             or (error.panel == "" and str(n.panel).startswith("id "))]
    return all(any(text.startswith(key) for text in texts) for key in keys)


def remaining_schema_errors(name: str) -> tuple[list[SchemaError], list[SchemaError]]:
    """Return (allowed, unexplained) schema errors of a corpus dashboard after migration."""
    result = migrate_with_notes(CORPUS[name])
    allowed: list[SchemaError] = []
    unexplained: list[SchemaError] = []
    for error in validate_dashboard(result.dashboard):
        ok = _is_noted(error, list(result.notes)) or any(
            re.search(path, error.path) and re.search(message, error.message) for path, message, _ in ALLOWED)
        (allowed if ok else unexplained).append(error)
    return allowed, unexplained


def test_the_corpus_is_copied_with_its_source() -> None:
    source = (CORPUS_DIR / "SOURCE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| ([\w.-]+\.json) \|", source, re.MULTILINE))
    assert listed == {f"{name}.json" for name in CORPUS}
    assert len(CORPUS) == 13


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_dashboard_migrates_to_todays_model(name: str) -> None:
    original = copy.deepcopy(CORPUS[name])
    result = migrate_with_notes(CORPUS[name])
    dashboard = result.dashboard
    assert CORPUS[name] == original, "migrate changed its input"
    assert "rows" not in dashboard
    assert dashboard["schemaVersion"] >= TARGET_SCHEMA_VERSION
    panels = list(walk_panels(dashboard["panels"]))
    assert panels
    assert not [p["title"] for p in panels if p["type"] in ("graph", "singlestat", "table-old")]
    assert all(isinstance(p.get("gridPos"), dict) and set(p["gridPos"]) >= {"x", "y", "w", "h"} for p in panels)
    ids = [p.get("id") for p in panels]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids)
    top = [(p["gridPos"]["y"], p["gridPos"]["x"]) for p in dashboard["panels"]]
    assert top == sorted(top)
    assert len(result.notes) == EXPECTED_NOTES[name], [str(n) for n in result.notes]
    assert all(str(note).startswith(("panel '", "dashboard: ")) and "\n" not in str(note) for note in result.notes)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_migrate_is_idempotent(name: str) -> None:
    once = migrate(CORPUS[name])
    assert migrate(once) == once


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_remaining_schema_errors_are_known_schema_strictness(name: str) -> None:
    _, unexplained = remaining_schema_errors(name)
    assert not unexplained, [f"{e.panel}: {e}" for e in unexplained]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_migration_fixes_what_grafana_fixes_on_load(name: str) -> None:
    # Nulls for unset settings, data sources by name, missing refIds, field config and threshold defaults.
    fixed = (r"None is not of type", r"'\$?[\w-]*' is not of type 'object'", r"'refId' is a required property",
             r"'(overrides|defaults|mode|value|collapsed|panels|annotations|templating)' is a required property")
    errors = [e for e in validate_dashboard(migrate(CORPUS[name]))
              if not e.path.startswith(("options", "fieldConfig.overrides"))]
    assert not [str(e) for e in errors if any(re.search(pattern, e.message) for pattern in fixed)]


def _text(title: str, **settings: Any) -> dict[str, Any]:
    return {"type": "text", "title": title, **settings}


def _panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in walk_panels(dashboard["panels"]) if p.get("title") == title)


def test_rows_become_the_grid_as_grafana_lays_them_out() -> None:
    old = {"schemaVersion": 14, "title": "Old", "rows": [
        {"title": "Top", "showTitle": True, "height": "250px", "panels": [
            {"id": 1, **_text("A", span=6)}, {"id": 2, **_text("B", span=6, content="hi", mode="markdown")}]},
        {"title": "Wrap", "height": 100, "panels": [
            {"id": 3, **_text("C", span=8, content="<b>c</b>", mode="html")},
            {"id": 4, **_text("D", span=4, height="300px", content="d", mode="text")},
            {"id": 5, **_text("E", span=8)}]},
        {"title": "Hidden", "collapse": True, "panels": [{"id": 6, **_text("F")}]},
    ]}
    new = migrate(old)
    layout = [(p["type"], p["title"], p["id"], p["gridPos"]) for p in new["panels"]]
    assert layout == [
        ("row", "Top", 7, {"x": 0, "y": 0, "w": 24, "h": 1}),
        ("text", "A", 1, {"x": 0, "y": 1, "w": 12, "h": 7}),  # 250 px: ceil(250 / 38) = 7 units
        ("text", "B", 2, {"x": 12, "y": 1, "w": 12, "h": 7}),
        ("row", "Wrap", 8, {"x": 0, "y": 8, "w": 24, "h": 1}),
        ("text", "C", 3, {"x": 0, "y": 9, "w": 16, "h": 3}),  # 100 px: ceil(100 / 38) = 3 units
        ("text", "D", 4, {"x": 16, "y": 9, "w": 8, "h": 8}),  # its own 300 px; only 8 columns were left
        ("text", "E", 5, {"x": 0, "y": 12, "w": 16, "h": 3}),  # wrapped to the row's next line
        ("row", "Hidden", 9, {"x": 0, "y": 15, "w": 24, "h": 1}),
    ]
    hidden = new["panels"][-1]
    assert hidden["collapsed"] is True
    assert [(p["title"], p["gridPos"]) for p in hidden["panels"]] == [("F", {"x": 0, "y": 16, "w": 8, "h": 7})]
    assert _panel(new, "B")["options"] == {"content": "hi", "mode": "markdown"}
    assert _panel(new, "C")["options"] == {"content": "<b>c</b>", "mode": "html"}
    assert _panel(new, "D")["options"] == {"content": "d", "mode": "markdown"}  # the removed plain-text mode
    assert "span" not in _panel(new, "A") and "height" not in _panel(new, "D")


def test_rows_without_any_title_shown_give_no_row_panels() -> None:
    old = {"schemaVersion": 10, "rows": [{"panels": [{"id": 1, **_text("A", span=12)}]},
                                         {"height": "200px", "panels": [{"id": 2, **_text("B", span=3)}]}]}
    new = migrate(old)
    assert [(p["title"], p["gridPos"]) for p in new["panels"]] == [
        ("A", {"x": 0, "y": 0, "w": 24, "h": 7}), ("B", {"x": 0, "y": 7, "w": 6, "h": 6})]


GRAPH: dict[str, Any] = {
    "id": 1, "type": "graph", "title": "Requests", "datasource": "$datasource", "bars": False, "lines": True,
    "points": False, "linewidth": 2, "fill": 3, "stack": True, "percentage": False, "nullPointMode": "connected",
    "steppedLine": True, "renderer": "flot", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
    "yaxes": [{"format": "reqps", "min": "0", "max": None, "decimals": 1, "logBase": 10, "show": True,
               "label": "rate"},
              {"format": "percentunit", "min": 0, "max": 1, "logBase": 1, "show": True}],
    "seriesOverrides": [{"alias": "errors", "yaxis": 2, "color": "#F2495C", "fill": 0},
                        {"alias": "/5xx/", "lines": False, "points": True, "pointradius": 3},
                        {"alias": "total", "zindex": 3}],
    "aliasColors": {"ok": "green"},
    "legend": {"show": True, "alignAsTable": True, "rightSide": True, "values": True, "current": True, "max": True,
               "avg": False, "sort": "max", "sortDesc": True},
    "tooltip": {"shared": True, "sort": 2, "value_type": "individual"},
    "thresholds": [{"value": 100, "op": "gt", "colorMode": "critical", "fill": True, "line": True}],
    "xaxis": {"mode": "time", "show": True, "buckets": None, "values": []},
    "targets": [{"expr": "sum(rate(http_requests_total[5m]))", "legendFormat": "total", "intervalFactor": 2}],
}


def test_graph_becomes_timeseries() -> None:
    result = migrate_with_notes({"schemaVersion": 27, "panels": [copy.deepcopy(GRAPH)]})
    panel = result.dashboard["panels"][0]
    assert panel["type"] == "timeseries"
    assert panel["datasource"] == {"type": "prometheus", "uid": "$datasource"}
    assert panel["targets"] == [{"expr": "sum(rate(http_requests_total[5m]))", "legendFormat": "total",
                                 "intervalFactor": 2, "refId": "A",
                                 "datasource": {"type": "prometheus", "uid": "$datasource"}}]
    defaults = panel["fieldConfig"]["defaults"]
    assert {key: defaults[key] for key in ("unit", "min", "decimals")} == {"unit": "reqps", "min": 0, "decimals": 1}
    assert "max" not in defaults
    assert defaults["custom"] == {
        "axisPlacement": "auto", "axisLabel": "rate", "scaleDistribution": {"type": "log", "log": 10},
        "drawStyle": "line", "showPoints": "never", "lineWidth": 2, "fillOpacity": 30, "spanNulls": True,
        "lineInterpolation": "stepAfter", "stacking": {"mode": "normal", "group": "A"},
        "thresholdsStyle": {"mode": "line+area"}}
    assert defaults["thresholds"] == {"mode": "absolute", "steps": [{"value": None, "color": "transparent"},
                                                                    {"value": 100, "color": "red"}]}
    assert panel["fieldConfig"]["overrides"] == [
        {"matcher": {"id": "byName", "options": "ok"},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "green"}}]},
        {"matcher": {"id": "byName", "options": "errors"},
         "properties": [{"id": "unit", "value": "percentunit"}, {"id": "max", "value": 1},
                        {"id": "custom.axisPlacement", "value": "right"},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "#F2495C"}},
                        {"id": "custom.fillOpacity", "value": 0}]},
        {"matcher": {"id": "byRegexp", "options": "/5xx/"},
         "properties": [{"id": "custom.lineWidth", "value": 0}, {"id": "custom.showPoints", "value": "always"},
                        {"id": "custom.pointSize", "value": 8}]},
    ]
    assert panel["options"] == {
        "legend": {"displayMode": "table", "showLegend": True, "placement": "right", "calcs": ["lastNotNull", "max"],
                   "sortBy": "Max", "sortDesc": True},
        "tooltip": {"mode": "multi", "sort": "desc"}}
    # The series override property with no time series equivalent stays, and is noted.
    assert panel["seriesOverrides"] == [{"alias": "total", "zindex": 3}]
    assert [str(n) for n in result.notes] == [
        "panel 'Requests': seriesOverrides['total'] = {'zindex': 3} left as is: no time series equivalent"]
    for legacy in ("yaxes", "xaxis", "legend", "tooltip", "bars", "lines", "fill", "renderer", "aliasColors"):
        assert legacy not in panel


def test_graph_settings_without_equivalent_stay_and_are_noted() -> None:
    graph = {**copy.deepcopy(GRAPH), "nullPointMode": "null as zero", "legend": {"show": False, "hideZero": True},
             "seriesOverrides": [], "timeRegions": [{"from": "08:00"}]}
    result = migrate_with_notes({"schemaVersion": 27, "panels": [graph]})
    panel = result.dashboard["panels"][0]
    assert panel["nullPointMode"] == "null as zero"
    assert panel["legend"] == {"hideZero": True}
    assert panel["timeRegions"] == [{"from": "08:00"}]
    assert panel["options"]["legend"]["showLegend"] is False
    noted = {str(n).split(" = ")[0] for n in result.notes}
    assert noted == {"panel 'Requests': nullPointMode", "panel 'Requests': legend", "panel 'Requests': timeRegions"}


def test_a_graph_that_is_no_time_series_stays_a_graph() -> None:
    graph = {**copy.deepcopy(GRAPH), "xaxis": {"mode": "series", "show": True}}
    result = migrate_with_notes({"schemaVersion": 27, "panels": [graph]})
    assert result.dashboard["panels"][0]["type"] == "graph"
    assert "x-axis mode 'series' left as is" in str(result.notes[0])


def test_percentage_stacking_and_bars() -> None:
    graph = {**copy.deepcopy(GRAPH), "percentage": True, "bars": True, "seriesOverrides": []}
    custom = migrate({"schemaVersion": 27, "panels": [graph]})["panels"][0]["fieldConfig"]["defaults"]["custom"]
    assert custom["stacking"] == {"mode": "percent", "group": "A"}
    assert (custom["drawStyle"], custom["fillOpacity"]) == ("bars", 100)


def test_singlestat_with_gauge_becomes_gauge() -> None:
    singlestat = {
        "id": 2, "type": "singlestat", "title": "Up", "format": "percent", "decimals": 0,
        "gauge": {"show": True, "minValue": 0, "maxValue": 200, "thresholdMarkers": True, "thresholdLabels": True},
        "thresholds": "50,80", "colors": ["red", "orange", "green"], "valueName": "current", "mappingType": 1,
        "valueMaps": [{"value": "1", "op": "=", "text": "UP"}, {"value": "0", "op": "=", "text": "DOWN"},
                      {"value": "null", "op": "=", "text": "N/A"}],
        "bars": False, "legend": {"show": False}, "nullPointMode": "connected",
        "targets": [{"expr": "up", "instant": True}]}
    panel = migrate({"schemaVersion": 14, "panels": [singlestat]})["panels"][0]
    assert panel["type"] == "gauge"
    assert panel["options"] == {"reduceOptions": {"values": False, "calcs": ["lastNotNull"]},
                                "orientation": "horizontal", "showThresholdMarkers": True, "showThresholdLabels": True}
    assert panel["fieldConfig"] == {"defaults": {
        "unit": "percent", "decimals": 0, "min": 0, "max": 200,
        "thresholds": {"mode": "absolute", "steps": [{"value": None, "color": "red"}, {"value": 50, "color": "orange"},
                                                     {"value": 80, "color": "green"}]},
        "mappings": [{"type": "value", "options": {"1": {"text": "UP", "index": 0}, "0": {"text": "DOWN", "index": 1}}},
                     {"type": "special", "options": {"match": "null", "result": {"text": "N/A", "index": 2}}}]},
        "overrides": []}
    assert "bars" not in panel and "legend" not in panel  # graph settings the singlestat never read


def test_singlestat_becomes_stat() -> None:
    singlestat = {
        "id": 2, "type": "singlestat", "title": "Rate", "format": "none", "postfix": " req/s",
        "sparkline": {"show": True, "lineColor": "rgb(31, 120, 193)"}, "colorValue": True, "valueName": "avg",
        "mappingType": 2, "rangeMaps": [{"from": "0", "to": "10", "text": "low"}], "thresholds": "",
        "tableColumn": "value", "targets": [{"expr": "sum(rate(x[5m]))"}]}
    panel = migrate({"schemaVersion": 14, "panels": [singlestat]})["panels"][0]
    assert panel["type"] == "stat"
    assert panel["options"] == {"reduceOptions": {"values": False, "calcs": ["mean"], "fields": "/^value$/"},
                                "orientation": "horizontal", "graphMode": "area", "colorMode": "value"}
    assert panel["fieldConfig"]["defaults"] == {
        "unit": "suffix: req/s",
        "mappings": [{"type": "range", "options": {"from": 0, "to": 10, "result": {"text": "low", "index": 0}}}]}


def test_singlestat_thresholds_without_colors_use_its_default_colors() -> None:
    singlestat = {"type": "singlestat", "title": "S", "thresholds": "70,80", "format": "percentunit"}
    defaults = migrate({"schemaVersion": 14, "panels": [singlestat]})["panels"][0]["fieldConfig"]["defaults"]
    assert defaults["thresholds"]["steps"] == [{"value": None, "color": "#299c46"},
                                               {"value": 70, "color": "rgba(237, 129, 40, 0.89)"},
                                               {"value": 80, "color": "#d44a3a"}]
    assert (defaults["min"], defaults["max"]) == (0, 1)  # Grafana 8 dropped them for percentunit; restored


def test_old_table_with_styles_becomes_table() -> None:
    table = {
        "id": 3, "type": "table", "title": "Pods", "transform": "table", "sort": {"col": 1, "desc": True},
        "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
        "styles": [
            {"pattern": "Time", "type": "hidden", "alias": "Time", "dateFormat": "YYYY-MM-DD HH:mm:ss"},
            {"pattern": "Value #A", "type": "number", "unit": "bytes", "decimals": 0, "alias": "Memory",
             "thresholds": ["1000", "2000.5"], "colors": ["green", "orange", "red"], "colorMode": "cell",
             "align": "right"},
            {"pattern": "/^created/", "type": "date", "dateFormat": "YYYY-MM-DD"},
            {"pattern": "status", "type": "string", "unit": "short", "mappingType": 1,
             "valueMaps": [{"value": "1", "text": "ok"}], "link": True, "linkUrl": "/d/x?var-pod=$__cell",
             "linkTooltip": "Open", "linkTargetBlank": True},
            {"pattern": "/.*/", "type": "number", "unit": "short", "decimals": 2},
        ],
        "targets": [{"expr": "kube_pod_info", "format": "table", "instant": True}]}
    result = migrate_with_notes({"schemaVersion": 16, "panels": [table]})
    panel = result.dashboard["panels"][0]
    assert panel["type"] == "table"
    assert panel["transformations"] == [{"id": "merge", "options": {"reducers": []}}]
    assert panel["fieldConfig"]["defaults"] == {"unit": "short", "decimals": 2}
    assert panel["fieldConfig"]["overrides"] == [
        {"matcher": {"id": "byName", "options": "Time"}, "properties": [{"id": "custom.hidden", "value": True}]},
        {"matcher": {"id": "byName", "options": "Value #A"}, "properties": [
            {"id": "displayName", "value": "Memory"}, {"id": "unit", "value": "bytes"}, {"id": "decimals", "value": 0},
            {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                {"value": None, "color": "green"}, {"value": 1000, "color": "orange"},
                {"value": 2000.5, "color": "red"}]}},
            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
            {"id": "custom.align", "value": "right"}]},
        {"matcher": {"id": "byRegexp", "options": "/^created/"},
         "properties": [{"id": "unit", "value": "time: YYYY-MM-DD"}]},
        {"matcher": {"id": "byName", "options": "status"}, "properties": [
            {"id": "links", "value": [{"title": "Open", "url": "/d/x?var-pod=$__cell", "targetBlank": True}]},
            {"id": "mappings", "value": [{"type": "value", "options": {"1": {"text": "ok", "index": 0}}}]}]},
    ]
    assert panel["options"] == {"showHeader": True}
    assert panel["sort"] == {"col": 1, "desc": True}
    assert [str(n).split(":")[1].strip() for n in result.notes] == ["styles['status']", "sort = {'col'"]


def test_string_datasources_become_references() -> None:
    old = {
        "schemaVersion": 20,
        "templating": {"list": [
            {"type": "datasource", "name": "ds", "query": "prometheus"},
            {"type": "datasource", "name": "logs", "query": "loki"},
            {"type": "query", "name": "job", "datasource": "$ds", "query": "label_values(up, job)", "refresh": 0,
             "options": [{"text": "a", "value": "a"}], "tags": [], "useTags": False, "tagsQuery": ""}]},
        "annotations": {"list": [{"builtIn": 1, "datasource": "-- Grafana --", "enable": True, "hide": True,
                                  "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts"}]},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "P1", "datasource": "$ds",
             "targets": [{"expr": "up", "datasource": "${ds}"}]},
            {"id": 2, "type": "timeseries", "title": "P2", "datasource": None, "targets": [{"expr": "up"}]},
            {"id": 3, "type": "timeseries", "title": "P3", "datasource": "-- Mixed --",
             "targets": [{"expr": "up", "datasource": "$ds"}, {"expr": "up", "datasource": "MyProm"}]},
            {"id": 4, "type": "text", "title": "P4", "datasource": "default"},
            {"id": 5, "type": "logs", "title": "P5", "datasource": "$logs"},
        ]}
    result = migrate_with_notes(old)
    new = result.dashboard
    assert _panel(new, "P1")["datasource"] == {"type": "prometheus", "uid": "$ds"}
    assert _panel(new, "P1")["targets"][0]["datasource"] == {"type": "prometheus", "uid": "${ds}"}
    assert "datasource" not in _panel(new, "P2") and "datasource" not in _panel(new, "P2")["targets"][0]
    assert _panel(new, "P3")["datasource"] == {"type": "datasource", "uid": "-- Mixed --"}
    assert [t["datasource"] for t in _panel(new, "P3")["targets"]] == [{"type": "prometheus", "uid": "$ds"},
                                                                       {"uid": "MyProm"}]
    assert "datasource" not in _panel(new, "P4")
    assert _panel(new, "P5")["datasource"] == {"type": "loki", "uid": "$logs"}
    job = new["templating"]["list"][2]
    assert job["datasource"] == {"type": "prometheus", "uid": "$ds"}
    assert (job["refresh"], job["options"]) == (1, [])
    assert not {"tags", "useTags", "tagsQuery"} & set(job)
    assert new["annotations"]["list"][0]["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}
    assert [str(n) for n in result.notes if "MyProm" in str(n)] == [
        "panel 'P3': data source named 'MyProm' kept as the uid 'MyProm': Grafana maps names to uids through its "
        "own data source list, which an offline import cannot read"]


def test_target_datasource_follows_the_panel_before_schema_36() -> None:
    old = {"schemaVersion": 30, "panels": [{"type": "timeseries", "title": "P", "datasource": "$ds",
                                            "targets": [{"expr": "up"}, {"expr": "down", "refId": "A"}]}]}
    targets = migrate(old)["panels"][0]["targets"]
    assert targets == [{"expr": "up", "refId": "B", "datasource": {"type": "prometheus", "uid": "$ds"}},
                       {"expr": "down", "refId": "A", "datasource": {"type": "prometheus", "uid": "$ds"}}]


def test_old_variables() -> None:
    old = {"schemaVersion": 11, "templating": {"list": [
        {"type": "query", "name": "a", "refresh": True, "hideVariable": True, "multi": True,
         "current": {"text": "x", "value": "x"}, "query": "label_values(a)", "label": None},
        {"type": "constant", "name": "c", "query": "v", "hide": 0},
        {"type": "custom", "name": "d", "query": "1,2", "multi": False, "current": {"text": ["1"], "value": ["1"]}},
    ]}}
    variables = migrate(old)["templating"]["list"]
    assert variables[0] == {"type": "query", "name": "a", "refresh": 1, "hide": 2, "multi": True,
                            "current": {"text": ["x"], "value": ["x"]}, "query": "label_values(a)"}
    assert variables[1] == {"type": "textbox", "name": "c", "query": "v", "hide": 0,
                            "current": {"selected": True, "text": "v", "value": "v"},
                            "options": [{"selected": True, "text": "v", "value": "v"}]}
    assert variables[2]["current"] == {"text": "1", "value": "1"}


def test_old_panel_links_become_urls() -> None:
    old = {"schemaVersion": 18, "panels": [_text("L", links=[
        {"type": "dashboard", "dashboard": "My Dash", "keepTime": True, "title": "Go"},
        {"type": "absolute", "url": "http://x", "targetBlank": True, "title": "X", "params": "a=b"},
        {"url": "/d/abc", "title": "Already"}])]}
    links = migrate(old)["panels"][0]["links"]
    assert links == [{"url": "dashboard/db/my-dash?$__url_time_range", "title": "Go"},
                     {"url": "http://x?a=b", "title": "X", "targetBlank": True},
                     {"url": "/d/abc", "title": "Already"}]


def test_panels_get_unique_ids() -> None:
    result = migrate_with_notes({"schemaVersion": 39, "panels": [
        _text("A", id=3, gridPos={"x": 0, "y": 0, "w": 8, "h": 3}),
        _text("B", gridPos={"x": 8, "y": 0, "w": 8, "h": 3}),
        _text("C", id=3, gridPos={"x": 16, "y": 0, "w": 8, "h": 3})]})
    assert [p["id"] for p in result.dashboard["panels"]] == [3, 4, 5]
    assert [str(n) for n in result.notes] == ["panel 'C': id 3 is not a unique panel id; given id 5"]


def test_dashboard_level_legacy() -> None:
    old = {"schemaVersion": 12, "title": "T", "style": "dark", "hideControls": False, "sharedCrosshair": True,
           "refresh": False, "gnetId": None, "id": None, "timepicker": {"time_options": ["5m"], "now": True,
                                                                        "refresh_intervals": ["5s"]},
           "rows": []}
    new = migrate(old)
    assert new == {"schemaVersion": TARGET_SCHEMA_VERSION, "title": "T", "graphTooltip": 1, "refresh": "",
                   "timepicker": {"refresh_intervals": ["5s"]}, "templating": {"list": []},
                   "annotations": {"list": []}, "panels": []}


def _json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found += _json_paths(child, (*path, key))
    return found


def test_malformed_values_never_raise() -> None:
    # Real files come from anywhere: any value of the wrong type is left as it is, never an exception.
    rng = random.Random(20260730)
    odd: list[Any] = [None, "x", "", 1, -1, 1.5, True, [], {}, ["x"], [None], [{}], {"a": []}]
    names = sorted(CORPUS)
    for _ in range(150):
        dashboard = copy.deepcopy(CORPUS[rng.choice(names)])
        paths = _json_paths(dashboard)[1:]
        for _ in range(rng.randint(1, 5)):
            *parents, last = rng.choice(paths)
            holder: Any = dashboard
            try:
                for key in parents:
                    holder = holder[key]
                holder[last] = copy.deepcopy(rng.choice(odd))
            except (KeyError, IndexError, TypeError):
                continue  # the path went away with an earlier replacement
        once = migrate(dashboard)
        assert migrate(once) == once
