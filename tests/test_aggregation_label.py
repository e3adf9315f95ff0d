"""Rules per cluster for a store holding many clusters (RuleStore(aggregation_label="cluster")): the rewrite keeps
every expression's structure, and on the real engine (`promtool test rules`) each cluster's recordings and alerts
read only its own series, including the fallbacks that keep a module without traffic at 0."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from dashbuild.aggregation_label import NotPerCluster, groups_per_label, per_label
from dashbuild.errors import BuildFailed
from dashbuild.pipeline import compile_checked
from dashbuild.rule_namespaces import rule_namespace_files
from panels.environment import RuleStore
from tests.conftest import REPO


@pytest.mark.parametrize(("expr", "expected"), [
    ("sum(x)", "sum by (cluster)(x)"),
    ("sum by (job) (x)", "sum by (job, cluster)(x)"),
    ("sum by (cluster, job) (x)", "sum by (cluster, job)(x)"),
    ("sum without (cluster, instance) (x)", "sum without (instance)(x)"),
    ("topk(3, x)", "topk by (cluster)(3, x)"),
    ('count_values("v", x)', 'count_values by (cluster)("v", x)'),
    ("histogram_quantile(0.95, sum by (le) (rate(x[5m])))",
     "histogram_quantile(0.95, sum by (le, cluster)(rate(x[5m])))"),
    ("a and on () b", "a and on (cluster) b"),
    ("a / on (job) group_left (team) b", "a / on (job, cluster) group_left (team) b"),
    ("a * on (job) group_right (cluster) b", "a * on (job) group_right (cluster) b"),
    ("a unless ignoring (cluster, le) b", "a unless ignoring (le) b"),
    ("a > bool on () b", "a > bool on (cluster) b"),
    ("a + b", "a + b"),
    ("sum(a) or vector(0)", "sum by (cluster)(a) or ((0 * group by (cluster)(up)) + (0))"),
    ("a - (b - c) * d ^ e ^ f", "a - (b - c) * d ^ e ^ f"),
    ("(a or b) and c", "(a or b) and c"),
    ("-sum(x) > 1", "(-sum by (cluster)(x)) > 1"),
    ("max_over_time(sum(x)[5m:1m] offset 1m)", "max_over_time(sum by (cluster)(x)[5m:1m] offset 1m)"),
])
def test_each_aggregation_and_match_keeps_the_label(expr: str, expected: str) -> None:
    assert per_label(expr, "cluster") == expected
    assert per_label(expected, "cluster") == expected  # applying it twice changes nothing


@pytest.mark.parametrize("literal", [r'"q\"b\\c\n"', r"'it\'s'", "`a.+`", '"dashbuildliteral0"', '"a{}  b"'])
def test_string_literals_come_back_exactly_as_written(literal: str) -> None:
    expr = f'sum(x{{a={literal}}}) > on () label_replace(y, "d", {literal}, "s", ".*")'
    rewritten = per_label(expr, "cluster")
    assert rewritten.count(literal) == 2
    promql_parser.parse(rewritten)


def test_expressions_without_aggregations_keep_their_structure() -> None:
    for expr in ["a - b - c", "a ^ b ^ c", "(a ^ b) ^ c", "a or b unless c and d", "a / (b * c) % 3 atan2 d",
                 "rate(x[5m] @ 100 offset 1m)", "x != NaN", "a > b == bool c", "(-a) ^ 2"]:
        rewritten = per_label(expr, "cluster")
        assert str(promql_parser.parse(rewritten)) == str(promql_parser.parse(expr)), expr


@pytest.mark.parametrize("expr", ["x > scalar(sum(x))", "absent(x)", "absent_over_time(x[5m])"])
def test_what_cannot_be_kept_apart_per_cluster_is_refused_naming_the_rule(expr: str) -> None:
    groups = [{"name": "g", "rules": [{"alert": "Quiet", "expr": expr}]}]
    with pytest.raises(NotPerCluster, match=r"^group g, rule Quiet: \w+\(\) gives one result for every cluster"):
        groups_per_label(groups, "cluster")


@pytest.fixture(scope="module")
def per_cluster_rules() -> list[dict[str, Any]]:
    """Return every rule group of the repository's modules as a Mimir store with `cluster` writes them."""
    modules, _dashboards = compile_checked(REPO)
    store = RuleStore("mimir", aggregation_label="cluster", prometheus_job="prometheus")
    files = rule_namespace_files([m.contract for m in modules], store, "mimir")
    return [group for content in files.values() for group in yaml.safe_load(content)["groups"]]


def test_every_generated_rule_is_rewritten_and_promtool_takes_them(per_cluster_rules: list[dict[str, Any]],
                                                                   promtool: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": per_cluster_rules}), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for group in per_cluster_rules:
        for rule in group["rules"]:
            for node, _parents in _walk(promql_parser.parse(rule["expr"])):
                if isinstance(node, promql_parser.AggregateExpr):
                    modifier = node.modifier
                    assert modifier is not None, rule["expr"]
                    assert modifier.type == promql_parser.AggModifierType.Without or "cluster" in modifier.labels, \
                        rule["expr"]


def _walk(node: Any) -> list[tuple[Any, None]]:
    found: list[tuple[Any, None]] = []
    promql_parser.walk(node, lambda visited: found.append((visited, None)))
    return found


# -- on the real engine ------------------------------------------------------------------------------------------

MODULES = {"llm-provider": "llm_provider", "prompt-manager": "prompt_manager", "prompt-security": "prompt_security"}


def raw(metric: str, module: str, cluster: str, **labels: str) -> str:
    """Return a promtool series name of one module's metric in one cluster."""
    pairs = {"job": module, "module": module, "cluster": cluster, "instance": f"{module}:8000", **labels}
    return MODULES[module] + "_" + metric + "{" + ", ".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def up(module: str, cluster: str) -> str:
    """Return the `up` series of one module's target in one cluster."""
    return f'up{{job="{module}", module="{module}", cluster="{cluster}", instance="{module}:8000"}}'


def counter(per_second: float, minutes: int = 40) -> str:
    """Return promtool values 15 s apart for a counter growing `per_second` from 0."""
    return f"0+{per_second * 15!r}x{minutes * 4}"


def run(tmp_path: Path, promtool: str, groups: list[dict[str, Any]], series: dict[str, str],
        checks: list[dict[str, Any]]) -> None:
    """Assert every check holds in one promtool run of `groups` over `series`."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "15s",
            "tests": [{"interval": "15s",
                       "input_series": [{"series": name, "values": values} for name, values in series.items()],
                       "promql_expr_test": checks}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def check(expr: str, at: str, *samples: tuple[dict[str, str], float]) -> dict[str, Any]:
    """Return a promql_expr_test: `expr` at `at` gives exactly `samples`, rounded to 1e-6."""
    return {"expr": f"round(({expr}) * 1e6) / 1e6", "eval_time": at,
            "exp_samples": [{"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}",
                             "value": value} for labels, value in samples]}


def firing(alert: str, at: str, *labels: dict[str, str]) -> dict[str, Any]:
    """Return a check that exactly these `alert` instances are firing at `at`."""
    return {"expr": f'ALERTS{{alertname="{alert}", alertstate="firing"}}', "eval_time": at,
            "exp_samples": [{"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in {
                "__name__": "ALERTS", "alertname": alert, "alertstate": "firing", **extra}.items()) + "}",
                "value": 1} for extra in labels]}


def test_each_cluster_totals_its_own_modules_and_a_module_it_lacks_counts_zero(
        per_cluster_rules: list[dict[str, Any]], promtool: str, tmp_path: Path) -> None:
    # Cluster a runs all three modules, b only the prompt manager: b's total is its own, not lost for want of the
    # other two (a label-less `vector(0)` fallback would drop it) and not a's.
    series = {raw("operations_total", "llm-provider", "a"): counter(1),
              raw("operations_total", "prompt-manager", "a"): counter(2),
              raw("operations_total", "prompt-security", "a"): counter(3),
              raw("operations_total", "prompt-manager", "b"): counter(10),
              **{up(module, "a"): "1x160" for module in MODULES}, up("prompt-manager", "b"): "1x160"}
    run(tmp_path, promtool, per_cluster_rules, series, [
        check("all:operations:rate1m", "5m", ({"cluster": "a"}, 6), ({"cluster": "b"}, 10)),
        check('module:operations:rate1m{module="prompt-manager"}', "5m",
              ({"cluster": "a", "module": "prompt-manager"}, 2), ({"cluster": "b", "module": "prompt-manager"}, 10)),
        check('module:slo_objective:ratio{module="prompt-manager", slo="availability"}', "5m",
              ({"cluster": "a", "module": "prompt-manager", "slo": "availability"}, 0.995),
              ({"cluster": "b", "module": "prompt-manager", "slo": "availability"}, 0.995)),
    ])


def test_a_failing_cluster_alerts_on_its_own_though_the_other_dilutes_the_sum(
        per_cluster_rules: list[dict[str, Any]], promtool: str, tmp_path: Path) -> None:
    # Half of a's operations fail; b serves 100 times as much without errors. Summed over both, the error ratio
    # (0.5 %) is below the 5 % threshold and the SLO would burn slowly; per cluster, a pages and b stays quiet.
    series = {raw("operations_total", "prompt-manager", "a"): counter(1),
              raw("errors_total", "prompt-manager", "a"): counter(0.5),
              raw("operations_total", "prompt-manager", "b"): counter(100),
              up("prompt-manager", "a"): "1x160", up("prompt-manager", "b"): "1x160"}
    a = {"cluster": "a", "module": "prompt-manager"}
    run(tmp_path, promtool, per_cluster_rules, series, [
        firing("PromptManagerHighErrorRatio", "20m", {**a, "severity": "warning"}),
        check('module:error_ratio:rate1m{module="prompt-manager"}', "20m", (a, 0.5),
              ({"cluster": "b", "module": "prompt-manager"}, 0)),
        # 100 times the budget's rate: the page and, after its longer windows, the ticket; for a only.
        firing("PromptManagerErrorBudgetBurn", "20m", {**a, "severity": "critical", "slo": "availability"},
               {**a, "severity": "warning", "slo": "availability"}),
    ])


def test_a_cluster_whose_module_exposes_nothing_is_named_though_another_cluster_exposes_everything(
        per_cluster_rules: list[dict[str, Any]], promtool: str, tmp_path: Path) -> None:
    series = {raw("operations_total", "prompt-manager", "a"): counter(1),
              up("prompt-manager", "a"): "1x160", up("prompt-manager", "b"): "1x160"}
    run(tmp_path, promtool, per_cluster_rules, series, [
        firing("PromptManagerMetricsAbsent", "10m", {"cluster": "b", "instance": "prompt-manager:8000",
                                                     "job": "prompt-manager", "module": "prompt-manager",
                                                     "severity": "warning"}),
    ])


def test_a_store_refuses_rules_it_cannot_keep_apart_naming_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    modules, _dashboards = compile_checked(REPO)

    def quiet(contracts: Any, runbooks: str, prometheus_job: str | None) -> dict[str, list[dict[str, Any]]]:
        return {"recording": [{"name": "g", "rules": [{"record": "x:y", "expr": "scalar(sum(x))"}]}]}

    monkeypatch.setattr("dashbuild.rule_namespaces.rule_groups", quiet)
    with pytest.raises(BuildFailed) as failure:
        rule_namespace_files([m.contract for m in modules], RuleStore("mimir", aggregation_label="cluster"), "m")
    assert str(failure.value.errors[0]).startswith("m/modules-recording.yml: group g, rule x:y: scalar() gives")


def test_a_cluster_without_a_modules_targets_pages_for_that_cluster_only(
        per_cluster_rules: list[dict[str, Any]], promtool: str, tmp_path: Path) -> None:
    # Cluster b runs only the LLM provider: the prompt manager has no target there, and does in a.
    series = {up("prompt-manager", "a"): "1x160", up("llm-provider", "b"): "1x160"}
    run(tmp_path, promtool, per_cluster_rules, series, [
        firing("PromptManagerNoTarget", "10m", {"cluster": "b", "module": "prompt-manager", "severity": "critical"}),
        firing("LlmProviderNoTarget", "10m", {"cluster": "a", "module": "llm-provider", "severity": "critical"}),
    ])
