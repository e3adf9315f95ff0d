"""Dashboards for a store holding many clusters (KubernetesSettings(cluster_label=...)): a cluster variable and
every query filtered by it, proven by parsing, by Grafana's schema, and on the real engine (promtool)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from dashbuild.cluster_filter import NotFiltered, filtered, per_cluster
from dashbuild.kubernetes import dashboard_json_of, dashboard_object
from dashbuild.queries import parse, stand_in_variables, substitute_variables, walk
from dashbuild.schema import validate_dashboard
from panels.environment import KubernetesSettings
from tests.conftest import REPO
from tests.test_promql_semantics import assert_evaluates

M = 'cluster=~"$cluster"'


@pytest.mark.parametrize(("expr", "expected"), [
    ("x", f"x{{{M}}}"),
    ('x{a="b"}', f'x{{a="b", {M}}}'),
    ("x{}", f"x{{{M}}}"),
    ('{__name__=~"a|b"}', f'{{__name__=~"a|b", {M}}}'),
    ('x{cluster="eu-1"}', 'x{cluster="eu-1"}'),
    ("sum by (module, le) (rate(x_bucket[$__rate_interval]))",
     f"sum by (module, le) (rate(x_bucket{{{M}}}[$__rate_interval]))"),
    ("sum(x) without (instance)", f"sum(x{{{M}}}) without (instance)"),
    ("a / on (job) group_left (team) b", f"a{{{M}}} / on (job) group_left (team) b{{{M}}}"),
    ("a > bool 3 and on () b offset 5m", f"a{{{M}}} > bool 3 and on () b{{{M}}} offset 5m"),
    ('label_replace(x, "dst", "$1 {by} or", "src", "(.*)")', f'label_replace(x{{{M}}}, "dst", "$1 {{by}} or", '
                                                             '"src", "(.*)")'),
    ("max_over_time(sum(x)[1h:5m] @ end())", f"max_over_time(sum(x{{{M}}})[1h:5m] @ end())"),
    ('x{a="$module"} * 1e3 > Inf', f'x{{a="$module", {M}}} * 1e3 > Inf'),
    ("time() - x # seconds since", f"time() - x{{{M}}} # seconds since"),
])
def test_every_selector_and_only_selectors_get_the_matcher(expr: str, expected: str) -> None:
    assert filtered(expr, "cluster") == expected
    assert filtered(expected, "cluster") == expected  # applying it twice changes nothing


@pytest.mark.parametrize("expr", ["x{", "rate(x[5m)", 'x{a="unterminated}'])
def test_what_cannot_be_filtered_with_certainty_is_refused(expr: str) -> None:
    with pytest.raises(NotFiltered):
        filtered(expr, "cluster")


def compiled() -> list[dict[str, Any]]:
    """Return the repository's generated dashboards."""
    return [json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((REPO / "provisioning" / "dashboards").glob("*.json"))]


def selectors(expr: str) -> list[Any]:
    """Return the vector selectors of a panel query (Grafana variables stood in)."""
    return [node for node, _ in walk(parse(stand_in_variables(expr))) if isinstance(node, promql_parser.VectorSelector)]


def targets(dashboard: dict[str, Any]) -> list[str]:
    """Return every panel query of a dashboard, collapsed rows included."""
    found: list[str] = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found.extend(t["expr"] for t in inner.get("targets", []) if "expr" in t)
    return found


def test_every_generated_dashboard_is_filtered_query_for_query_and_stays_schema_valid() -> None:
    for dashboard in compiled():
        result = per_cluster(dashboard, "cluster")
        assert validate_dashboard(result) == [], dashboard["title"]
        before, after = targets(dashboard), targets(result)
        assert len(before) == len(after) > 0
        for original, changed in zip(before, after, strict=True):
            assert len(selectors(original)) == len(selectors(changed))
            assert all(any(m.name == "cluster" for m in s.matchers.matchers) for s in selectors(changed))
        names = [v["name"] for v in result["templating"]["list"]]
        assert names[:2] == ["datasource", "cluster"]
        assert {k: v for k, v in result.items() if k not in ("panels", "templating")} == \
            {k: v for k, v in dashboard.items() if k not in ("panels", "templating")}


def test_variable_queries_read_the_chosen_clusters() -> None:
    overview = next(d for d in compiled() if d["uid"] == "modules-overview")
    queries = {v["name"]: v["query"] for v in per_cluster(overview, "cluster")["templating"]["list"]}
    assert queries["cluster"] == "label_values(up, cluster)"
    assert queries["busiest"] == ('query_result(topk(5, avg_over_time(module:operations:rate1m{cluster=~"$cluster"}'
                                  '[${__range}])))')
    provider = next(d for d in compiled() if d["uid"] == "llm-provider")
    (variable,) = [v for v in per_cluster(provider, "cluster")["templating"]["list"] if v["name"] == "provider"]
    assert variable["query"] == 'label_values(llm_provider_requests_total{cluster=~"$cluster"}, provider)'


def test_the_operator_and_sidecar_objects_carry_the_filtered_dashboards() -> None:
    from dashbuild.pipeline import compile_checked

    _modules, dashboards = compile_checked(REPO)
    for grafana in ("sidecar", "operator"):
        settings = KubernetesSettings(grafana=grafana, cluster_label="cluster")
        for dashboard in dashboards:
            carried = dashboard_json_of(dashboard_object(dashboard, settings))
            assert carried == per_cluster(dashboard.json, "cluster")


def test_a_dashboard_with_its_own_cluster_variable_is_refused_by_name() -> None:
    dashboard = compiled()[0]
    clashing = {**dashboard, "templating": {"list": [*dashboard["templating"]["list"], {"name": "cluster",
                                                                                          "type": "custom"}]}}
    with pytest.raises(NotFiltered, match="already has a variable named 'cluster'"):
        per_cluster(clashing, "cluster")


def test_a_panel_whose_query_cannot_be_filtered_is_named() -> None:
    dashboard = compiled()[0]
    broken = {**dashboard, "panels": [{"title": "Broken", "type": "timeseries", "targets": [{"expr": "x{"}]}]}
    with pytest.raises(NotFiltered, match=f"^{dashboard['title']}: panel 'Broken': "):
        per_cluster(broken, "cluster")


def test_choosing_a_cluster_shows_exactly_its_series_and_all_shows_every_one(tmp_path: Path, promtool: str) -> None:
    module = next(d for d in compiled() if d["uid"] == "prompt-manager")
    (expr,) = [t["expr"] for p in module["panels"] if p.get("title") == "Operations/s"
               for t in p.get("targets", [])][:1]
    query = per_cluster({**module, "panels": [{"title": "Operations/s", "targets": [{"expr": expr}]}]},
                        "cluster")["panels"][0]["targets"][0]["expr"]
    series = {'prompt_manager_operations_total{cluster="a", operation="render", status="ok"}': "0+60x20",
              'prompt_manager_operations_total{cluster="b", operation="render", status="ok"}': "0+600x20"}
    for chosen, per_second in ((r"a", 1.0), (r".*", 11.0)):
        concrete = substitute_variables(query, {"cluster": chosen, "__rate_interval": "5m", "operation": ".*",
                                                "__interval": "1m"})
        assert_evaluates(tmp_path, promtool, series, f"sum({concrete})", "15m", [{"labels": "{}",
                                                                                   "value": per_second}])
