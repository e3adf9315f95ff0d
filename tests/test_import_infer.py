"""The contract an imported dashboard's queries imply: families, types, labels, and what was guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashbuild.compiled import flatten
from dashbuild.importer.infer import InferredMetric, Query, infer
from dashbuild.importer.migrate import migrate


def metrics(*exprs: str, variables: tuple[str, ...] = ()) -> dict[str, InferredMetric]:
    """Return the inferred metrics of some queries, by name."""
    return {m.name: m for m in infer([Query(e) for e in exprs], variables).metrics}


def test_counters_are_named_total_and_keep_matched_and_grouped_labels() -> None:
    found = metrics('sum by (code) (rate(http_requests_total{handler="/api", job="web"}[$__rate_interval]))')
    assert found == {"http_requests_total": InferredMetric("http_requests_total", "counter", ("code", "handler"))}


def test_a_histogram_is_one_family_from_its_bucket_sum_and_count() -> None:
    found = metrics(
        "histogram_quantile(0.99, sum by (le, route) (rate(api_latency_seconds_bucket[5m])))",
        "sum(rate(api_latency_seconds_sum[5m])) / sum(rate(api_latency_seconds_count[5m]))")
    assert found == {"api_latency_seconds": InferredMetric("api_latency_seconds", "histogram", ("route",))}


def test_gauges_and_indirect_evidence_carry_notes() -> None:
    found = metrics("avg(node_load1)", "rate(process_cpu_seconds[5m])", "rpc_duration_seconds_count")
    assert found["node_load1"] == InferredMetric("node_load1", "gauge", ())
    assert found["process_cpu_seconds"].kind == "gauge"
    assert "not named *_total" in found["process_cpu_seconds"].notes[0]
    assert "summary or a histogram without buckets" in found["rpc_duration_seconds_count"].notes[0]


def test_a_bucket_without_quantile_is_a_histogram_with_a_note() -> None:
    (found,) = metrics("sum(rate(queue_wait_seconds_bucket[5m]))").values()
    assert found.kind == "histogram" and "no histogram_quantile()" in found.notes[0]


def test_labels_from_legends_and_label_values_variables() -> None:
    found = infer([Query("sum by (pod) (rate(cpu_seconds_total[5m]))", "{{pod}} on {{node}}")],
                  ["label_values(cpu_seconds_total{cluster=\"$cluster\"}, namespace)"]).metrics
    assert found == (InferredMetric("cpu_seconds_total", "counter", ("cluster", "namespace", "node", "pod")),)


def test_labels_of_a_query_over_several_metrics_are_a_guess() -> None:
    found = metrics("sum by (queue) (rate(jobs_done_total[5m])) / sum by (queue) (rate(jobs_started_total[5m]))")
    assert found["jobs_done_total"].labels == ("queue",)
    assert "check they belong to this one" in found["jobs_done_total"].notes[0]


def test_target_labels_le_recorded_and_builtin_series_are_not_contract_metrics() -> None:
    result = infer([Query('up{job="api", instance=~"$instance"}'), Query("namespace:cpu:rate5m"),
                    Query("sum by (le) (rate(x_seconds_bucket[5m]))")])
    assert result.builtin == ("up",) and result.recorded == ("namespace:cpu:rate5m",)
    assert [(m.name, m.labels) for m in result.metrics] == [("x_seconds", ())]


def test_grafana_and_dashboard_variables_parse_where_they_stand() -> None:
    result = infer([Query("increase(jobs_total{queue=~\"$queue\"}[$__range] offset $shift)"),
                    Query("rate(jobs_total[$window:$__interval])"), Query("sum(rate(jobs_total[5m])")])
    assert [m.name for m in result.metrics] == ["jobs_total"]
    assert result.unparsed == ("sum(rate(jobs_total[5m])",)


def test_the_module_prefix_is_the_most_common_first_word() -> None:
    result = infer([Query("node_load1"), Query("rate(node_cpu_seconds_total[5m])"), Query("process_open_fds")])
    assert result.prefix() == "node"
    assert infer([]).prefix() is None


CORPUS = sorted((Path(__file__).parent / "corpus" / "dashboards").glob("*.json"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_corpus_query_parses_and_every_metric_gets_a_type(path: Path) -> None:
    dashboard = migrate(json.loads(path.read_text()))
    queries = [Query(t.expr, t.legend) for p in flatten(dashboard) for t in p.targets if t.expr]
    variables = [v.get("query") if isinstance(v.get("query"), str) else (v.get("query") or {}).get("query", "")
                 for v in dashboard.get("templating", {}).get("list", [])]
    result = infer(queries, [str(v) for v in variables])
    assert queries and result.unparsed == ()
    assert result.metrics and all(m.kind in ("counter", "histogram", "gauge") for m in result.metrics)
    assert all(not m.name.endswith("_bucket") for m in result.metrics)
