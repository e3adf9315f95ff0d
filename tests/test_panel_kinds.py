"""Panel kinds beyond time series, stat and pie chart, and what every kind shares: overrides, value mappings,
links, transformations, repeats, annotations, variable kinds and the `raw` escape hatch.

Each kind builds a dashboard that passes the build's checks (schema, both paths, and lint) and renders the same
bytes every time; the helpers' queries are evaluated on the real Prometheus engine (`promtool test rules`) with
the numbers worked out by hand in comments, like tests/test_promql_semantics.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from dashbuild.checks import run_checks
from dashbuild.compiled import CompiledDashboard
from dashbuild.lint import LintContext, lint_dashboard
from dashbuild.render import render_dashboard
from dashbuild.schema import validate_dashboard
from dashbuild.verify_plan import grafana_values
from moddash.contract import COUNTER, GAUGE, Metric, ModuleContract, ScrapeTarget, standard_metrics
from panels import (
    Annotation,
    BarGauge,
    ConstantVariable,
    CustomVariable,
    DashboardSpec,
    DataLink,
    DatasourceVariable,
    Graph,
    IntervalVariable,
    ModuleDashboard,
    Panel,
    Row,
    Step,
    Target,
    Text,
    TextboxVariable,
    ValueText,
    by_name,
    by_query,
    by_regexp,
    filter_by_name,
    organize,
)
from panels import helpers as h
from panels.keys import panel_keys
from panels.promql import eq, variable
from tests.conftest import REPO, BuildRunner
from tests.test_promql_semantics import assert_evaluates, query

KINDS = ModuleContract(
    name="kinds",
    title="Kinds",
    target=ScrapeTarget(port=9300),
    metrics=(
        *standard_metrics("kinds"),
        Metric("kinds_queue_depth", GAUGE, "Requests waiting in the queue, by operation.", ("operation",),
               multiprocess_mode="livesum"),
        Metric("kinds_validations_total", COUNTER, "Validations, by result.", ("result",)),
    ),
    label_values={"operation": ("render", "search"), "result": ("passed", "failed"),
                  "error_type": ("timeout",), "type": ("prompt",)},
)
OPS, ERRORS = KINDS.metric("operations_total"), KINDS.metric("errors_total")
DURATION, QUEUE = KINDS.metric("operation_duration_seconds"), KINDS.metric("queue_depth")
CONTEXT = LintContext(uids=frozenset({"kinds"}))

# One panel of each kind, as the helpers make them.
PANELS: dict[str, Callable[[], Panel]] = {
    "timeseries": lambda: h.rate_per_second(OPS, by=("operation",)).keyed("ts"),
    "stat": lambda: h.cost_over_range(KINDS.metric("cost_total")),
    "piechart": lambda: h.distribution(OPS, "operation"),
    "gauge": lambda: h.gauge(ERRORS, OPS),
    "bargauge": lambda: h.bar_gauge(ERRORS, OPS, "operation"),
    "table": lambda: h.table((OPS, ERRORS), by=("operation",)),
    "heatmap": lambda: h.heatmap(DURATION),
    "histogram": lambda: h.histogram(QUEUE, by=("operation",)),
    "text": lambda: h.text("## Runbook\nSee [the runbook](https://example.com/runbook)."),
    "state-timeline": lambda: h.state_timeline(ERRORS, OPS, by=("operation",)),
    "status-history": lambda: h.status_history(ERRORS, by=("operation",)),
}


def spec_of(*panels: Panel, **fields: Any) -> DashboardSpec:
    """Return a dashboard of the kinds contract holding `panels` in one row."""
    fields.setdefault("variables", (h.label_variable(OPS, "operation"),))
    return DashboardSpec(uid="kinds", title="Kinds", description="Every panel kind.", rows=(Row("All", panels),),
                         **fields)


def compiled(spec: DashboardSpec) -> CompiledDashboard:
    """Return the rendered dashboard as the build's checks and lint see it."""
    return CompiledDashboard(spec=spec, json=render_dashboard(spec), source="dashboards/kinds.py",
                             known_series=KINDS.series_names(), contract=KINDS)


def findings(spec: DashboardSpec) -> list[str]:
    """Return every schema error (fast and plain paths) and lint finding of a dashboard."""
    dashboard = compiled(spec)
    fast, plain = validate_dashboard(dashboard.json), validate_dashboard(dashboard.json, fast=False)
    assert sorted(map(str, fast)) == sorted(map(str, plain))
    return ([e.message for e in run_checks([dashboard])]
            + [f"{f.rule}: {f.message}" for f in lint_dashboard(dashboard, CONTEXT)])


def all_kinds_spec() -> DashboardSpec:
    """Return one dashboard with a panel of every kind (used across hash seeds, too)."""
    return spec_of(*(make() for make in PANELS.values()))


# -- every kind passes the build's checks and renders deterministically --------------------------------

@pytest.mark.parametrize("kind", sorted(PANELS))
def test_each_kind_passes_schema_and_lint(kind: str) -> None:
    panel = PANELS[kind]()
    assert panel.kind == kind
    spec = spec_of(panel)
    assert findings(spec) == []
    (rendered,) = [p for p in render_dashboard(spec)["panels"] if p["type"] != "row"]
    assert rendered["type"] == kind
    assert render_dashboard(spec) == render_dashboard(spec_of(PANELS[kind]()))


def test_every_kind_in_one_dashboard_is_clean() -> None:
    assert findings(all_kinds_spec()) == []


def test_rendering_is_the_same_across_hash_seeds() -> None:
    script = ("import json; from dashbuild.render import render_dashboard; "
              "from tests.test_panel_kinds import all_kinds_spec; "
              "print(json.dumps(render_dashboard(all_kinds_spec()), sort_keys=True))")
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=120, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_text_panel_has_no_query_unit_or_datasource() -> None:
    (rendered,) = [p for p in render_dashboard(spec_of(PANELS["text"]()))["panels"] if p["type"] == "text"]
    assert rendered["options"] == {"mode": "markdown",
                                   "content": "## Runbook\nSee [the runbook](https://example.com/runbook)."}
    assert not {"targets", "datasource", "fieldConfig", "description"} & set(rendered)


def test_kind_options_render_as_grafana_reads_them() -> None:
    panels = {p["type"]: p for p in render_dashboard(all_kinds_spec())["panels"]}
    heatmap = panels["heatmap"]
    assert heatmap["targets"][0]["format"] == "heatmap" and heatmap["targets"][0]["legendFormat"] == "{{le}}"
    assert heatmap["options"]["calculate"] is False and heatmap["options"]["yAxis"]["unit"] == "s"
    table = panels["table"]
    assert [t["format"] for t in table["targets"]] == ["table", "table"]
    assert [t["id"] for t in table["transformations"]] == ["merge", "organize"]
    assert table["transformations"][1]["options"]["renameByName"] == {"Value #A": "Operations handled",
                                                                      "Value #B": "Errors"}
    assert table["options"]["sortBy"] == [{"displayName": "Operations handled", "desc": True}]
    assert panels["gauge"]["options"]["showThresholdMarkers"] is True
    assert panels["bargauge"]["options"]["orientation"] == "horizontal"
    assert panels["state-timeline"]["options"]["mergeValues"] is True
    assert panels["status-history"]["interval"] == "1h"
    assert panels["histogram"]["options"]["combine"] is True


def test_graph_style_stacking_fill_axis_and_draw_style() -> None:
    panel = attrs.evolve(h.rate_per_second(OPS, by=("operation",)),
                         style=Graph(draw="points", fill_opacity=0, stacking="percent", axis_placement="right"))
    (rendered,) = [p for p in render_dashboard(spec_of(panel))["panels"] if p["type"] == "timeseries"]
    custom = rendered["fieldConfig"]["defaults"]["custom"]
    assert (custom["drawStyle"], custom["fillOpacity"], custom["stacking"], custom["axisPlacement"]) == (
        "points", 0, {"mode": "percent"}, "right")
    assert findings(spec_of(panel)) == []
    # The shorthands stand for a style: bars fill at 80.
    assert h.event_timeline(OPS).graph == Graph(draw="bars", stacking="normal")
    assert h.event_timeline(OPS).graph.opacity == 80


# -- the model refuses what Grafana would not show -------------------------------------------------

@pytest.mark.parametrize(("make", "message"), [
    (lambda: attrs.evolve(h.gauge(ERRORS, OPS), style=BarGauge()), "a gauge panel takes a Gauge style"),
    (lambda: attrs.evolve(h.cost_over_range(KINDS.metric("cost_total")), style=Graph()),
     "a stat panel takes a Stat style"),
    (lambda: attrs.evolve(h.distribution(OPS, "operation"), style=Graph()), "takes no style"),
    (lambda: Panel(kind="text", title="Notes", description="", unit="", targets=(Target("up"),),
                   style=Text("x")), "a text panel runs no query"),
    (lambda: Panel(kind="text", title="Notes", description="", unit="", targets=()), "needs its content"),
    (lambda: Panel(kind="gauge", title="G", description="d", unit="short", targets=()), "at least one target"),
    (lambda: attrs.evolve(h.rate_per_second(OPS), style=Graph(), stacked=True), "time series shorthands"),
    (lambda: h.rate_per_second(OPS).with_overrides(by_query("B", {"unit": "s"})), "override of query 'B'"),
    (lambda: h.rate_per_second(OPS).repeated("operation").in_overview(), "cannot be in the overview"),
    (lambda: h.rate_per_second(OPS).with_raw({"gridPos.w": 3}), "'gridPos' is set by the build"),
    (lambda: h.rate_per_second(OPS).with_raw({"options legend": 3}), "must be dotted JSON keys"),
    (lambda: h.rate_per_second(OPS).with_raw({"options.x": float("nan")}), "not a finite number"),
    (lambda: h.rate_per_second(OPS).with_raw((("options.x", 1), ("options.x", 2))), "more than once"),
    (lambda: ValueText("x", value=1, pattern="a"), "exactly one of"),
    (lambda: by_regexp("(", {"unit": "s"}), "not a regular expression"),
])
def test_model_refuses(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


@pytest.mark.parametrize(("make", "message"), [
    (lambda: h.heatmap(OPS), "heatmap() needs a histogram, but kinds_operations_total is a counter"),
    (lambda: h.histogram(DURATION), "histogram() needs a gauge or a counter, but kinds_operation_duration_seconds"),
    (lambda: h.gauge(QUEUE, OPS), "gauge() needs a counter, but kinds_queue_depth is a gauge"),
    (lambda: h.bar_gauge(ERRORS, DURATION, "operation"), "bar_gauge() needs a counter"),
    (lambda: h.bar_gauge(ERRORS, OPS, "provider"), "has no label 'provider'"),
    (lambda: h.table((OPS, QUEUE), by=("operation",)), "table() needs a counter, but kinds_queue_depth"),
    (lambda: h.table((OPS,), by=()), "needs `by` labels"),
    (lambda: h.state_timeline(DURATION, OPS), "needs a counter"),
    (lambda: h.state_timeline(ERRORS, OPS, critical=0.05, warning=0.1), "must be above 0 and below critical"),
    (lambda: h.status_history(QUEUE, by=("operation",)), "status_history() needs a counter"),
])
def test_helpers_refuse_wrong_metrics(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_dashboard_refuses_unknown_variables() -> None:
    repeated = h.rate_per_second(OPS).repeated("provider")
    with pytest.raises(ValueError, match=r"repeat uses \$provider, which is not one of this dashboard's variables"):
        spec_of(repeated)
    with pytest.raises(ValueError, match=r"row 'r' repeat uses \$region"):
        ModuleDashboard(rows=(Row("r", (h.rate_per_second(OPS),), repeat="region"),))
    with pytest.raises(ValueError, match=r"uses \$lts, which is not one of this dashboard's datasource variables"):
        spec_of(attrs.evolve(h.rate_per_second(OPS), datasource="lts"))
    with pytest.raises(ValueError, match="'datasource' is defined twice"):
        ModuleDashboard(rows=(Row("r", (h.rate_per_second(OPS),)),), variables=(DatasourceVariable("datasource", "x"),))
    with pytest.raises(ValueError, match=r"annotation 'Deploys' uses \$other"):
        spec_of(h.rate_per_second(OPS), annotations=(Annotation("Deploys", "up", datasource="other"),))


# -- keys ------------------------------------------------------------------------------------------

def test_new_helpers_key_panels_by_helper_and_metric() -> None:
    (keys,) = panel_keys(all_kinds_spec().rows)
    assert keys == ["ts", "cost_over_range.kinds_cost_total", "distribution.kinds_operations_total.operation",
                    "gauge.kinds_errors_total", "bar_gauge.kinds_errors_total.operation",
                    "table.kinds_operations_total.operation", "heatmap.kinds_operation_duration_seconds",
                    "histogram.kinds_queue_depth", "all.9", "state_timeline.kinds_errors_total",
                    "status_history.kinds_errors_total"]
    (keys,) = panel_keys((Row("All", (h.text("x", key="runbook"),)),))
    assert keys == ["runbook"]


# -- overrides, mappings, links, transformations, repeats ---------------------------------------------

def _only(spec: DashboardSpec, kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in render_dashboard(spec)["panels"] if p["type"] == kind]
    assert len(found) == 1
    return found[0]


def test_overrides_render_by_name_regexp_and_query() -> None:
    panel = h.rate_per_second(OPS, by=("operation",)).with_overrides(
        by_name("render", {"custom.axisPlacement": "right", "unit": "reqps"}),
        by_regexp("^s.*", {"color": {"mode": "fixed", "fixedColor": "red"}}),
        by_query("A", [("displayName", "ops"), ("custom.fillOpacity", 0)]),
    )
    assert _only(spec_of(panel), "timeseries")["fieldConfig"]["overrides"] == [
        {"matcher": {"id": "byName", "options": "render"},
         "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "unit", "value": "reqps"}]},
        {"matcher": {"id": "byRegexp", "options": "^s.*"},
         "properties": [{"id": "color", "value": {"fixedColor": "red", "mode": "fixed"}}]},
        {"matcher": {"id": "byFrameRefID", "options": "A"},
         "properties": [{"id": "displayName", "value": "ops"}, {"id": "custom.fillOpacity", "value": 0}]},
    ]
    assert findings(spec_of(panel)) == []


@pytest.mark.parametrize(("properties", "error"), [
    ({"custom.lineInterpolation": "wiggly"}, "overrides[0].properties[0].value: 'wiggly' is not one of"),
    ({"custom.nope": 1}, "'nope' was unexpected"),
    ({"unit": "furlongs"}, "'furlongs' is not one of Grafana's unit ids"),
    ({"min": "low"}, "'low' is not of type 'number'"),
    ({"custom.hideFrom.viz": "yes"}, "overrides[0].properties[0].value: 'yes' is not of type 'boolean'"),
    ({"custom.hideFrom.nope": True}, "'custom.hideFrom.nope' is not a field config property"),
])
def test_override_properties_are_checked_against_the_field_config_schema(properties: dict[str, object],
                                                                          error: str) -> None:
    panel = h.rate_per_second(OPS, by=("operation",), title="Ops").with_overrides(by_name("render", properties))
    messages = findings(spec_of(panel))
    assert any(error in m for m in messages), messages
    (schema_error,) = [e for e in run_checks([compiled(spec_of(panel))])]
    assert schema_error.panel == "Ops"


def test_an_override_may_set_a_key_inside_a_custom_option() -> None:
    """Grafana sets `custom.hideFrom.viz` inside `custom.hideFrom` (what hiding a series from the graph saves)."""
    panel = h.rate_per_second(OPS, by=("operation",)).with_overrides(by_name("render", {"custom.hideFrom.viz": True}))
    assert findings(spec_of(panel)) == []


def test_panel_units_rule_reads_every_override_unit() -> None:
    panel = h.table((OPS, ERRORS), by=("operation",)).with_overrides(by_name("Errors", {"unit": "percentunit"}))
    assert findings(spec_of(panel)) == []
    dashboard = compiled(spec_of(panel))
    panel_json = next(p for p in dashboard.json["panels"] if p["type"] == "table")
    panel_json["fieldConfig"]["overrides"][0]["properties"][0]["value"] = "furlongs"
    lint = [f"{f.rule}: {f.message}" for f in lint_dashboard(dashboard, CONTEXT)]
    assert lint == ["panel-units-rule: unit 'furlongs' is not one of Grafana's unit ids"]


def test_value_mappings_of_every_kind() -> None:
    panel = attrs.evolve(h.health("kinds"), mappings=(
        ValueText("UP", "green", value=1), ValueText("DEGRADED", "orange", low=0, high=1),
        ValueText("N/A", special="null+nan"), ValueText("Unknown", "blue", pattern="^[a-z]+$")))
    assert _only(spec_of(panel), "stat")["fieldConfig"]["defaults"]["mappings"] == [
        {"type": "value", "options": {"1": {"text": "UP", "color": "green"}}},
        {"type": "range", "options": {"from": 0, "to": 1, "result": {"text": "DEGRADED", "color": "orange"}}},
        {"type": "special", "options": {"match": "null+nan", "result": {"text": "N/A"}}},
        {"type": "regex", "options": {"pattern": "^[a-z]+$", "result": {"text": "Unknown", "color": "blue"}}},
    ]
    assert findings(spec_of(panel)) == []


def test_links_on_the_panel_and_on_each_value() -> None:
    panel = (h.rate_per_second(OPS, by=("operation",))
             .with_links(DataLink("Runbook", "https://example.com/runbook", target_blank=True))
             .with_links(DataLink("Explore", "/explore?op=${__field.labels.operation}"), per_value=True))
    rendered = _only(spec_of(panel), "timeseries")
    (header,) = rendered["links"]
    (value,) = rendered["fieldConfig"]["defaults"]["links"]
    assert (header["title"], header["url"], header["targetBlank"]) == ("Runbook", "https://example.com/runbook",
                                                                       True)
    assert (value["title"], value["url"], value["targetBlank"]) == ("Explore",
                                                                    "/explore?op=${__field.labels.operation}", False)
    assert findings(spec_of(panel)) == []


def test_transformations_render_in_order() -> None:
    panel = attrs.evolve(h.table((OPS,), by=("operation",)), transformations=(
        filter_by_name(names=("operation", "Value")), organize(rename={"Value": "Operations"})))
    assert _only(spec_of(panel), "table")["transformations"] == [
        {"id": "filterFieldsByName", "options": {"include": {"names": ["operation", "Value"]}}},
        {"id": "organize",
         "options": {"excludeByName": {}, "indexByName": {}, "renameByName": {"Value": "Operations"}}},
    ]
    assert findings(spec_of(panel)) == []


def test_repeated_rows_and_panels() -> None:
    panel = h.rate_per_second(OPS, title="Ops of $operation").repeated("operation", max_per_row=4)
    spec = DashboardSpec(uid="kinds", title="Kinds", description="d", variables=(h.label_variable(OPS, "operation"),),
                         rows=(Row("Per $operation", (panel,), repeat="operation"),
                               Row("Vertical", (h.rate_per_second(ERRORS).repeated("operation", "v"),))))
    rendered = render_dashboard(spec)["panels"]
    assert rendered[0]["repeat"] == "operation" and rendered[0]["type"] == "row"
    assert (rendered[1]["repeat"], rendered[1]["repeatDirection"], rendered[1]["maxPerRow"]) == ("operation", "h", 4)
    assert (rendered[3]["repeat"], rendered[3]["repeatDirection"]) == ("operation", "v")
    assert "maxPerRow" not in rendered[3]
    assert findings(spec) == []


# -- dashboard annotations and variable kinds -------------------------------------------------------

def test_prometheus_annotation_beside_grafanas_own() -> None:
    annotation = Annotation("Restarts", "changes(process_start_time_seconds[5m]) > 0", datasource="lts",
                            icon_color="purple", title_format="{{instance}} restarted", text_format="{{job}}",
                            tag_keys="job,instance", step="30s")
    spec = spec_of(h.rate_per_second(OPS), annotations=(annotation,),
                   variables=(DatasourceVariable("lts", "Long-term store", regex="/thanos/"),))
    builtin, prometheus = render_dashboard(spec)["annotations"]["list"]
    assert builtin["builtIn"] == 1 and builtin["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}
    assert prometheus == {
        "name": "Restarts", "datasource": {"type": "prometheus", "uid": "${lts}"}, "enable": True, "hide": False,
        "iconColor": "purple", "expr": "changes(process_start_time_seconds[5m]) > 0", "step": "30s",
        "titleFormat": "{{instance}} restarted", "textFormat": "{{job}}", "tagKeys": "job,instance",
        "useValueForTime": False,
    }
    assert [f for f in findings(spec) if "annotation" in f] == [
        "annotation-promql-rule: annotation 'Restarts' selects process_start_time_seconds, which no module "
        "contract declares"]
    clean = spec_of(h.rate_per_second(OPS), annotations=(
        Annotation("Errors", "sum(increase(kinds_errors_total[1m])) > 0"),))
    assert findings(clean) == []
    # Without annotations the dashboard keeps Grafana's implicit built-in one, as before.
    assert render_dashboard(spec_of(h.rate_per_second(OPS)))["annotations"] == {}


def test_variable_kinds_and_a_second_datasource() -> None:
    window = IntervalVariable("window", "Window", ("5m", "1h"))
    spec = spec_of(
        attrs.evolve(h.rate_per_second(OPS, where=(eq("status", "ok"),), title="Ops (long-term)"), datasource="lts"),
        attrs.evolve(PANELS["stat"](), targets=(Target(
            'sum(increase(kinds_cost_total{job="$job", env=~"$env", operation=~"$filter"}[$window]))', "cost",
            instant=True),)),
        variables=(
            h.label_variable(OPS, "operation"),
            CustomVariable("env", "Environment", ("prod", "staging"), include_all=True, multi=True),
            window,
            ConstantVariable("job", "kinds"),
            TextboxVariable("filter", "Filter", "render"),
            DatasourceVariable("lts", "Long-term store", regex="/thanos/"),
        ))
    rendered = render_dashboard(spec)
    by_name_ = {v["name"]: v for v in rendered["templating"]["list"]}
    assert [v["type"] for v in rendered["templating"]["list"]] == [
        "datasource", "query", "custom", "interval", "constant", "textbox", "datasource"]
    assert (by_name_["env"]["query"], by_name_["env"]["multi"], by_name_["env"]["current"]["value"]) == (
        "prod,staging", True, "$__all")
    assert (by_name_["window"]["query"], by_name_["window"]["current"]["value"]) == ("5m,1h", "5m")
    assert (by_name_["job"]["query"], by_name_["job"]["hide"]) == ("kinds", 2)
    assert by_name_["filter"]["query"] == "render"
    assert (by_name_["lts"]["query"], by_name_["lts"]["regex"]) == ("prometheus", "/thanos/")
    long_term = next(p for p in rendered["panels"] if p.get("title") == "Ops (long-term)")
    assert long_term["datasource"] == long_term["targets"][0]["datasource"] == {"type": "prometheus",
                                                                                "uid": "${lts}"}
    # Lint parses the queries with each variable standing for its first value (the interval a duration).
    assert findings(spec) == []
    values = grafana_values(600, 15, rendered["templating"]["list"])
    assert (values["env"], values["window"], values["job"], values["filter"]) == ("(prod|staging)", "5m", "kinds",
                                                                                  "render")


# -- the escape hatch --------------------------------------------------------------------------------

def test_escape_hatch_is_applied_in_path_order_and_counted() -> None:
    panel = h.rate_per_second(OPS, by=("operation",)).with_raw({
        "fieldConfig.defaults.custom.lineInterpolation": "smooth",
        "options.legend.calcs": ["mean", "max"],
        "options.legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": []},
    })
    # Sorted by path: the whole legend first, then its calcs.
    assert [path for path, _value in panel.raw] == ["fieldConfig.defaults.custom.lineInterpolation", "options.legend",
                                                    "options.legend.calcs"]
    rendered = _only(spec_of(panel), "timeseries")
    assert rendered["options"]["legend"] == {"displayMode": "table", "placement": "right", "showLegend": True,
                                             "calcs": ["mean", "max"]}
    assert rendered["fieldConfig"]["defaults"]["custom"]["lineInterpolation"] == "smooth"
    assert panel.escape_hatches == 3
    spec = spec_of(panel, PANELS["heatmap"]().with_raw({"options.cellGap": 2}))
    assert spec.escape_hatches == compiled(spec).escape_hatches == 4
    assert findings(spec) == []


@pytest.mark.parametrize(("kind", "raw", "error"), [
    ("timeseries", {"options.legend.calcs": "mean"}, "options.legend.calcs: 'mean' is not of type 'array'"),
    ("timeseries", {"fieldConfig.defaults.custom.lineInterpolation": "wiggly"}, "is not one of ['linear'"),
    ("timeseries", {"pluginVersion": 11}, "pluginVersion: 11 is not of type 'string'"),
    ("timeseries", {"colour": "red"}, "('colour' was unexpected)"),
    ("stat", {"fieldConfig.defaults.custom.width": 3}, "panel plugin 'stat' has no custom field config"),
    ("gauge", {"options.showThresholdMarkers": "yes"}, "'yes' is not of type 'boolean'"),
    ("text", {"options.mode": "latex"}, "options.mode: 'latex' is not one of"),
    ("table", {"fieldConfig.defaults.custom.width": "wide"}, "custom.width: 'wide' is not of type 'number'"),
    ("table", {"fieldConfig.defaults.custom.width": 120, "options.cellHeight": "xl"}, "'xl' is not one of"),
    ("heatmap", {"options.showValue": 5}, "options.showValue: 5 is not one of ['auto', 'never', 'always']"),
    ("heatmap", {"options.yAxis.bogus": True}, "options.yAxis.bogus: unknown property 'bogus'"),
    ("heatmap", {"options.cellGap": 1.5}, "options.cellGap: 1.5 is not of type int"),
    ("histogram", {"fieldConfig.defaults.custom.fillOpacity": "full"}, "fillOpacity: 'full' is not of type int"),
    ("state-timeline", {"options.rowHeight": "tall"}, "options.rowHeight: 'tall' is not of type float"),
    ("status-history", {"options.legend.placement": "middle"}, "'middle' is not one of ['bottom', 'right']"),
])
def test_a_bad_escape_hatch_is_a_schema_error_naming_the_panel(kind: str, raw: dict[str, object], error: str) -> None:
    panel = PANELS[kind]().titled("Hatched").with_raw(raw)
    errors = run_checks([compiled(spec_of(panel))])
    assert errors, f"{raw} passed"
    assert all(e.panel == "Hatched" for e in errors)
    assert any(error in e.message for e in errors), [e.message for e in errors]
    plain = validate_dashboard(render_dashboard(spec_of(panel)), fast=False)
    assert any(error in str(e) for e in plain)


def test_escape_hatch_through_a_value_that_is_not_an_object_fails_naming_the_panel() -> None:
    panel = h.rate_per_second(OPS, title="Ops").with_raw({"options.legend.calcs.first": "mean"})
    with pytest.raises(ValueError, match=r"panel 'Ops': raw option 'options.legend.calcs.first': "
                                         r"options.legend.calcs is list, not an object"):
        render_dashboard(spec_of(panel))


# -- the build ---------------------------------------------------------------------------------------

MODULE = '''
from moddash.contract import GAUGE, Metric, ModuleContract, ScrapeTarget, standard_metrics
from panels import Annotation, CustomVariable, ModuleDashboard, Row, by_name
from panels import helpers as h

CONTRACT = ModuleContract(
    name="kinds_demo", title="Kinds Demo", target=ScrapeTarget(port=8097),
    metrics=(*standard_metrics("kinds_demo"),
             Metric("kinds_demo_queue_depth", GAUGE, "Requests waiting, by operation.", ("operation",),
                    multiprocess_mode="livesum")),
    label_values={"operation": ("a", "b"), "error_type": ("timeout",), "type": ("prompt",)},
)
ops, errors = CONTRACT.metric("operations_total"), CONTRACT.metric("errors_total")
DASHBOARD = ModuleDashboard(
    variables=(h.label_variable(ops, "operation"), CustomVariable("env", "Environment", ("prod", "dev"))),
    annotations=(Annotation("Errors", "sum(increase(kinds_demo_errors_total[1m])) > 0"),),
    rows=(
        Row("Kinds", (
            h.text("Read me first."),
            h.gauge(errors, ops),
            h.bar_gauge(errors, ops, "operation"),
            h.table((ops, errors), by=("operation",)).with_overrides(by_name("Errors", {"unit": "short"})),
            h.heatmap(CONTRACT.metric("operation_duration_seconds")).with_raw({"options.cellGap": 2}),
            h.histogram(CONTRACT.metric("queue_depth")),
            h.state_timeline(errors, ops, by=("operation",)),
            h.status_history(errors, by=("operation",)).with_raw({"options.showValue": HATCH}),
        )),
        Row("Per $operation", (h.rate_per_second(ops, title="Ops of $operation"),), repeat="operation"),
    ),
)
'''


def test_a_module_using_every_kind_builds_and_the_summary_counts_escape_hatches(repo_copy: Path,
                                                                                  build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "kinds_demo.py").write_text(MODULE.replace("HATCH", '"never"'))
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    header, *rows = [line for line in result.stdout.splitlines() if "panels" in line or ".json" in line]
    assert header.split() == ["dashboard", "panels", "queries", "raw", "file"]
    (row,) = [r for r in rows if "kinds-demo.json" in r]
    assert row.split()[-2] == "2"
    dashboard = json.loads((repo_copy / "provisioning" / "dashboards" / "kinds-demo.json").read_text())
    assert {p["type"] for p in dashboard["panels"]} >= {"text", "gauge", "bargauge", "table", "heatmap", "histogram",
                                                        "state-timeline", "status-history", "timeseries"}
    assert build_cli(repo_copy, "--check").returncode == 0


def test_a_bad_escape_hatch_fails_the_build_naming_file_and_panel(repo_copy: Path, build_cli: BuildRunner) -> None:
    before = (repo_copy / "build-manifest.json").read_bytes()
    (repo_copy / "dashboards" / "kinds_demo.py").write_text(MODULE.replace("HATCH", '"sometimes"'))
    result = build_cli(repo_copy)
    assert result.returncode == 1
    assert ('error: dashboards/kinds_demo.py: panel "Errors per 1h": kinds-demo.json: schema: options.showValue: '
            "'sometimes' is not one of ['auto', 'never', 'always']") in result.stderr, result.stderr
    assert (repo_copy / "build-manifest.json").read_bytes() == before


# -- query semantics on the real Prometheus engine ---------------------------------------------------

# Cumulative buckets per minute. render: 6 ≤ 0.1 s, 24 more ≤ 0.5 s, 30 more ≤ 1 s; search: 6 ≤ 0.1 s, 6 above 1 s.
BUCKETS = {
    'kinds_operation_duration_seconds_bucket{operation="render", le="0.1"}': "0+6x30",
    'kinds_operation_duration_seconds_bucket{operation="render", le="0.5"}': "0+30x30",
    'kinds_operation_duration_seconds_bucket{operation="render", le="1"}': "0+60x30",
    'kinds_operation_duration_seconds_bucket{operation="render", le="+Inf"}': "0+60x30",
    'kinds_operation_duration_seconds_bucket{operation="search", le="0.1"}': "0+6x30",
    'kinds_operation_duration_seconds_bucket{operation="search", le="0.5"}': "0+6x30",
    'kinds_operation_duration_seconds_bucket{operation="search", le="1"}': "0+6x30",
    'kinds_operation_duration_seconds_bucket{operation="search", le="+Inf"}': "0+12x30",
}


def test_heatmap_bucket_rates(tmp_path: Path, promtool: str) -> None:
    # Per second, summed over operations: ≤0.1: (6+6)/60 = 0.2; ≤0.5: (30+6)/60 = 0.6; ≤1: (60+6)/60 = 1.1;
    # +Inf: (60+12)/60 = 1.2. Grafana's heatmap format then takes differences: 0.2, 0.4, 0.5 and 0.1 per bucket.
    panel = h.heatmap(DURATION)
    assert_evaluates(tmp_path, promtool, BUCKETS, query(panel), "20m", [
        {"labels": '{le="0.1"}', "value": 0.2}, {"labels": '{le="0.5"}', "value": 0.6},
        {"labels": '{le="1"}', "value": 1.1}, {"labels": '{le="+Inf"}', "value": 1.2}])
    # Filtered to render: 0.1, 0.5, 1 and 1 per second.
    render = h.heatmap(DURATION, where=(eq("operation", "render"),))
    assert_evaluates(tmp_path, promtool, BUCKETS, query(render), "20m", [
        {"labels": '{le="0.1"}', "value": 0.1}, {"labels": '{le="0.5"}', "value": 0.5},
        {"labels": '{le="1"}', "value": 1}, {"labels": '{le="+Inf"}', "value": 1}])


def test_histogram_samples_a_gauge_or_a_counters_rate(tmp_path: Path, promtool: str) -> None:
    # The queue of render grows by one a minute (20 at 20 minutes), search's stays at 5; summed per operation.
    series = {'kinds_queue_depth{operation="render", instance="a"}': "0+1x30",
              'kinds_queue_depth{operation="search", instance="a"}': "3x30",
              'kinds_queue_depth{operation="search", instance="b"}': "2x30"}
    gauge_panel = h.histogram(QUEUE, by=("operation",))
    assert_evaluates(tmp_path, promtool, series, query(gauge_panel), "20m", [
        {"labels": '{operation="render"}', "value": 20}, {"labels": '{operation="search"}', "value": 5}])
    # A counter's histogram samples its per-second rate: 120 operations a minute is 2/s.
    counter_panel = h.histogram(OPS)
    assert counter_panel.unit == "ops"
    assert_evaluates(tmp_path, promtool, {'kinds_operations_total{operation="render", status="ok"}': "0+120x30"},
                     query(counter_panel), "20m", [{"labels": "{}", "value": 2}])


# Over the 10-minute range: render does 200 operations (190 ok, 10 failed) with 10 errors, search 100 without one.
TRAFFIC = {
    'kinds_operations_total{operation="render", status="ok"}': "0+19x30",
    'kinds_operations_total{operation="render", status="error"}': "0+1x30",
    'kinds_operations_total{operation="search", status="ok"}': "0+10x30",
    'kinds_errors_total{operation="render", error_type="timeout"}': "0+1x30",
}


def test_gauge_of_a_ratio(tmp_path: Path, promtool: str) -> None:
    # 10 errors of 300 operations over the range: 1/30.
    panel = h.gauge(ERRORS, OPS)
    assert_evaluates(tmp_path, promtool, TRAFFIC, query(panel), "20m", [{"labels": "{}", "value": 0.033333}])
    # Before the first error: 0, not nothing; without traffic: nothing, not NaN.
    no_errors = {k: v for k, v in TRAFFIC.items() if "errors" not in k}
    assert_evaluates(tmp_path, promtool, no_errors, query(panel), "20m", [{"labels": "{}", "value": 0}])
    assert_evaluates(tmp_path, promtool, {'kinds_operations_total{operation="search", status="ok"}': "7x30"},
                     query(panel), "20m", [])
    # One counter, its events selected: 1 failed of 10 validations.
    validations = KINDS.metric("validations_total")
    share = h.gauge(validations, validations, part_where=(eq("result", "failed"),))
    assert_evaluates(tmp_path, promtool, {'kinds_validations_total{result="passed"}': "0+9x30",
                                          'kinds_validations_total{result="failed"}': "0+1x30"},
                     query(share), "20m", [{"labels": "{}", "value": 0.1}])


def test_bar_gauge_of_a_ratio_per_label(tmp_path: Path, promtool: str) -> None:
    # render: 10 / 200 = 0.05; search never failed: 0.
    panel = h.bar_gauge(ERRORS, OPS, "operation")
    assert_evaluates(tmp_path, promtool, TRAFFIC, query(panel), "20m", [
        {"labels": '{operation="render"}', "value": 0.05}, {"labels": '{operation="search"}', "value": 0}])


def test_table_of_instant_values(tmp_path: Path, promtool: str) -> None:
    # One row per operation: operations 200 and 100, errors 10 and 0 (search has no error series).
    panel = h.table((OPS, ERRORS), by=("operation",))
    assert all(t.instant and t.format == "table" for t in panel.targets)
    assert_evaluates(tmp_path, promtool, TRAFFIC, query(panel, 0), "20m", [
        {"labels": '{operation="render"}', "value": 200}, {"labels": '{operation="search"}', "value": 100}])
    assert_evaluates(tmp_path, promtool, TRAFFIC, query(panel, 1), "20m", [
        {"labels": '{operation="render"}', "value": 10}, {"labels": '{operation="search"}', "value": 0}])


def test_state_timeline_states(tmp_path: Path, promtool: str) -> None:
    # 100 operations a minute each: a never fails (OK, 0), b fails 2 % (DEGRADED, 1), c 10 % (FAILING, 2);
    # d has no traffic and no band.
    series = {f'kinds_operations_total{{operation="{op}", status="ok"}}': "0+100x30" for op in "abc"}
    series['kinds_operations_total{operation="d", status="ok"}'] = "5x30"
    series['kinds_errors_total{operation="b", error_type="timeout"}'] = "0+2x30"
    series['kinds_errors_total{operation="c", error_type="timeout"}'] = "0+10x30"
    panel = h.state_timeline(ERRORS, OPS, by=("operation",))
    assert_evaluates(tmp_path, promtool, series, query(panel), "20m", [
        {"labels": '{operation="a"}', "value": 0}, {"labels": '{operation="b"}', "value": 1},
        {"labels": '{operation="c"}', "value": 2}])
    assert [m.text for m in panel.mappings] == ["OK", "DEGRADED", "FAILING"]


def test_status_history_counts_per_bucket(tmp_path: Path, promtool: str) -> None:
    # Scraped every 15 s, one error per scrape for render, none for search: a 1-minute bucket holds 4 and 0.
    series = {'kinds_errors_total{operation="render", error_type="timeout"}': "0+1x80",
              'kinds_errors_total{operation="search", error_type="timeout"}': "0+0x80"}
    panel = h.status_history(ERRORS, by=("operation",))
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m", [
        {"labels": '{operation="render"}', "value": 4}, {"labels": '{operation="search"}', "value": 0}],
        interval="15s")


def test_step_and_variable_filters_reach_the_new_helpers() -> None:
    panel = h.bar_gauge(ERRORS, OPS, "operation", where=(variable("operation"),),
                        thresholds=(Step("green"), Step("red", 0.1)))
    assert '{operation=~"$operation"}' in panel.targets[0].expr
    assert [s.value for s in panel.thresholds] == [None, 0.1]


def test_a_time_series_legend_and_tooltip_render_as_grafana_saves_them() -> None:
    from panels import Legend

    style = Graph(legend=Legend(display="table", placement="right", calcs=("mean", "max"), sort_by="Mean",
                                sort_desc=True), tooltip="single")
    spec = spec_of(h.rate_per_second(OPS).evolve(style=style))
    assert findings(spec) == []
    (rendered,) = [p for p in render_dashboard(spec)["panels"] if p["type"] == "timeseries"]
    assert rendered["options"]["legend"] == {"displayMode": "table", "placement": "right", "showLegend": True,
                                             "calcs": ["mean", "max"], "sortBy": "Mean", "sortDesc": True}
    assert rendered["options"]["tooltip"] == {"mode": "single", "sort": "none"}
    unsorted = spec_of(h.rate_per_second(OPS).evolve(style=Graph(tooltip_sort="none")))
    (rendered,) = [p for p in render_dashboard(unsorted)["panels"] if p["type"] == "timeseries"]
    assert rendered["options"]["tooltip"] == {"mode": "multi", "sort": "none"}
    hidden = spec_of(h.rate_per_second(OPS).evolve(style=Graph(legend=Legend(show=False))))
    (rendered,) = [p for p in render_dashboard(hidden)["panels"] if p["type"] == "timeseries"]
    assert rendered["options"]["legend"]["showLegend"] is False
    with pytest.raises(ValueError, match="list of reducer ids"):
        Legend(calcs="mean")


def test_stat_options_default_to_what_the_panel_needs_and_can_be_given() -> None:
    from panels import Stat

    panel = h.rate_per_second(OPS).evolve(kind="stat", style=None)
    (derived,) = [p for p in render_dashboard(spec_of(panel))["panels"] if p["type"] == "stat"]
    assert (derived["options"]["colorMode"], derived["options"]["graphMode"], derived["options"]["textMode"]) == (
        "value", "area", "auto")
    given = panel.evolve(style=Stat(color_mode="background_solid", graph_mode="none", text_mode="name",
                                    orientation="horizontal", calcs=("mean",)))
    assert findings(spec_of(given)) == []
    (rendered,) = [p for p in render_dashboard(spec_of(given))["panels"] if p["type"] == "stat"]
    assert {k: rendered["options"][k] for k in ("colorMode", "graphMode", "textMode", "orientation")} == {
        "colorMode": "background_solid", "graphMode": "none", "textMode": "name", "orientation": "horizontal"}
    assert rendered["options"]["reduceOptions"]["calcs"] == ["mean"]
    with pytest.raises(ValueError, match="color_mode"):
        Stat(color_mode="loud")  # type: ignore[arg-type]
