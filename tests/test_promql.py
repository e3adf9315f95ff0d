"""PromQL builders: escaping and refusal of invalid names, checked by parsing the result."""

from __future__ import annotations

import promql_parser
import pytest

from moddash.contract import HISTOGRAM, Metric
from panels import helpers, promql


def matchers_of(expr: str) -> dict[str, str]:
    """Return label -> value of the first vector selector of a parsed expression."""
    found: dict[str, str] = {}

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and not found:
            found.update({m.name: m.value for m in node.matchers.matchers})

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


@pytest.mark.parametrize("value", ['say "hi"', "C:\\temp\\x", "two\nlines", "ünïcode", "} or vector(1) {"])
def test_label_values_round_trip_through_the_parser(value: str) -> None:
    expr = promql.selector("m_total", (promql.eq("provider", value),))
    assert matchers_of(expr) == {"provider": value}


@pytest.mark.parametrize("value", ["$0", "cost-${env}", "[[tenant]]"])
def test_literal_values_refuse_grafana_variable_syntax(value: str) -> None:
    with pytest.raises(ValueError, match=r"use promql.variable\(\)"):
        promql.eq("tenant", value)
    assert promql.eq("price", "$ 5").render() == 'price="$ 5"'


def test_invalid_names_are_refused() -> None:
    with pytest.raises(ValueError):
        promql.eq("bad-label", "x")
    with pytest.raises(ValueError):
        promql.selector("bad metric", ())
    with pytest.raises(ValueError):
        promql.sum_by("x", ("ok", "not ok"))
    with pytest.raises(ValueError):
        promql.variable("label", "not a var")


def test_histogram_quantile_keeps_le_and_checks_bucket() -> None:
    expr = promql.histogram_quantile(0.95, "x_seconds_bucket", by=("operation", "le"))
    assert "sum by (le, operation)" in expr
    with pytest.raises(ValueError):
        promql.histogram_quantile(0.95, "x_seconds")
    with pytest.raises(ValueError):
        promql.histogram_quantile(1.5, "x_seconds_bucket")


def test_helpers_refuse_wrong_metric_types_and_labels() -> None:
    histogram = Metric("m_duration_seconds", HISTOGRAM, "Duration.", ("operation",))
    counter = Metric("m_ops_total", "counter", "Ops.", ("operation",))
    with pytest.raises(ValueError, match="needs a counter"):
        helpers.rate_per_second(histogram)
    with pytest.raises(ValueError, match="needs a histogram"):
        helpers.duration_p95(counter)
    with pytest.raises(ValueError, match="no label 'status'"):
        helpers.rate_per_second(counter, by=("status",))
    with pytest.raises(ValueError, match="no label 'tenant'"):
        helpers.rate_per_second(counter, where=(promql.eq("tenant", "a"),))


def test_every_helper_sets_unit_description_and_parseable_query() -> None:
    counter = Metric("m_ops_total", "counter", "Ops.", ("operation", "type"))
    histogram = Metric("m_duration_seconds", HISTOGRAM, "Duration.", ("operation",))
    panels = [
        helpers.rate_per_second(counter, by=("operation",)),
        helpers.duration_quantiles(histogram),
        helpers.error_ratio(counter, counter),
        helpers.success_ratio(counter, promql.eq("type", "ok")),
        helpers.cache_hit_ratio(counter, counter),
        helpers.token_usage(counter),
        helpers.cost_over_range(counter),
        helpers.cost_rate(counter),
        helpers.count_over_range(counter),
        helpers.distribution(counter, "operation"),
        helpers.event_timeline(counter),
        helpers.health("job"),
    ]
    for panel in panels:
        assert panel.unit and panel.description and panel.title
        for target in panel.targets:
            expr = target.expr.replace("$__rate_interval", "1m").replace("$__range", "1h").replace("$__interval", "1m")
            promql_parser.parse(expr)
