"""`python build.py import`: what it writes from small dashboards made for one point each, and what it refuses
(one line naming the file, exit 1, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashbuild.import_command import is_convention
from dashbuild.importer.compare import Difference
from dashbuild.importer.compare_values import ABSENT
from dashbuild.importer.convert import import_dashboard, module_name
from dashbuild.importer.convert_panel import PanelContext, convert_panel, rendered
from dashbuild.importer.infer import Inference, InferredMetric
from tests.conftest import BuildRunner, snapshot

DS = {"type": "prometheus", "uid": "${ds}"}


def dashboard(*panels: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Return a modern dashboard with a `ds` Prometheus data source variable and these panels."""
    return {"title": "Checkout", "uid": "checkout-main", "schemaVersion": 39, "panels": list(panels),
            "templating": {"list": [{"name": "ds", "type": "datasource", "query": "prometheus"},
                                    *fields.pop("variables", [])]}, **fields}


def timeseries(title: str, expr: str, **fields: Any) -> dict[str, Any]:
    """Return a time series panel reading `expr`."""
    return {"type": "timeseries", "title": title, "datasource": DS, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
            "targets": [{"expr": expr, "refId": "A", "legendFormat": "{{code}}"}], **fields}


RATE = 'sum by (code) (rate(checkout_requests_total{code=~"5.."}[5m]))'


def write(tmp_path: Path, data: Any, name: str = "checkout.json") -> Path:
    """Write `data` as a JSON file and return its path."""
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- the command ---------------------------------------------------------------------------------------

def test_import_writes_a_module_that_builds(repo_copy: Path, build_cli: BuildRunner, tmp_path: Path) -> None:
    source = write(tmp_path, dashboard(
        timeseries("Errors", RATE, description="5xx responses per second.",
                   options={"legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                                       "calcs": ["mean"]}},
                   fieldConfig={"defaults": {"custom": {"gradientMode": "opacity"}}}),
        {"type": "text", "title": "", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
         "options": {"mode": "markdown", "content": "# Runbook\nSee the wiki."}}))
    result = build_cli(repo_copy, "import", str(source), "--port", "9300")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "wrote dashboards/checkout.py: module 'checkout' (:9300), 2 panel(s) in 1 row(s)"
    assert "  escape hatches: 1 raw option(s) on 1 panel(s), each named in a comment" in lines
    assert "  contract: 1 metric(s) inferred; other exporters: 0 metric(s) in EXTERNAL_METRICS" in lines
    assert "  lint silences added: 1 (reason: the original's own finding)" in lines
    assert "  rebuilds the original: no difference beyond the module conventions" in lines
    text = (repo_copy / "dashboards" / "checkout.py").read_text(encoding="utf-8")
    assert 'name="checkout_requests_total",\n            type="counter",' in text
    assert 'legend=Legend(display="table", placement="right", calcs=("mean",)),' in text
    comments = " ".join(line.strip().removeprefix("# ") for line in text.splitlines() if line.strip().startswith("#"))
    assert ("escape hatches (options the model does not cover, kept as in the original): "
            "fieldConfig.defaults.custom.gradientMode") in comments
    # The original's fixed rate window, silenced on its panel with the finding as the reason.
    assert '"imported as it was: query A: rate() over a fixed window, use $__rate_interval"' in text
    assert 'uid="checkout-main"' in text
    build = build_cli(repo_copy)
    assert build.returncode == 0, build.stderr
    built = json.loads((repo_copy / "provisioning" / "dashboards" / "checkout-main.json").read_text(encoding="utf-8"))
    (panel,) = [p for p in built["panels"] if p["type"] == "timeseries"]
    assert panel["options"]["legend"] == {"displayMode": "table", "placement": "right", "showLegend": True,
                                          "calcs": ["mean"]}
    assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read it"),
    ("{not json", "not a JSON dashboard"),
    ('{"panels": [], "x": NaN}', "not a JSON dashboard: NaN is not a JSON number"),
    ('["a list"]', "not a Grafana dashboard"),
    (json.dumps(dashboard({"type": "news", "title": "Feed"})), "the dashboard has no panel the model can express"),
])
def test_bad_input_is_one_line_and_writes_nothing(content: str | None, message: str, repo_copy: Path,
                                                  build_cli: BuildRunner, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    if content is not None:
        source.write_text(content, encoding="utf-8")
    before = snapshot(repo_copy, ("dashboards",))
    result = build_cli(repo_copy, "import", str(source), "--module", "checkout")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line and "Traceback" not in result.stderr
    assert snapshot(repo_copy, ("dashboards",)) == before


def test_refusals_name_the_clash_and_write_nothing(repo_copy: Path, build_cli: BuildRunner, tmp_path: Path) -> None:
    source = write(tmp_path, dashboard(timeseries("Errors", RATE, description="5xx per second.")))
    before = snapshot(repo_copy, ("dashboards",))
    taken = build_cli(repo_copy, "import", str(source), "--port", "8000")
    assert taken.returncode == 1 and "port 8000 is already used by dashboards/prompt_manager.py" in taken.stderr
    exists = build_cli(repo_copy, "import", str(source), "--module", "prompt_manager")
    assert exists.returncode == 1 and "dashboards/prompt_manager.py: already exists" in exists.stderr
    reserved = build_cli(repo_copy, "import", str(source), "--module", "settings")
    assert reserved.returncode == 1 and "reserved" in reserved.stderr
    assert snapshot(repo_copy, ("dashboards",)) == before
    assert build_cli(repo_copy, "import", str(source)).returncode == 0
    again = build_cli(repo_copy, "import", str(source))
    assert again.returncode == 1 and "give --module NAME for another module, or --overwrite" in again.stderr


def test_our_own_dashboard_imports_back_through_the_helpers(repo_copy: Path, build_cli: BuildRunner,
                                                           tmp_path: Path) -> None:
    """A dashboard this project built (under another uid) comes back as helper calls, not raw queries."""
    ours = json.loads((repo_copy / "provisioning" / "dashboards" / "llm-provider.json").read_text(encoding="utf-8"))
    refused = build_cli(repo_copy, "import", str(write(tmp_path, ours)), "--module", "llm_copy")
    assert refused.returncode == 1
    assert "uid 'llm-provider' is the uid of dashboards/llm_provider.py's dashboard" in refused.stderr
    ours.update(uid="llm-copy", title="LLM copy")
    result = build_cli(repo_copy, "import", str(write(tmp_path, ours)), "--module", "llm_copy")
    assert result.returncode == 0, result.stderr
    assert "  helpers recognised: 9 of 15 panel(s); the rest are explicit queries" in result.stdout.splitlines()
    assert "  escape hatches: 0 raw option(s) on 0 panel(s), each named in a comment" in result.stdout.splitlines()
    assert "  rebuilds the original: no difference beyond the module conventions" in result.stdout.splitlines()
    text = (repo_copy / "dashboards" / "llm_copy.py").read_text(encoding="utf-8")
    assert "h.duration_quantiles(" in text and "h.heatmap(" in text and ").evolve(" in text
    assert build_cli(repo_copy).returncode == 0


def test_a_grafanalib_dashboard_imports(repo_copy: Path, build_cli: BuildRunner, tmp_path: Path) -> None:
    source = tmp_path / "checkout.dashboard.py"
    source.write_text(
        "from grafanalib.core import Dashboard, Graph, Row, SingleStat, Target\n"
        "dashboard = Dashboard(title='Checkout', uid='checkout-gl', rows=[Row(title='Traffic', panels=[\n"
        "    Graph(title='Requests/s', dataSource='Prometheus', targets=[Target(\n"
        "        expr='sum by (code) (rate(checkout_requests_total[5m]))', legendFormat='{{code}}', refId='A')]),\n"
        "    SingleStat(title='Errors', dataSource='Prometheus', targets=[Target(\n"
        "        expr='sum(increase(checkout_errors_total[1h]))', refId='A')]),\n"
        "])]).auto_panel_ids()\n", encoding="utf-8")
    result = build_cli(repo_copy, "import", str(source))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote dashboards/checkout.py: module 'checkout'")
    text = (repo_copy / "dashboards" / "checkout.py").read_text(encoding="utf-8")
    assert 'kind="timeseries"' in text and 'kind="stat"' in text  # graph and singlestat migrated
    assert build_cli(repo_copy).returncode == 0


def test_a_broken_grafanalib_file_is_one_line(repo_copy: Path, build_cli: BuildRunner, tmp_path: Path) -> None:
    source = tmp_path / "broken.dashboard.py"
    source.write_text("raise SystemExit('no')\n", encoding="utf-8")
    result = build_cli(repo_copy, "import", str(source))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {source.as_posix()}")


# -- the stages it chains ------------------------------------------------------------------------------

def test_what_the_model_says_is_modelled_and_the_rest_is_an_escape_hatch() -> None:
    panel = timeseries("Errors", RATE, description="d", fieldConfig={"defaults": {
        "unit": "reqps", "min": 0, "custom": {"fillOpacity": 30, "stacking": {"mode": "normal"}, "lineWidth": 2,
                                              "gradientMode": "opacity"},
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                     {"color": "red", "value": 5}]}},
        "overrides": [{"matcher": {"id": "byName", "options": "500"}, "properties": [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]}]})
    converted = convert_panel(panel, PanelContext({"ds": "datasource"}))
    ours = converted.panel
    assert (ours.unit, ours.min, ours.datasource) == ("reqps", 0, "datasource")
    assert ours.graph.fill_opacity == 30 and ours.graph.stacking == "normal" and ours.graph.line_width == 2
    assert [step.value for step in ours.thresholds] == [None, 5]
    assert ours.overrides[0].pattern == "500"
    assert dict(ours.raw) == {"fieldConfig.defaults.custom.gradientMode": "opacity"}
    assert rendered(ours)["fieldConfig"]["defaults"]["custom"]["gradientMode"] == "opacity"
    assert not [note for note in converted.notes if note.startswith("differs")]


def test_what_the_schema_refuses_is_left_out_with_a_note() -> None:
    panel = timeseries("Errors", RATE, description="d", fieldConfig={"defaults": {}, "overrides": [
        {"matcher": {"id": "byName", "options": "500"}, "properties": [{"id": "custom.hidden", "value": "true"},
                                                                       {"id": "displayName", "value": "Server"}]}]})

    def schema_errors(candidate: Any) -> list[str]:
        from dashbuild.import_command import _panel_schema_errors
        return _panel_schema_errors(candidate)

    converted = convert_panel(panel, PanelContext({"ds": "datasource"}), schema_errors)
    assert converted.panel.overrides[0].properties == (("displayName", "Server"),)
    assert any("not imported: override byName='500' property custom.hidden" in n for n in converted.notes)


def test_queries_keep_their_own_options() -> None:
    panel = timeseries("Errors", RATE, description="d")
    panel["targets"] = [{"expr": RATE, "refId": "B", "interval": "1m", "intervalFactor": 2, "hide": True},
                        {"expr": RATE, "refId": "A", "legendFormat": "__auto", "instant": True, "format": "table"}]
    (first, second) = convert_panel(panel, PanelContext({"ds": "datasource"})).panel.targets
    assert (first.legend, first.auto_legend, first.step, first.interval_factor, first.hide) == ("", False, "1m", 2,
                                                                                                True)
    assert (second.auto_legend, second.instant, second.format) == (True, True, "table")


def test_variables_and_the_datasource_variable_become_ours() -> None:
    imported = import_dashboard(dashboard(timeseries("Errors", 'sum(rate(checkout_requests_total{code=~"$code"}[5m]))',
                                                     description="d"), variables=[
        {"name": "code", "type": "query", "datasource": DS, "query": "label_values(checkout_requests_total, code)",
         "multi": False, "includeAll": False, "current": {"value": "500"}, "sort": 3},
        {"name": "window", "type": "interval", "query": "1m,5m", "auto": True, "auto_count": 50, "auto_min": "1m"},
        {"name": "logs", "type": "datasource", "query": "loki"},
    ]))
    code, window = imported.variables
    assert (code.name, code.datasource, code.multi, code.include_all, code.default, code.sort) == (  # type: ignore[union-attr]
        "code", "datasource", False, False, "500", 3)
    assert (window.auto_count, window.auto_min) == (50, "1m")  # type: ignore[union-attr]
    assert imported.datasource_variable == "ds"
    assert "variable 'logs' is not imported: a loki data source variable: the model's are Prometheus" in imported.notes


def test_module_names_come_from_the_title_metrics_or_the_option() -> None:
    metrics = Inference((InferredMetric("go_goroutines", "gauge", ()), InferredMetric("go_threads", "gauge", ()),
                         InferredMetric("thanos_query_x_total", "counter", ())), (), (), ())
    assert module_name(None, metrics, "Thanos / Query") == "thanos"
    assert module_name(None, metrics, "Overview") == "go"
    assert module_name("mine", metrics, "Thanos / Query") == "mine"
    assert module_name(None, Inference((), (), (), ()), "Prometheus") == "prometheus_server"  # Prometheus' own job
    assert module_name(None, Inference((), (), (), ()), "42") == "imported"


def test_conventions_are_only_the_declared_ones() -> None:
    assert is_convention(Difference("dashboard", "title", "Checkout", "Checkout Dashboard"))
    assert is_convention(Difference("panel 'x'", "datasource", "$ds", "$datasource"), "ds")
    assert not is_convention(Difference("panel 'x'", "datasource", "$other", "$datasource"), "ds")
    assert is_convention(Difference("panel 'x'", "datasource", ABSENT, "$datasource"))  # Grafana's default one
    assert is_convention(Difference("panel 'x'", "queries[0].datasource", "$DS_PROM", "$datasource"), None,
                         ("DS_PROM",))
    assert not is_convention(Difference("dashboard", "uid", "a", "b"))
    assert not is_convention(Difference("panel 'x'", "unit", "s", "ms"))


def test_a_panel_the_model_refuses_is_noted_and_the_rest_imported() -> None:
    empty = timeseries("Being drawn", RATE, description="d")
    empty["targets"] = [{"refId": "A", "expr": ""}]
    imported = import_dashboard(dashboard(empty, timeseries("Errors", RATE, description="5xx per second.")))
    assert [p.panel.title for p in imported.panels] == ["Errors"]
    assert ("panel 'Being drawn' (timeseries) is not imported: query A is not imported: it has no PromQL "
            "expression ({'refId': 'A', 'expr': ''})") in imported.notes


HOSTILE_VALUES: list[Any] = [None, 1, -1, 1.5, "", "x", [], {}, [1], {"a": 1}, True, 1e300, "$__all", "${ds}", [None]]


def _mutated(data: Any, rng: Any) -> None:
    """Replace, delete or descend into one random key or item of `data`."""
    if isinstance(data, dict) and data:
        key = rng.choice(sorted(data))
        roll = rng.random()
        if roll < 0.3:
            data[key] = rng.choice(HOSTILE_VALUES)
        elif roll < 0.45:
            del data[key]
        else:
            _mutated(data[key], rng)
    elif isinstance(data, list) and data:
        index = rng.randrange(len(data))
        if rng.random() < 0.3:
            data[index] = rng.choice(HOSTILE_VALUES)
        else:
            _mutated(data[index], rng)


@pytest.mark.parametrize("seed", range(4))
def test_damaged_real_dashboards_import_or_refuse_cleanly(seed: int) -> None:
    """Real dashboards with keys deleted or given values of the wrong type: imported with notes, or refused
    with a ValueError (the command's one-line error); never another exception."""
    import random

    from dashbuild.import_command import _panel_schema_errors

    rng = random.Random(seed)
    corpus = sorted((Path(__file__).parent / "corpus" / "dashboards").glob("*.json"))
    for _attempt in range(12):
        data = json.loads(rng.choice([p for p in corpus if "victoriametrics" not in p.name]).read_text("utf-8"))
        for _change in range(rng.randint(1, 6)):
            _mutated(data, rng)
        try:
            import_dashboard(data, port=9999, schema_errors=_panel_schema_errors)
        except ValueError as error:
            assert "\n" not in str(error)


def test_the_originals_own_lint_errors_are_silenced_where_they_are(repo_copy: Path, build_cli: BuildRunner,
                                                                    tmp_path: Path) -> None:
    """Repeated titles are silenced on their panels, a variable whose query does not parse on the dashboard: the
    module builds, and each reason is the rule's finding, for a reviewer to fix or keep."""
    broken = {"name": "broken", "type": "query", "datasource": DS, "query": "label_values(checkout_up{, inst)"}
    source = write(tmp_path, dashboard(timeseries("Same", "sum(checkout_up)", description="d"),
                                       timeseries("Same", "max(checkout_up)", description="d"), variables=[broken]))
    result = build_cli(repo_copy, "import", str(source))
    assert result.returncode == 0, result.stderr
    text = (repo_copy / "dashboards" / "checkout.py").read_text(encoding="utf-8")
    assert text.count('"panel-title-unique-rule",') == 1  # on the second panel of that title
    assert '\n    silenced=(\n        (\n            "template-label-promql-rule",' in text  # ModuleDashboard's
    build = build_cli(repo_copy)
    assert build.returncode == 0, build.stderr


def test_a_dashboard_exported_for_sharing_reads_its_input_as_our_data_source(repo_copy: Path, build_cli: BuildRunner,
                                                                             tmp_path: Path) -> None:
    """grafana.com dashboards name their data source by an input (`${DS_PROMETHEUS}`) Grafana asks for."""
    shared = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    panel = timeseries("Errors", RATE, description="5xx per second.", datasource=shared)
    panel["targets"][0]["datasource"] = shared
    logs = {"type": "timeseries", "title": "Log lines", "description": "d",
            "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}, "datasource": {"type": "loki", "uid": "${DS_LOKI}"},
            "targets": [{"refId": "A", "expr": 'sum(count_over_time({app="checkout"}[1m]))'}]}
    data = dashboard(panel, logs, __inputs=[{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"},
                                            {"name": "DS_LOKI", "type": "datasource", "pluginId": "loki"}])
    data["templating"]["list"] = []
    result = build_cli(repo_copy, "import", str(write(tmp_path, data)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "wrote dashboards/checkout.py: module 'checkout' (:9100), 1 panel(s) in 1 row(s)"
    assert "  rebuilds the original: no difference beyond the module conventions" not in lines  # the Loki panel
    assert "  differs from the original in 1 setting(s):" in lines
    text = (repo_copy / "dashboards" / "checkout.py").read_text(encoding="utf-8")
    words = " ".join(text.split())  # the docstring's notes are wrapped
    assert ("panel 'Log lines' (timeseries) is not imported: query A is not imported: it reads a loki data source, "
            "and module dashboards query Prometheus") in words
    assert "is not a data source variable" not in words


def test_repeats_and_variables_that_cannot_be_kept_are_noted() -> None:
    repeated = timeseries("Per $gone", RATE, description="d", repeat="gone")
    row = {"type": "row", "title": "By $lost", "repeat": "lost", "collapsed": False, "panels": [],
           "gridPos": {"x": 0, "y": 8, "w": 24, "h": 1}}
    later = timeseries("Later", RATE, description="d", gridPos={"x": 0, "y": 9, "w": 12, "h": 8})
    code = {"name": "code", "type": "custom", "query": "500,503"}
    imported = import_dashboard(dashboard(repeated, row, later, variables=[
        {"name": "gone", "type": "adhoc-ish"}, code, dict(code, query="404"), {"name": "bad-name", "type": "constant",
                                                                               "query": "x"}]))
    assert imported.rows[0].panels[0].panel.repeat is None
    assert "repeat by $gone is not imported: that variable is not" in imported.rows[0].panels[0].converted.notes
    assert imported.rows[1].repeat is None
    assert "row 'By $lost': repeat by $lost is not imported: that variable is not" in imported.notes
    assert [v.name for v in imported.variables] == ["code"]
    assert any(n.startswith("variable 'code' is not imported: a variable of that name comes first")
               for n in imported.notes)
    assert "variable 'bad-name' is not imported: 'bad-name' is not a variable name Grafana substitutes" in \
        imported.notes
