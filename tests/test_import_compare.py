"""`compare`: the round-trip proof. Equal things compare equal, and each real change is one readable line."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashbuild.importer.compare import Difference, Layout, compare
from dashbuild.importer.compare_queries import normalize_expr
from dashbuild.importer.migrate import migrate

CORPUS_DIR = Path(__file__).parent / "corpus" / "dashboards"
CORPUS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(CORPUS_DIR.glob("*.json"))}
PROMETHEUS = {"type": "prometheus", "uid": "$datasource"}


def _timeseries(title: str, panel_id: int, grid: tuple[int, int, int, int], expr: str, **extra: Any) -> dict[str, Any]:
    x, y, w, h = grid
    return {"type": "timeseries", "title": title, "id": panel_id, "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "datasource": PROMETHEUS, "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{job}}"}], **extra}


BASE: dict[str, Any] = {
    "title": "Service", "uid": "service", "schemaVersion": 39, "tags": ["a", "b"], "refresh": "30s",
    "time": {"from": "now-1h", "to": "now"},
    "links": [{"title": "Home", "type": "link", "url": "/d/home", "icon": "external link"}],
    "templating": {"list": [
        {"type": "datasource", "name": "datasource", "query": "prometheus"},
        {"type": "query", "name": "job", "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(up, job)", "refId": "A"}, "refresh": 2, "multi": True, "includeAll": True},
    ]},
    "annotations": {"list": []},
    "panels": [
        {"type": "row", "title": "Traffic", "id": 1, "collapsed": False, "panels": [],
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
        _timeseries("Requests", 2, (0, 1, 12, 8),
                    'sum by (job) (rate(http_requests_total{job=~"$job"}[$__rate_interval]))',
                    fieldConfig={"defaults": {"unit": "reqps", "thresholds": {"mode": "absolute", "steps": [
                        {"color": "green", "value": None}, {"color": "red", "value": 100}]}},
                        "overrides": [{"matcher": {"id": "byName", "options": "errors"}, "properties": [
                            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]}]},
                    options={"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}),
        {"type": "stat", "title": "Up", "id": 3, "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
         "datasource": PROMETHEUS, "targets": [{"refId": "A", "expr": 'up{job=~"$job"}', "instant": True}],
         "fieldConfig": {"defaults": {"mappings": [{"type": "value", "options": {
             "1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN", "color": "red"}}}]}, "overrides": []}},
        {"type": "row", "title": "Errors", "id": 4, "collapsed": False, "panels": [],
         "gridPos": {"x": 0, "y": 9, "w": 24, "h": 1}},
        _timeseries("Error ratio", 5, (0, 10, 12, 8), 'sum(rate(errors_total{job=~"$job"}[5m])) / sum(rate(x[5m]))'),
        _timeseries("Latency", 6, (12, 10, 12, 8),
                    "histogram_quantile(0.95, sum by (le) (rate(duration_seconds_bucket[$__rate_interval])))"),
    ],
}
Change = Callable[[dict[str, Any]], None]


def _panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in dashboard["panels"] if p.get("title") == title)
    return found


def _changed(change: Change) -> dict[str, Any]:
    dashboard = copy.deepcopy(BASE)
    change(dashboard)
    return dashboard


def _move_requests_to_errors(d: dict[str, Any]) -> None:
    requests = _panel(d, "Requests")
    d["panels"].remove(requests)
    requests["gridPos"] = {"x": 0, "y": 18, "w": 12, "h": 8}
    d["panels"].append(requests)


SAME: dict[str, Change] = {
    "nothing": lambda d: None,
    "whitespace in a query": lambda d: _panel(d, "Requests")["targets"][0].update(
        expr='  sum by (job)(\n  rate(http_requests_total{job=~"$job"}[$__rate_interval])\n)   '),
    "variable spellings": lambda d: _panel(d, "Requests")["targets"][0].update(
        expr='sum by (job) (rate(http_requests_total{job=~"${job}"}[${__rate_interval}]))'),
    "legacy [[var]] spelling": lambda d: _panel(d, "Requests")["targets"][0].update(
        expr='sum by (job) (rate(http_requests_total{job=~"[[job]]"}[$__rate_interval]))'),
    "aggregation clause placement": lambda d: _panel(d, "Requests")["targets"][0].update(
        expr='sum(rate(http_requests_total{job=~"$job"}[$__rate_interval])) by (job)'),
    "refId names": lambda d: _panel(d, "Latency")["targets"][0].update(refId="Q"),
    "data source as a string": lambda d: _panel(d, "Requests").update(datasource="${datasource}"),
    "data source uid only": lambda d: _panel(d, "Up").update(datasource={"uid": "$datasource"}),
    "target names the panel's data source": lambda d: _panel(d, "Up")["targets"][0].update(datasource=PROMETHEUS),
    "decimals null": lambda d: _panel(d, "Requests")["fieldConfig"]["defaults"].update(decimals=None),
    "unit none": lambda d: _panel(d, "Latency").update(fieldConfig={"defaults": {"unit": "none"}, "overrides": []}),
    "key order": lambda d: d["panels"].__setitem__(1, dict(reversed(list(_panel(d, "Requests").items())))),
    "panel order in the JSON": lambda d: d["panels"].reverse(),
    "schema defaults filled": lambda d: _panel(d, "Up").update(options={
        "graphMode": "area", "colorMode": "value", "justifyMode": "auto", "textMode": "auto", "wideLayout": True,
        "reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": ""}, "orientation": "auto"}),
    "plugin defaults filled": lambda d: _panel(d, "Latency").update(fieldConfig={"defaults": {"custom": {
        "lineWidth": 1, "fillOpacity": 0, "drawStyle": "line", "stacking": {"mode": "none", "group": "A"}}},
        "overrides": []}, options={"tooltip": {"mode": "single", "sort": "none"}}),
    "threshold mode and base step spelled out": lambda d: _panel(d, "Error ratio").update(fieldConfig={
        "defaults": {"thresholds": {"steps": [{"color": "green"}, {"color": "red", "value": 80}]}}}),
    "range query said explicitly": lambda d: _panel(d, "Latency")["targets"][0].update(range=True, instant=False),
    "empty description and links": lambda d: _panel(d, "Latency").update(description="", links=[]),
    "variable query as a string": lambda d: d["templating"]["list"][1].update(query="label_values(up,  job)"),
    "the built-in annotation": lambda d: d["annotations"]["list"].append({
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}),
}

# Each change, the one line it must produce (exactly once), and the layout mode it is compared with.
DIFFERENT: dict[str, tuple[Change, str, Layout]] = {
    "changed query": (
        lambda d: _panel(d, "Requests")["targets"][0].update(
            expr='sum by (job) (irate(http_requests_total{job=~"$job"}[$__rate_interval]))'),
        "panel 'Requests' in row 'Traffic': queries[0].expr: "
        "'sum by (job) (rate(http_requests_total{job=~\"$job\"}[$__rate_interval]))' → "
        "'sum by (job) (irate(http_requests_total{job=~\"$job\"}[$__rate_interval]))'", "exact"),
    "changed legend": (
        lambda d: _panel(d, "Latency")["targets"][0].update(legendFormat="p95"),
        "panel 'Latency' in row 'Errors': queries[0].legendFormat: '{{job}}' → 'p95'", "exact"),
    "instant instead of range": (
        lambda d: _panel(d, "Latency")["targets"][0].update(instant=True),
        "panel 'Latency' in row 'Errors': queries[0].type: 'range' → 'instant'", "exact"),
    "changed unit": (
        lambda d: _panel(d, "Requests")["fieldConfig"]["defaults"].update(unit="ops"),
        "panel 'Requests' in row 'Traffic': unit: 'reqps' → 'ops'", "exact"),
    "changed threshold": (
        lambda d: _panel(d, "Requests")["fieldConfig"]["defaults"]["thresholds"]["steps"][1].update(value=200),
        "panel 'Requests' in row 'Traffic': thresholds: 'absolute: green, 100 red' → 'absolute: green, 200 red'",
        "exact"),
    "missing panel": (
        lambda d: d["panels"].remove(_panel(d, "Latency")),
        "panel 'Latency' in row 'Errors': (timeseries panel) → (absent)", "exact"),
    "added panel": (
        lambda d: d["panels"].append(_timeseries("Saturation", 7, (0, 18, 24, 8), "up")),
        "panel 'Saturation' in row 'Errors': (absent) → (timeseries panel)", "order"),
    "retitled panel": (
        lambda d: _panel(d, "Latency").update(title="Latency p95"),
        "panel 'Latency' in row 'Errors': title: 'Latency' → 'Latency p95'", "exact"),
    "moved panel": (
        _move_requests_to_errors,
        "panel 'Requests' in row 'Traffic': layout: (row 'Traffic', place 1) → (row 'Errors', place 3)", "order"),
    "resized panel": (
        lambda d: _panel(d, "Up")["gridPos"].update(w=6),
        "panel 'Up' in row 'Traffic': layout: (row 'Traffic' at x=12 y=1 w=12 h=8) → "
        "(row 'Traffic' at x=12 y=1 w=6 h=8)", "exact"),
    "changed variable": (
        lambda d: d["templating"]["list"][1]["query"].update(query="label_values(up, instance)"),
        "variable 'job': query: 'label_values(up, job)' → 'label_values(up, instance)'", "exact"),
    "changed mapping": (
        lambda d: _panel(d, "Up")["fieldConfig"]["defaults"]["mappings"][0]["options"]["1"].update(text="Up"),
        "panel 'Up' in row 'Traffic': mappings[0].options.1.text: 'UP' → 'Up'", "exact"),
    "changed override": (
        lambda d: _panel(d, "Requests")["fieldConfig"]["overrides"][0]["properties"][0]["value"].update(
            fixedColor="orange"),
        "panel 'Requests' in row 'Traffic': overrides[byName=errors].color: {'mode': 'fixed', 'fixedColor': 'red'} → "
        "{'mode': 'fixed', 'fixedColor': 'orange'}", "exact"),
    "changed dashboard time": (
        lambda d: d["time"].update({"from": "now-6h"}),
        "dashboard: time.from: 'now-1h' → 'now-6h'", "exact"),
    "added query": (
        lambda d: _panel(d, "Latency")["targets"].append({"refId": "B", "expr": "up"}),
        "panel 'Latency' in row 'Errors': queries[1]: (absent) → {'expr': 'up'}", "exact"),
    "changed decimals": (
        lambda d: _panel(d, "Requests")["fieldConfig"]["defaults"].update(decimals=2),
        "panel 'Requests' in row 'Traffic': decimals: (absent) → 2", "exact"),
    "added transformation": (
        lambda d: _panel(d, "Up").update(transformations=[{"id": "reduce", "options": {"reducers": ["max"]}}]),
        "panel 'Up' in row 'Traffic': transformations: (absent) → [{'id': 'reduce', 'options': {'reducers': ['max']}, "
        "'disabled': False}]", "exact"),
    "repeated panel": (
        lambda d: _panel(d, "Up").update(repeat="job"),
        "panel 'Up' in row 'Traffic': repeat: (absent) → {'variable': 'job', 'direction': 'h'}", "exact"),
    "added dashboard link": (
        lambda d: d["links"].append({"title": "Docs", "type": "link", "url": "https://example.com/docs"}),
        "link 'Docs': (absent) → (present)", "exact"),
    "added annotation": (
        lambda d: d["annotations"]["list"].append({"name": "Deploys", "datasource": PROMETHEUS, "enable": True,
                                                   "expr": "changes(build_info[5m]) > 0", "iconColor": "red"}),
        "annotation 'Deploys': (absent) → (present)", "exact"),
    "changed dashboard link": (
        lambda d: d["links"][0].update(keepTime=True),
        "link 'Home': keepTime: False → True", "exact"),
    "collapsed row": (
        lambda d: _panel(d, "Errors").update(collapsed=True, panels=[
            d["panels"].pop(d["panels"].index(_panel(d, title))) for title in ("Error ratio", "Latency")]),
        "row 'Errors': collapsed: False → True", "exact"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_corpus_dashboard_equals_itself_and_its_migration(name: str) -> None:
    dashboard = CORPUS[name]
    assert compare(dashboard, copy.deepcopy(dashboard)) == []
    assert compare(dashboard, migrate(dashboard)) == []


@pytest.mark.parametrize("change", sorted(SAME))
def test_what_grafana_treats_as_equal_compares_equal(change: str) -> None:
    assert [str(d) for d in compare(BASE, _changed(SAME[change]))] == []


@pytest.mark.parametrize("change", sorted(DIFFERENT))
def test_each_change_is_reported_exactly_once(change: str) -> None:
    mutate, expected, layout = DIFFERENT[change]
    found = [str(d) for d in compare(BASE, _changed(mutate), layout=layout)]
    assert found == [expected]


def test_difference_is_one_readable_line() -> None:
    difference = Difference("panel 'A'", "queries[0].expr", "x" * 300, "y\nz")
    line = str(difference)
    assert "\n" not in line and line.startswith("panel 'A': queries[0].expr: 'xxx")
    assert len(line) < 250


def test_exact_layout_reports_positions_order_layout_only_order() -> None:
    def shift(d: dict[str, Any]) -> None:
        for panel in d["panels"]:
            panel["gridPos"]["y"] += 2

    shifted = _changed(shift)
    assert compare(BASE, shifted, layout="order") == []
    assert len(compare(BASE, shifted, layout="exact")) == 4  # every panel moved down; rows are compared by order


def test_inserting_a_panel_moves_nothing_else() -> None:
    def insert(d: dict[str, Any]) -> None:
        d["panels"].insert(2, _timeseries("New", 9, (0, 1, 6, 8), "up"))
        _panel(d, "Up")["gridPos"]["x"] = 18

    assert [str(x) for x in compare(BASE, _changed(insert), layout="order")] == [
        "panel 'New' in row 'Traffic': (absent) → (timeseries panel)"]


def test_order_layout_still_compares_sizes() -> None:
    def widen(d: dict[str, Any]) -> None:
        _panel(d, "Up")["gridPos"]["w"] += 2

    assert [str(x) for x in compare(BASE, _changed(widen), layout="order")] == [
        "panel 'Up' in row 'Traffic': size: (w=12 h=8) → (w=14 h=8)"]


def test_a_legacy_dashboard_equals_its_modern_equivalent() -> None:
    legacy = {"schemaVersion": 14, "title": "T", "uid": "t", "rows": [{"title": "R", "showTitle": True,
                                                                       "height": "250px", "panels": [
        {"id": 1, "type": "graph", "title": "CPU", "span": 12, "datasource": "$datasource", "lines": True,
         "linewidth": 1, "fill": 1, "nullPointMode": "null", "renderer": "flot",
         "yaxes": [{"format": "percentunit", "min": 0, "show": True, "logBase": 1},
                   {"format": "short", "show": False, "logBase": 1}],
         "legend": {"show": True}, "tooltip": {"shared": True, "sort": 0},
         "targets": [{"expr": "avg(rate(cpu_seconds_total[5m]))", "refId": "A", "intervalFactor": 1}]}]}]}
    modern = {"schemaVersion": 39, "title": "T", "uid": "t", "panels": [
        {"type": "row", "title": "R", "id": 2, "collapsed": False, "panels": [],
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
        {"type": "timeseries", "title": "CPU", "id": 1, "gridPos": {"x": 0, "y": 1, "w": 24, "h": 7},
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "targets": [{"expr": "avg(rate(cpu_seconds_total[5m]))", "refId": "A", "range": True}],
         "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "custom": {
             "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}}, "overrides": []},
         "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                     "tooltip": {"mode": "multi", "sort": "none"}}}]}
    assert [str(d) for d in compare(legacy, modern)] == []


def test_the_2021_kubernetes_dashboard_against_todays() -> None:
    found = [str(d) for d in compare(CORPUS["kubernetes-2021__k8s-resources-cluster"],
                                     CORPUS["kubernetes__k8s-resources-cluster"], layout="order")]
    assert "variable 'cluster': query: 'label_values(up{job=\"cadvisor\"}, cluster)' → " \
           "'label_values(up{job=\"kube-state-metrics\"}, cluster)'" in found
    assert "panel 'CPU Usage' in row 'CPU': custom.stacking.mode: 'normal' → 'none'" in found


@pytest.mark.parametrize(("expr", "same_as"), [
    ("rate(x[$__rate_interval])", "rate(x[${__rate_interval}])"),
    ("rate(x[$interval] offset $shift)", "rate(x[${interval}] offset [[shift]])"),
    ('up{job="$job"}', 'up{job="${job:regex}"}'),
    ("label_values(up,  job)", "label_values(up, job)"),
])
def test_query_spellings(expr: str, same_as: str) -> None:
    assert normalize_expr(expr) == normalize_expr(same_as)


def test_different_variables_stay_different() -> None:
    assert normalize_expr("rate(x[$a])") != normalize_expr("rate(x[$b])")
    assert normalize_expr('up{job="$a"}') != normalize_expr('up{job="$b"}')


def test_malformed_dashboards_compare_equal_to_themselves() -> None:
    rng = random.Random(20260730)
    odd: list[Any] = [None, "x", "", 1, -1, 1.5, True, [], {}, ["x"], [None], [{}], {"a": []}]
    names = sorted(CORPUS)
    for _ in range(50):
        dashboard = copy.deepcopy(CORPUS[rng.choice(names)])
        for panel in [p for p in dashboard.get("panels") or [] if isinstance(p, dict)][:6]:
            key = rng.choice(sorted(panel))
            panel[key] = copy.deepcopy(rng.choice(odd))
        assert compare(dashboard, copy.deepcopy(dashboard)) == []
