"""Helper PromQL semantics on the real Prometheus engine: `promtool test rules` with input series.

Each test takes the query a helper emits, substitutes Grafana's variables as Grafana would, and lets
promtool evaluate it against known series. The expected numbers are worked out by hand in comments.
Recording rules are evaluated every SCRAPE_INTERVAL, as prometheus.yml has them; tests of the recorded
path scrape at that interval too (`counter()`), and query between two evaluations, as Grafana's "now" is.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.overview import build_overview
from dashbuild.prometheus import recording_rules_file
from dashbuild.queries import substitute_variables
from moddash.contract import COUNTER, Metric, ModuleContract, ScrapeTarget, standard_metrics
from panels import Panel, Variable, helpers, promql
from panels.settings import SCRAPE_INTERVAL

DEMO = ModuleContract(
    name="demo",
    title="Demo",
    target=ScrapeTarget(port=9999),
    metrics=(
        *standard_metrics("demo"),
        Metric("demo_validations_total", COUNTER, "Validations, by result.", ("result",)),
        Metric("demo_events_total", COUNTER, "Events, by type.", ("event_type",)),
    ),
)
OTHER = ModuleContract(name="other", title="Other", target=ScrapeTarget(port=9998),
                       metrics=standard_metrics("other"))
GRAFANA = {"__rate_interval": "5m", "__range": "10m", "__interval": "1m", "operation": ".*", "busiest": ".*",
           "failing": ".*", "slowest": ".*"}
STEP = promql.seconds(SCRAPE_INTERVAL)  # seconds between two scrapes, and between two rule evaluations


def counter(per_second: float, seconds: float, start: float = 0) -> str:
    """Return promtool input values: a counter from `start` growing `per_second` for `seconds`, every scrape."""
    return f"{start:g}+{per_second * STEP:g}x{round(seconds / STEP)}"


def absent(seconds: float) -> str:
    """Return promtool input values for `seconds` without samples (before a series starts)."""
    return f"_x{round(seconds / STEP)}"


def query(panel: Panel, index: int = 0, **overrides: str) -> str:
    """Return a panel target's PromQL as Grafana would send it."""
    return substitute_variables(panel.targets[index].expr, {**GRAFANA, **overrides})


def promtool_test(tmp_path: Path, promtool: str, series: dict[str, str], expr: str, eval_time: str,
                  samples: list[dict[str, Any]], interval: str = "1m",
                  rules: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one `promql_expr_test` through promtool (with `rules` loaded) and return the finished process."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules or {"groups": []}))
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": SCRAPE_INTERVAL,
        "tests": [{
            "interval": interval,
            "input_series": [{"series": name, "values": values} for name, values in series.items()],
            "promql_expr_test": [{"expr": expr, "eval_time": eval_time, "exp_samples": samples}],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    return subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)


def to_micro(expr: str) -> str:
    """Return `expr` rounded to 1e-6: promtool 2.42 compares floats exactly, and 1/20 is 0.049999…"""
    return f"round(({expr}) * 1e6) / 1e6"


def assert_evaluates(tmp_path: Path, promtool: str, series: dict[str, str], expr: str, eval_time: str,
                     samples: list[dict[str, Any]], interval: str = "1m",
                     rules: dict[str, Any] | None = None) -> None:
    """Assert promtool evaluates `expr` over `series` to `samples` (to six decimals)."""
    result = promtool_test(tmp_path, promtool, series, to_micro(expr), eval_time, samples, interval, rules)
    assert result.returncode == 0, f"{expr}\n{result.stdout}\n{result.stderr}"


# Cumulative buckets growing per minute: 10 requests ≤ 0.1 s, 40 more ≤ 0.5 s, 50 more ≤ 1 s, none above.
HISTOGRAM = {
    'demo_operation_duration_seconds_bucket{operation="render", le="0.1"}': "0+10x20",
    'demo_operation_duration_seconds_bucket{operation="render", le="0.5"}': "0+50x20",
    'demo_operation_duration_seconds_bucket{operation="render", le="1"}': "0+100x20",
    'demo_operation_duration_seconds_bucket{operation="render", le="+Inf"}': "0+100x20",
}


def test_p95_of_known_histogram(tmp_path: Path, promtool: str) -> None:
    # Rank 95 of 100 falls in (0.5, 1] holding ranks 50..100: 0.5 + 0.5 * (95 - 50) / 50 = 0.95.
    panel = helpers.duration_p95(DEMO.metric("operation_duration_seconds"), by=("operation",))
    assert_evaluates(tmp_path, promtool, HISTOGRAM, query(panel), "10m",
                     [{"labels": '{operation="render"}', "value": 0.95}])


def test_p50_and_p99_of_known_histogram(tmp_path: Path, promtool: str) -> None:
    # P50: rank 50 is the top of (0.1, 0.5] -> 0.5. P99: 0.5 + 0.5 * 49 / 50 = 0.99.
    panel = helpers.duration_quantiles(DEMO.metric("operation_duration_seconds"))
    assert [t.legend for t in panel.targets] == ["P50", "P95", "P99"]
    assert_evaluates(tmp_path, promtool, HISTOGRAM, query(panel, 0), "10m", [{"labels": "{}", "value": 0.5}])
    assert_evaluates(tmp_path, promtool, HISTOGRAM, query(panel, 2), "10m", [{"labels": "{}", "value": 0.99}])


def test_cache_hit_ratio(tmp_path: Path, promtool: str) -> None:
    # 3 hits and 1 miss a minute: 3 / (3 + 1) = 0.75 whatever the range.
    panel = helpers.cache_hit_ratio(DEMO.metric("cache_hits_total"), DEMO.metric("cache_misses_total"))
    series = {"demo_cache_hits_total": "0+3x20", "demo_cache_misses_total": "0+1x20"}
    assert_evaluates(tmp_path, promtool, series, query(panel), "20m", [{"labels": "{}", "value": 0.75}])


def test_error_ratio(tmp_path: Path, promtool: str) -> None:
    # 20 operations a minute (two statuses) and 1 error a minute: 1 / 20 = 0.05.
    panel = helpers.error_ratio(DEMO.metric("errors_total"), DEMO.metric("operations_total"))
    series = {
        'demo_operations_total{operation="render", status="ok"}': "0+19x20",
        'demo_operations_total{operation="render", status="error"}': "0+1x20",
        'demo_errors_total{operation="render", error_type="timeout"}': "0+1x20",
    }
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m", [{"labels": "{}", "value": 0.05}])


def test_cost_over_range(tmp_path: Path, promtool: str) -> None:
    # 0.25 USD a minute over a 10-minute dashboard range: 2.5 USD.
    panel = helpers.cost_over_range(DEMO.metric("cost_total"))
    assert_evaluates(tmp_path, promtool, {"demo_cost_total": "0+0.25x30"}, query(panel), "20m",
                     [{"labels": "{}", "value": 2.5}])


def test_cost_rate_is_per_hour(tmp_path: Path, promtool: str) -> None:
    # 0.25 USD a minute is 15 USD an hour.
    panel = helpers.cost_rate(DEMO.metric("cost_total"))
    assert_evaluates(tmp_path, promtool, {"demo_cost_total": "0+0.25x30"}, query(panel), "20m",
                     [{"labels": "{}", "value": 15}])


def test_rate_by_label(tmp_path: Path, promtool: str) -> None:
    # render: 30 ok + 30 error a minute = 1/s; search: 120 a minute = 2/s; status is summed away.
    panel = helpers.rate_per_second(DEMO.metric("operations_total"), by=("operation",))
    series = {
        'demo_operations_total{operation="render", status="ok"}': "0+30x20",
        'demo_operations_total{operation="render", status="error"}': "0+30x20",
        'demo_operations_total{operation="search", status="ok"}': "0+120x20",
    }
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m", [
        {"labels": '{operation="render"}', "value": 1},
        {"labels": '{operation="search"}', "value": 2},
    ])


def test_rate_honours_variable_filter(tmp_path: Path, promtool: str) -> None:
    # With $operation = "search", only the search series remains.
    panel = helpers.rate_per_second(DEMO.metric("operations_total"), by=("operation",),
                                    where=(promql.variable("operation"),))
    series = {
        'demo_operations_total{operation="render", status="ok"}': "0+30x20",
        'demo_operations_total{operation="search", status="ok"}': "0+120x20",
    }
    assert_evaluates(tmp_path, promtool, series, query(panel, operation="search"), "10m",
                     [{"labels": '{operation="search"}', "value": 2}])


def test_success_ratio(tmp_path: Path, promtool: str) -> None:
    # 9 passed and 1 failed a minute: 0.9.
    panel = helpers.success_ratio(DEMO.metric("validations_total"), promql.eq("result", "passed"))
    series = {'demo_validations_total{result="passed"}': "0+9x20", 'demo_validations_total{result="failed"}': "0+1x20"}
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m", [{"labels": "{}", "value": 0.9}])


def test_count_over_range_and_distribution(tmp_path: Path, promtool: str) -> None:
    # Over the 10-minute range: 2 a minute -> 20 events; 1 a minute -> 10.
    series = {'demo_events_total{event_type="block"}': "0+2x20", 'demo_events_total{event_type="warn"}': "0+1x20"}
    count = helpers.count_over_range(DEMO.metric("events_total"))
    assert_evaluates(tmp_path, promtool, series, query(count), "10m", [{"labels": "{}", "value": 30}])
    pie = helpers.distribution(DEMO.metric("events_total"), "event_type")
    assert_evaluates(tmp_path, promtool, series, query(pie), "10m", [
        {"labels": '{event_type="block"}', "value": 20},
        {"labels": '{event_type="warn"}', "value": 10},
    ])


def test_event_timeline_counts_per_bucket(tmp_path: Path, promtool: str) -> None:
    # Scraped every 15 s, 1 event per scrape: a 1-minute bucket holds 4 events.
    panel = helpers.event_timeline(DEMO.metric("events_total"), by=("event_type",))
    series = {'demo_events_total{event_type="block"}': "0+1x80"}
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m",
                     [{"labels": '{event_type="block"}', "value": 4}], interval="15s")


def test_token_usage_by_type(tmp_path: Path, promtool: str) -> None:
    # 600 prompt and 300 completion tokens a minute: 10/s and 5/s.
    panel = helpers.token_usage(DEMO.metric("tokens_total"))
    series = {'demo_tokens_total{type="prompt"}': "0+600x20", 'demo_tokens_total{type="completion"}': "0+300x20"}
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m", [
        {"labels": '{type="completion"}', "value": 5},
        {"labels": '{type="prompt"}', "value": 10},
    ])


def test_health_is_share_of_targets_up(tmp_path: Path, promtool: str) -> None:
    # One of two targets up: 0.5, which the panel's range mapping shows as DEGRADED.
    panel = helpers.health("demo")
    series = {'up{job="demo", instance="a:1"}': "1x20", 'up{job="demo", instance="b:1"}': "0x20",
              'up{job="other", instance="c:1"}': "1x20"}
    assert_evaluates(tmp_path, promtool, series, query(panel), "10m", [{"labels": "{}", "value": 0.5}])
    degraded = next(m for m in panel.mappings if m.text == "DEGRADED")
    assert degraded.low is not None and degraded.high is not None and degraded.low < 0.5 < degraded.high


# Two modules scraped every SCRAPE_INTERVAL with their `module` label for 20 minutes; "other" is down
# and has no traffic yet. demo: 0.95 + 0.05 operations a second, 0.05 errors a second, 0.01 USD a second;
# other: 0.005 USD a second.
MODULE_SERIES = {
    'demo_operations_total{module="demo", operation="render", status="ok"}': counter(0.95, 1200),
    'demo_operations_total{module="demo", operation="render", status="error"}': counter(0.05, 1200),
    'demo_errors_total{module="demo", operation="render", error_type="timeout"}': counter(0.05, 1200),
    'demo_cost_total{module="demo"}': counter(0.01, 1200),
    'other_cost_total{module="other"}': counter(0.005, 1200),
    'up{job="demo", module="demo", instance="a:1"}': f"1x{round(1200 / STEP)}",
    'up{job="other", module="other", instance="b:1"}': f"0x{round(1200 / STEP)}",
}
RECORDING = recording_rules_file([DEMO, OTHER])
# Between two rule evaluations, as Grafana's "now" is: the 10-minute range then holds 10 minutes of
# evaluations. (Exactly on one, Prometheus 2's closed range would hold one more, 0.8 % of 10 minutes.)
NOW = "20m2s"


def overview_panel(title: str) -> Panel:
    """Return the overview's cross-module panel with this title."""
    spec = build_overview([])
    return next(p for row in spec.rows for p in row.panels if p.title == title)


def test_overview_total_operations_from_recording_rules(tmp_path: Path, promtool: str) -> None:
    # 1 operation a second for the 10-minute range: 600, whatever the number of modules.
    panel = overview_panel("Total operations")
    assert_evaluates(tmp_path, promtool, MODULE_SERIES, query(panel), NOW, [{"labels": "{}", "value": 600}],
                     rules=RECORDING, interval=SCRAPE_INTERVAL)


def test_overview_cost_by_module(tmp_path: Path, promtool: str) -> None:
    # 0.01 and 0.005 USD a second over 10 minutes: 6 and 3 USD.
    panel = overview_panel("Cost by module")
    assert_evaluates(tmp_path, promtool, MODULE_SERIES, query(panel), NOW, [
        {"labels": '{module="demo"}', "value": 6},
        {"labels": '{module="other"}', "value": 3},
    ], rules=RECORDING, interval=SCRAPE_INTERVAL)


def test_overview_error_ratio_health_and_rate(tmp_path: Path, promtool: str) -> None:
    # demo: 0.05 errors in 1 operation a second = 0.05, 1 operation a second; other: down.
    assert_evaluates(tmp_path, promtool, MODULE_SERIES, query(overview_panel("Error rate (worst 5 modules)")), NOW,
                     [{"labels": '{module="demo"}', "value": 0.05}],
                     rules=RECORDING, interval=SCRAPE_INTERVAL)
    operations = overview_panel("Operations/s (all, busiest 5)")
    assert_evaluates(tmp_path, promtool, MODULE_SERIES, query(operations, 0), NOW,
                     [{"labels": "{}", "value": 1}], rules=RECORDING, interval=SCRAPE_INTERVAL)
    assert_evaluates(tmp_path, promtool, MODULE_SERIES, query(operations, 1), NOW,
                     [{"labels": '{module="demo"}', "value": 1}], rules=RECORDING, interval=SCRAPE_INTERVAL)
    assert_evaluates(tmp_path, promtool, MODULE_SERIES, query(overview_panel("Module health")), NOW, [
        {"labels": '{module="demo"}', "value": 1},
        {"labels": '{module="other"}', "value": 0},
    ], rules=RECORDING, interval=SCRAPE_INTERVAL)


def test_error_ratio_is_zero_for_a_module_without_errors(tmp_path: Path, promtool: str) -> None:
    series = {'other_operations_total{module="other", operation="x", status="ok"}': counter(1, 1200)}
    assert_evaluates(tmp_path, promtool, series, "module:error_ratio:rate1m", NOW,
                     [{"labels": '{module="other"}', "value": 0}],
                     rules=RECORDING, interval=SCRAPE_INTERVAL)


def test_harness_rejects_a_wrong_expectation(tmp_path: Path, promtool: str) -> None:
    """The harness is not vacuous: a wrong expected value makes promtool fail."""
    panel = helpers.cache_hit_ratio(DEMO.metric("cache_hits_total"), DEMO.metric("cache_misses_total"))
    series = {"demo_cache_hits_total": "0+3x20", "demo_cache_misses_total": "0+1x20"}
    result = promtool_test(tmp_path, promtool, series, to_micro(query(panel)), "20m",
                           [{"labels": "{}", "value": 0.7}])
    assert result.returncode != 0
    assert "got: {} 7.5E-01" in result.stdout + result.stderr


@pytest.mark.parametrize("value", ['a"b', "back\\slash", "new\nline"])
def test_escaped_label_values_match_exactly(tmp_path: Path, promtool: str, value: str) -> None:
    """A label value with quotes, backslashes or newlines selects exactly that series."""
    expr = promql.sum_by(promql.rate(promql.selector("demo_cost_total", (promql.eq("provider", value),)), "5m"))
    series_value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    series = {f'demo_cost_total{{provider="{series_value}"}}': "0+60x20", 'demo_cost_total{provider="x"}': "0+6x20"}
    assert_evaluates(tmp_path, promtool, series, expr, "10m", [{"labels": "{}", "value": 1}])


def test_overview_shows_the_busiest_five_of_six_modules(tmp_path: Path, promtool: str) -> None:
    # Six modules doing 1..6 operations a second: the hidden variable picks m2..m6, the panel shows those
    # five, and the total is 21.
    contracts = [ModuleContract(f"m{i}", f"M{i}", ScrapeTarget(9100 + i), standard_metrics(f"m{i}"))
                 for i in range(1, 7)]
    series = {f'm{i}_operations_total{{module="m{i}", operation="x", status="ok"}}': counter(i, 1200)
              for i in range(1, 7)}
    rules = recording_rules_file(contracts)
    (variable,) = [v for v in build_overview([]).variables if v.name == "busiest"]
    assert isinstance(variable, Variable)
    chooses = variable.query.removeprefix("query_result(").removesuffix(")").replace("${__range}", "10m")
    assert_evaluates(tmp_path, promtool, series, f"count({chooses})", NOW, [{"labels": "{}", "value": 5}],
                     rules=rules, interval=SCRAPE_INTERVAL)
    assert_evaluates(tmp_path, promtool, series, f"min({chooses})", NOW, [{"labels": "{}", "value": 2}],
                     rules=rules, interval=SCRAPE_INTERVAL)
    panel = overview_panel("Operations/s (all, busiest 5)")
    assert_evaluates(tmp_path, promtool, series, query(panel, 0), NOW, [{"labels": "{}", "value": 21}], rules=rules,
                     interval=SCRAPE_INTERVAL)
    assert_evaluates(tmp_path, promtool, series, query(panel, 1, busiest="(m2|m3|m4|m5|m6)"), NOW,
                     [{"labels": f'{{module="m{i}"}}', "value": i} for i in range(2, 7)], rules=rules,
                     interval=SCRAPE_INTERVAL)
