"""Each lint rule on a clean dashboard (no finding) and on a dashboard with exactly its mistake."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from dashbuild.compiled import CompiledDashboard
from dashbuild.lint import RULES, LintContext, Rule, lint, lint_dashboard
from dashbuild.render import render_dashboard
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import Annotation, DashboardSpec, Link, Row
from panels import helpers as h
from panels.promql import variable
from tests.conftest import REPO, BuildRunner

DEMO = ModuleContract("demo", "Demo", ScrapeTarget(9000), standard_metrics("demo"),
                      label_values={"operation": ("render", "search")})
OPS = DEMO.metric("operations_total")
SPEC = DashboardSpec(
    uid="demo", title="Demo", description="d",
    variables=(h.label_variable(OPS, "operation"),),
    links=(Link("Demo", "demo"),),
    annotations=(Annotation("Errors", "sum(increase(demo_errors_total[1m])) > 0", title_format="errors"),),
    rows=(Row("r", (
        h.rate_per_second(OPS, by=("operation",), where=(variable("operation"),), title="Ops"),
        h.duration_p95(DEMO.metric("operation_duration_seconds"), by=("operation",)),
        h.cost_over_range(DEMO.metric("cost_total")),
    )),),
)
CLEAN = render_dashboard(SPEC)
CONTEXT = LintContext(uids=frozenset({"demo"}))
Mutation = Callable[[dict[str, Any]], None]


def compiled(data: dict[str, Any], spec: DashboardSpec = SPEC,
             contract: ModuleContract | None = DEMO) -> CompiledDashboard:
    """Return a compiled dashboard of `data`, knowing the demo contract's series."""
    return CompiledDashboard(spec=spec, json=data, source="dashboards/demo.py",
                             known_series=DEMO.series_names() | {"module:operations:rate1m"}, contract=contract)


def rule(name: str) -> Rule:
    """Return the rule called `name`."""
    return next(r for r in RULES if r.name == name)


def panel(data: dict[str, Any], title: str) -> dict[str, Any]:
    """Return the panel with this title."""
    found: dict[str, Any] = next(p for p in data["panels"] if p.get("title") == title)
    return found


def set_expr(title: str, expr: str) -> Mutation:
    """Return a mutation replacing the first query of a panel."""
    return lambda data: panel(data, title)["targets"][0].update(expr=expr)


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "template-datasource-rule": (lambda d: d["templating"]["list"][0].update(name="ds"), "expected 'datasource'"),
    "template-on-time-change-reload-rule": (lambda d: d["templating"]["list"][1].update(refresh=1),
                                            "has refresh 1, expected 2"),
    "template-label-promql-rule": (lambda d: d["templating"]["list"][1].update(query="label_values(up{, job)"),
                                   "does not parse"),
    "uneditable-dashboard": (lambda d: d.update(editable=True), "editable is not false"),
    "dashboard-links-rule": (lambda d: d["links"][0].update(url="/d/gone"), "/d/gone"),
    "panel-datasource-rule": (lambda d: panel(d, "Ops").update(datasource={"type": "prometheus", "uid": "abc"}),
                              "'abc' is not the datasource variable"),
    "panel-title-description-rule": (lambda d: panel(d, "Ops").update(description=""), "no description"),
    "panel-units-rule": (lambda d: panel(d, "Ops")["fieldConfig"]["defaults"].update(unit="furlongs"),
                         "'furlongs' is not one of Grafana's unit ids"),
    "panel-no-targets-rule": (lambda d: panel(d, "Ops").update(targets=[]), "no targets"),
    "panel-title-unique-rule": (lambda d: panel(d, "Duration P95").update(title="Ops"), "used twice"),
    "panel-grid-rule": (lambda d: panel(d, "Ops")["gridPos"].update(x=20), "past the 24-column grid"),
    "panel-thresholds-rule": (lambda d: panel(d, "Duration P95")["fieldConfig"]["defaults"]["thresholds"]
                              .update(steps=[{"color": "green", "value": None}, {"color": "red", "value": 5},
                                             {"color": "yellow", "value": 1}]), "do not strictly ascend"),
    "target-promql-rule": (set_expr("Ops", "sum(rate(demo_operations_total[$__rate_interval])"), "does not parse"),
    "target-rate-interval-rule": (set_expr("Ops", "sum(rate(demo_operations_total[5m]))"), "fixed window"),
    "target-counter-agg-rule": (set_expr("Ops", "sum(demo_operations_total)"), "not under rate()/increase()"),
    "target-metric-declared-rule": (set_expr("Ops", "sum(rate(demo_operationz_total[$__rate_interval]))"),
                                    "demo_operationz_total, which no module contract declares"),
    "metric-naming-rule": (set_expr("Ops", "max(demo_latency_milliseconds)"), "base units"),
    "histogram-quantile-le-rule": (set_expr("Duration P95", "histogram_quantile(0.95, sum by (operation) "
                                            "(rate(demo_operation_duration_seconds_bucket[$__rate_interval])))"),
                                   "drops the le label"),
    "target-legend-rule": (lambda d: panel(d, "Ops")["targets"][0].update(legendFormat="ops"),
                           "split by operation but every series is labelled 'ops'"),
    "annotation-promql-rule": (lambda d: d["annotations"]["list"][1].update(expr="sum(demo_deploys_total) > 0"),
                               "annotation 'Errors' selects demo_deploys_total, which no module contract declares"),
}


# Rules about a module's contract: the contract with exactly that mistake, and what the finding says.
CONTRACT_MUTATIONS: dict[str, tuple[ModuleContract, str]] = {
    "contract-label-values-rule": (attrs.evolve(DEMO, label_values={}),
                                   "label 'operation' (demo_operations_total, demo_operation_duration_seconds, "
                                   "demo_errors_total) has no declared values"),
}


def test_every_rule_has_a_mutation_test() -> None:
    assert set(MUTATIONS) | set(CONTRACT_MUTATIONS) == {r.name for r in RULES}
    assert len({r.name for r in RULES}) == len(RULES)
    assert all(r.description and r.severity in ("error", "warning") for r in RULES)


def test_clean_dashboard_has_no_finding() -> None:
    assert lint_dashboard(compiled(CLEAN), CONTEXT) == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_rule_reports_its_mistake_and_only_that_rule_does(name: str) -> None:
    mutate, message = MUTATIONS[name]
    data = copy.deepcopy(CLEAN)
    mutate(data)
    findings = lint_dashboard(compiled(data), CONTEXT, [rule(name)])
    assert findings, f"{name} found nothing"
    assert any(message in f.message for f in findings), [f.message for f in findings]
    assert all(f.rule == name and f.file == "dashboards/demo.py" for f in findings)


@pytest.mark.parametrize("name", sorted(CONTRACT_MUTATIONS))
def test_contract_rule_reports_its_mistake_and_only_that_rule_does(name: str) -> None:
    contract, message = CONTRACT_MUTATIONS[name]
    findings = lint_dashboard(compiled(CLEAN, contract=contract), CONTEXT)
    assert [(f.rule, f.severity, f.file, f.panel) for f in findings] == [(name, rule(name).severity,
                                                                         "dashboards/demo.py", None)]
    assert message in findings[0].message


def test_labels_the_instrumentation_fills_itself_need_no_declared_values() -> None:
    llm = ModuleContract("llm", "LLM", ScrapeTarget(9001), standard_metrics("llm", extra_labels={
        "tokens_total": ("provider",)}), label_values={"operation": ("a",)})
    (finding,) = lint_dashboard(compiled(CLEAN, contract=llm), CONTEXT, [rule("contract-label-values-rule")])
    # status, type and error_type are filled by the instrumentation itself; provider is not.
    assert "label 'provider' (llm_tokens_total)" in finding.message
    assert lint_dashboard(compiled(CLEAN, contract=None), CONTEXT, [rule("contract-label-values-rule")]) == []


@pytest.mark.parametrize("module", ["a0_ms", "kb", "sms_hours", "billing_percent"])
def test_unit_words_in_a_module_name_are_not_units(module: str) -> None:
    """Module names are their owners' words: `a0_ms_operations_total` uses base units; its own `_ms` would not."""
    contract = ModuleContract(module, "M", ScrapeTarget(9000), standard_metrics(module))
    spec = DashboardSpec(uid=module.replace("_", "-"), title="M", description="d", rows=(Row("r", (
        h.rate_per_second(contract.metric("operations_total"), title="Ops"),)),))

    def naming_findings(data: dict[str, Any]) -> list[str]:
        d = CompiledDashboard(spec=spec, json=data, source=f"dashboards/{module}.py", contract=contract,
                              known_series=contract.series_names(), module_names=frozenset({module}))
        return [f.message for f in lint_dashboard(d, CONTEXT, [rule("metric-naming-rule")])]

    data = render_dashboard(spec)
    assert naming_findings(data) == []
    set_expr("Ops", f"sum(rate({module}_latency_ms[$__rate_interval]))")(data)
    (finding,) = naming_findings(data)
    assert "does not use base units" in finding


@pytest.mark.parametrize("change", [{"legendFormat": ""}, {"legendFormat": "ops", "format": "table"}])
def test_legend_rule_accepts_full_series_names_and_tables(change: dict[str, str]) -> None:
    """No legend shows each series' labels, and a table shows them as columns: neither hides the split."""
    data = copy.deepcopy(CLEAN)
    set_expr("Ops", "sum by (operation) (rate(demo_operations_total[$__rate_interval]))")(data)
    panel(data, "Ops")["targets"][0].update(change)
    assert lint_dashboard(compiled(data), CONTEXT, [rule("target-legend-rule")]) == []


def test_rate_interval_rule_also_flags_it_outside_rate() -> None:
    data = copy.deepcopy(CLEAN)
    set_expr("Ops", "sum(increase(demo_operations_total[$__rate_interval]))")(data)
    (finding,) = lint_dashboard(compiled(data), CONTEXT, [rule("target-rate-interval-rule")])
    assert "$__rate_interval outside rate()/irate()" in finding.message


def test_histogram_rule_accepts_without_that_keeps_le_and_flags_non_bucket() -> None:
    data = copy.deepcopy(CLEAN)
    set_expr("Duration P95", "histogram_quantile(0.9, sum without (operation) "
                             "(rate(demo_operation_duration_seconds_bucket[$__rate_interval])))")(data)
    assert lint_dashboard(compiled(data), CONTEXT, [rule("histogram-quantile-le-rule")]) == []
    set_expr("Duration P95", "histogram_quantile(0.9, rate(demo_operation_duration_seconds_count"
                             "[$__rate_interval]))")(data)
    (finding,) = lint_dashboard(compiled(data), CONTEXT, [rule("histogram-quantile-le-rule")])
    assert "not a _bucket series" in finding.message


def test_silence_applies_to_its_panel_and_rule_only() -> None:
    silenced_spec = DashboardSpec(uid="demo", title="Demo", description="d", rows=(Row("r", (
        h.cost_over_range(DEMO.metric("cost_total")).silence("panel-units-rule", "currency shown in the title"),
        h.cost_rate(DEMO.metric("cost_total")),
    )),))
    data = render_dashboard(silenced_spec)
    for title in ("Cost (time range)", "Cost per hour"):
        panel(data, title)["fieldConfig"]["defaults"]["unit"] = "furlongs"
    findings = lint_dashboard(compiled(data, silenced_spec), CONTEXT, [rule("panel-units-rule")])
    assert [f.panel for f in findings] == ["Cost per hour"]


def test_a_dashboard_silence_covers_findings_about_the_whole_dashboard_only() -> None:
    data = copy.deepcopy(CLEAN)
    data["templating"]["list"][1]["query"] = "label_values(demo_operations_total{, operation)"
    assert [f.rule for f in lint_dashboard(compiled(data), CONTEXT)] == ["template-label-promql-rule"]
    quiet = attrs.evolve(SPEC, silenced=(("template-label-promql-rule", "imported as it was, to be fixed"),))
    assert lint_dashboard(compiled(data, spec=quiet), CONTEXT) == []
    unknown = attrs.evolve(SPEC, silenced=(("no-such-rule", "a reason long enough"),))
    assert [f.message for f in lint_dashboard(compiled(CLEAN, spec=unknown), CONTEXT)] == [
        "silences unknown rule 'no-such-rule' (rules: python build.py lint --rules)"]


def test_unknown_silence_is_an_error() -> None:
    spec = DashboardSpec(uid="demo", title="Demo", description="d", rows=(Row("r", (
        h.cost_over_range(DEMO.metric("cost_total")).silence("panel-unit-rule", "typo in the rule name here"),
    )),))
    findings = lint([compiled(render_dashboard(spec), spec)])
    assert [(f.rule, f.severity) for f in findings] == [("lint-silence", "error")]


def test_silence_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a written reason"):
        h.health("x").silence("panel-units-rule", "ok")


def test_lint_command(build_cli: BuildRunner) -> None:
    result = build_cli(REPO, "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"4 dashboards linted with {len(RULES)} rules: 0 error(s), 0 warning(s)")
    listing = build_cli(REPO, "lint", "--rules")
    assert [line.split()[0] for line in listing.stdout.splitlines()] == [r.name for r in RULES]


def test_warnings_are_printed_and_do_not_fail_the_build(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "legendless.py").write_text(
        "from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics\n"
        "from panels import ModuleDashboard, Panel, Row, Target\n"
        "CONTRACT = ModuleContract('legendless', 'Legendless', ScrapeTarget(8077), standard_metrics('legendless'))\n"
        "DASHBOARD = ModuleDashboard(rows=(Row('r', (Panel('timeseries', 'Ops', 'Operations.', 'ops', (Target("
        "'sum by (operation) (rate(legendless_operations_total[$__rate_interval]))', 'ops'),)),)),))\n")
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert ('warning: dashboards/legendless.py: panel "Ops": [target-legend-rule] legendless.json: query A is split '
            "by operation but every series is labelled 'ops'") in result.stderr.splitlines()
    assert (repo_copy / "provisioning" / "dashboards" / "legendless.json").is_file()


def test_grid_rule_names_the_panels_that_overlap() -> None:
    data = copy.deepcopy(CLEAN)
    panel(data, "Cost (time range)")["gridPos"].update(x=2, y=3)
    messages = [f.message for f in lint_dashboard(compiled(data), CONTEXT, [rule("panel-grid-rule")])]
    assert messages == ["panel overlaps Duration P95, Ops"]
