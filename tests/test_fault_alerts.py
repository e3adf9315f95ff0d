"""Alerts for the faults monitoring exists for, each shown firing and staying silent on the real rule engine.

The rules are the generated files (`prometheus/rules/*.alerts.yml`), evaluated by `promtool test rules` on
input series; the expected numbers and annotations are derived by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.test_prometheus_rules import run_alert_test

RULES = REPO / "prometheus" / "rules"
MODULE_ALERTS = RULES / "prompt-manager.alerts.yml"
MONITORING_ALERTS = RULES / "monitoring.alerts.yml"
JOB = 'job="prompt-manager", module="prompt-manager", instance="host:8000"'
UP = f"up{{{JOB}}}"


def fires(tmp_path: Path, promtool: str, rules: Path, series: dict[str, str], eval_time: str, alertname: str,
          expected: list[dict[str, Any]], interval: str = "1m") -> None:
    """Assert that at `eval_time` exactly `expected` alerts named `alertname` fire from the `rules` file."""
    run_alert_test(tmp_path, promtool, series, eval_time, alertname, expected, rules, interval)


def labels(severity: str, **extra: str) -> dict[str, str]:
    """Return the labels a prompt-manager alert carries."""
    return {"severity": severity, "module": "prompt-manager", **extra}


TARGET = {"job": "prompt-manager", "instance": "host:8000"}


def test_down_fires_when_the_target_is_gone(tmp_path: Path, promtool: str) -> None:
    expected = [{"exp_labels": labels("critical", **TARGET)}]
    fires(tmp_path, promtool, MODULE_ALERTS, {UP: "1x10 0x20"}, "20m", "PromptManagerDown",
          [{**expected[0], "exp_annotations": down_annotations("0%")}])
    fires(tmp_path, promtool, MODULE_ALERTS, {UP: "1x10 0x20"}, "11m", "PromptManagerDown", [])


def down_annotations(share: str) -> dict[str, str]:
    """Return the Down alert's annotations for a share of successful scrapes."""
    return {
        "summary": "Prompt Manager is down",
        "description": f"Prometheus could scrape Prompt Manager (host:8000) only {share} of the time over the last "
                       "5m: the service is down, unreachable or flapping.",
        "runbook_url": "RUNBOOKS.md#moduledown",
    }


def test_down_fires_on_a_target_flapping_every_scrape(tmp_path: Path, promtool: str) -> None:
    # 0/1 on alternate 15 s scrapes for an hour: never down for a minute, unreachable half the time. The
    # 5m window at 30m holds 21 samples (both ends included in Prometheus 2.x), 11 of them 1: 52.38 %.
    flapping = " ".join(["1 0"] * 120)
    fires(tmp_path, promtool, MODULE_ALERTS, {UP: flapping}, "30m", "PromptManagerDown",
          [{"exp_labels": labels("critical", **TARGET), "exp_annotations": down_annotations("52.38%")}],
          interval="15s")


def test_down_stays_silent_on_a_single_failed_scrape(tmp_path: Path, promtool: str) -> None:
    blip = " ".join(["1"] * 40 + ["0"] + ["1"] * 40)
    fires(tmp_path, promtool, MODULE_ALERTS, {UP: blip}, "12m", "PromptManagerDown", [], interval="15s")


def test_metrics_absent_fires_when_the_target_is_up_but_exposes_nothing(tmp_path: Path, promtool: str) -> None:
    expected = [{"exp_labels": labels("warning", **TARGET), "exp_annotations": {
        "summary": "Prompt Manager is up but exposes none of its metrics",
        "description": "Prompt Manager (host:8000) answers scrapes but exposes none of the metrics its contract "
                       "declares: renamed metrics, or a deploy without the instrumentation.",
        "runbook_url": "RUNBOOKS.md#modulemetricsabsent",
    }}]
    renamed = {UP: "1x20", f"prompt_manager_ops_total{{{JOB}}}": "0+5x20"}
    fires(tmp_path, promtool, MODULE_ALERTS, renamed, "10m", "PromptManagerMetricsAbsent", expected)
    fires(tmp_path, promtool, MODULE_ALERTS, renamed, "4m", "PromptManagerMetricsAbsent", [])  # its `for`


@pytest.mark.parametrize("present", ["prompt_manager_cost_total", "prompt_manager_operation_duration_seconds_count"])
def test_metrics_absent_silent_while_any_declared_series_is_there(tmp_path: Path, promtool: str,
                                                                  present: str) -> None:
    fires(tmp_path, promtool, MODULE_ALERTS, {UP: "1x20", f"{present}{{{JOB}}}": "0x20"}, "10m",
          "PromptManagerMetricsAbsent", [])


def test_metrics_absent_names_the_one_replica_without_instrumentation(tmp_path: Path, promtool: str) -> None:
    other = 'job="prompt-manager", module="prompt-manager", instance="host:8001"'
    series = {UP: "1x20", f"up{{{other}}}": "1x20", f"prompt_manager_operations_total{{{other}}}": "0+5x20"}
    fires(tmp_path, promtool, MODULE_ALERTS, series, "10m", "PromptManagerMetricsAbsent",
          [{"exp_labels": labels("warning", **TARGET), "exp_annotations": {
              "summary": "Prompt Manager is up but exposes none of its metrics",
              "description": "Prompt Manager (host:8000) answers scrapes but exposes none of the metrics its "
                             "contract declares: renamed metrics, or a deploy without the instrumentation.",
              "runbook_url": "RUNBOOKS.md#modulemetricsabsent"}}])


def test_metrics_absent_silent_while_the_target_is_down(tmp_path: Path, promtool: str) -> None:
    fires(tmp_path, promtool, MODULE_ALERTS, {UP: "0x20"}, "10m", "PromptManagerMetricsAbsent", [])


@pytest.mark.parametrize("bad", ["NaN", "Inf", "-Inf"])
def test_non_finite_counter_fires(tmp_path: Path, promtool: str, bad: str) -> None:
    series = {f"prompt_manager_cost_total{{{JOB}}}": f"0 1 2 {bad} {bad} {bad}"}
    expected = [{"exp_labels": labels("warning", job="prompt-manager"), "exp_annotations": {
        "summary": "Prompt Manager exposes a NaN or infinite counter",
        "description": "A counter of Prompt Manager is NaN or infinite: every rate, total and alert built on it is "
                       "blind until the service restarts.",
        "runbook_url": "RUNBOOKS.md#modulenonfinitecounter",
    }}]
    fires(tmp_path, promtool, MODULE_ALERTS, series, "4m", "PromptManagerNonFiniteCounter", expected)


def test_non_finite_counter_silent_on_finite_counters_and_resets(tmp_path: Path, promtool: str) -> None:
    series = {f"prompt_manager_cost_total{{{JOB}}}": "0 1 2 0 1 2",
              f'prompt_manager_operations_total{{{JOB}, operation="render", status="success"}}': "0+10x5"}
    fires(tmp_path, promtool, MODULE_ALERTS, series, "4m", "PromptManagerNonFiniteCounter", [])


def test_error_ratio_needs_a_minimum_of_traffic(tmp_path: Path, promtool: str) -> None:
    # One request a minute, one in four failing: 25 % of 5 requests in 5 minutes, below the 20 the 5 %
    # objective needs (1 / 0.05): no alert. At 100 a minute with 10 failing it fires (see the other file).
    series = {
        'prompt_manager_operations_total{operation="render", status="success"}': "0+1x60",
        'prompt_manager_errors_total{operation="render", error_type="Timeout"}': "0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 4"
                                                                                 " 4 4 4 5 5 5 5 6 6 6 6 7 7 7 7",
    }
    fires(tmp_path, promtool, MODULE_ALERTS, series, "25m", "PromptManagerHighErrorRatio", [])


def test_latency_needs_a_minimum_of_observations(tmp_path: Path, promtool: str) -> None:
    # One slow operation a minute: 5 in the window, fewer than the 20 a P95 needs.
    base = 'prompt_manager_operation_duration_seconds_{}{{operation="render"{}}}'
    series = {base.format("bucket", ', le="1"'): "0x30", base.format("bucket", ', le="2"'): "0+1x30",
              base.format("bucket", ', le="+Inf"'): "0+1x30", base.format("count", ""): "0+1x30"}
    fires(tmp_path, promtool, MODULE_ALERTS, series, "25m", "PromptManagerHighLatencyP95", [])


def test_watchdog_always_fires(tmp_path: Path, promtool: str) -> None:
    expected = [{"exp_labels": {"severity": "none"}, "exp_annotations": {
        "summary": "Always firing: proves the alerting pipeline works end to end",
        "description": "A dead man's switch: if this alert stops arriving at its receiver, Prometheus, Alertmanager "
                       "or the way between them is broken.",
        "runbook_url": "RUNBOOKS.md#watchdog",
    }}]
    fires(tmp_path, promtool, MONITORING_ALERTS, {}, "1m", "Watchdog", expected)


SELF = 'job="prometheus", instance="localhost:9090"'


def test_rule_evaluation_failures_fire_and_stay_silent(tmp_path: Path, promtool: str) -> None:
    failing = {f'prometheus_rule_evaluation_failures_total{{{SELF}, rule_group="modules-recording"}}': "0+1x20"}
    expected = [{"exp_labels": {"severity": "critical", "job": "prometheus", "instance": "localhost:9090",
                                "rule_group": "modules-recording"},
                 "exp_annotations": {
                     "summary": "Prometheus fails to evaluate rules",
                     "description": "5 evaluations of rule group modules-recording failed over the last 5m: recorded "
                                    "series and alerts of that group are missing.",
                     "runbook_url": "RUNBOOKS.md#prometheusruleevaluationfailures"}}]
    fires(tmp_path, promtool, MONITORING_ALERTS, failing, "15m", "PrometheusRuleEvaluationFailures", expected)
    healthy = {name: "0x20" for name in failing}
    fires(tmp_path, promtool, MONITORING_ALERTS, healthy, "15m", "PrometheusRuleEvaluationFailures", [])


def test_config_reload_failure_fires_and_stays_silent(tmp_path: Path, promtool: str) -> None:
    name = f"prometheus_config_last_reload_successful{{{SELF}}}"
    expected = [{"exp_labels": {"severity": "warning", "job": "prometheus", "instance": "localhost:9090"},
                 "exp_annotations": {
                     "summary": "Prometheus could not load its new configuration",
                     "description": "The last configuration reload failed: Prometheus still runs the previous scrape "
                                    "jobs and rules.",
                     "runbook_url": "RUNBOOKS.md#prometheusconfigreloadfailed"}}]
    fires(tmp_path, promtool, MONITORING_ALERTS, {name: "1x5 0x10"}, "12m", "PrometheusConfigReloadFailed", expected)
    fires(tmp_path, promtool, MONITORING_ALERTS, {name: "1x15"}, "12m", "PrometheusConfigReloadFailed", [])


def test_notifications_failing_fires_when_no_alertmanager_is_found(tmp_path: Path, promtool: str) -> None:
    series = {f"prometheus_notifications_alertmanagers_discovered{{{SELF}}}": "0x20",
              f"prometheus_notifications_errors_total{{{SELF}, alertmanager=\"x\"}}": "0x20"}
    result = [{"exp_labels": {"severity": "critical", "job": "prometheus", "instance": "localhost:9090"},
               "exp_annotations": {
                   "summary": "Prometheus cannot send alerts to Alertmanager",
                   "description": "Alerts are evaluated but not delivered: no Alertmanager is reachable, or sending "
                                  "fails.",
                   "runbook_url": "RUNBOOKS.md#prometheusnotificationsfailing"}}]
    fires(tmp_path, promtool, MONITORING_ALERTS, series, "15m", "PrometheusNotificationsFailing", result)
    healthy = {f"prometheus_notifications_alertmanagers_discovered{{{SELF}}}": "1x20"}
    fires(tmp_path, promtool, MONITORING_ALERTS, healthy, "15m", "PrometheusNotificationsFailing", [])


def alert_rules() -> list[dict[str, Any]]:
    """Return every generated alerting rule."""
    return [rule for path in sorted(RULES.glob("*.yml")) for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]


def test_every_alert_says_what_to_do() -> None:
    anchors = {re.sub(r"[^a-z0-9-]", "", line[3:].strip().lower().replace(" ", "-"))
               for line in (REPO / "RUNBOOKS.md").read_text().splitlines() if line.startswith("## ")}
    rules = alert_rules()
    assert len(rules) >= 4 * 3 + 4
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "none"}, rule["alert"]
        document, _, anchor = annotations["runbook_url"].partition("#")
        assert document.endswith("RUNBOOKS.md") and anchor in anchors, rule["alert"]


@pytest.mark.parametrize("series", [
    f'prompt_manager_instrumentation_errors_total{{{JOB}, kind="invalid_value"}}',
    f'prompt_manager_label_overflow_total{{{JOB}, metric="prompt_manager_operations_total", label="operation"}}',
])
def test_instrumentation_dropping_fires_when_records_are_dropped_or_folded(tmp_path: Path, promtool: str,
                                                                           series: str) -> None:
    expected = [{"exp_labels": labels("warning"), "exp_annotations": {
        "summary": "Prompt Manager drops or folds metrics its contract refuses",
        "description": "Over the last 5m, Prompt Manager's instrumentation dropped records that break its contract "
                       "(NaN, negative or undeclared) or folded label values beyond the cap into `other`: its "
                       "panels undercount.",
        "runbook_url": "RUNBOOKS.md#moduleinstrumentationdropping",
    }}]
    fires(tmp_path, promtool, MODULE_ALERTS, {series: "0 0 0 1 1 1 1 1"}, "5m", "PromptManagerInstrumentationDropping",
          expected)
    fires(tmp_path, promtool, MODULE_ALERTS, {series: "0x20"}, "15m", "PromptManagerInstrumentationDropping", [])
