"""The generated Prometheus config and rules: promtool-valid, and each alert fires exactly when it should."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

RULES = REPO / "prometheus" / "rules"
ALERTS = RULES / "prompt-manager.alerts.yml"
LABELS = {"module": "prompt-manager"}


def test_config_passes_promtool_check_config(promtool: str) -> None:
    result = subprocess.run([promtool, "check", "config", "prometheus/prometheus.yml"], cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(list(RULES.glob('*.yml')))} rule files found" in result.stdout + result.stderr


def test_rules_pass_promtool_check_rules(promtool: str) -> None:
    files = sorted(str(p.relative_to(REPO)) for p in RULES.glob("*.yml"))
    result = subprocess.run([promtool, "check", "rules", *files], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


def run_alert_test(tmp_path: Path, promtool: str, series: dict[str, str], eval_time: str, alertname: str,
                   expected: list[dict[str, Any]], rules: Path = ALERTS, interval: str = "1m") -> None:
    """Assert that at `eval_time` exactly `expected` alerts named `alertname` fire from the `rules` file."""
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": interval,
        "tests": [{
            "interval": interval,
            "input_series": [{"series": name, "values": values} for name, values in series.items()],
            "alert_rule_test": [{"eval_time": eval_time, "alertname": alertname, "exp_alerts": expected}],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


UP = 'up{job="prompt-manager", module="prompt-manager", instance="host:8000"}'
DOWN_ALERT = {
    "exp_labels": {"severity": "critical", "module": "prompt-manager", "job": "prompt-manager",
                   "instance": "host:8000"},
    "exp_annotations": {
        "summary": "Prompt Manager is down",
        "description": "Prometheus could scrape Prompt Manager (host:8000) only 40% of the time over the last 5m: "
                       "the service is down, unreachable or flapping.",
        "runbook_url": "RUNBOOKS.md#moduledown",
    },
}


def test_down_fires_after_a_minute_down(tmp_path: Path, promtool: str) -> None:
    run_alert_test(tmp_path, promtool, {UP: "1 1 0 0 0 0"}, "4m", "PromptManagerDown", [DOWN_ALERT])


def test_down_waits_for_its_duration(tmp_path: Path, promtool: str) -> None:
    run_alert_test(tmp_path, promtool, {UP: "1 1 0 0 0 0"}, "2m", "PromptManagerDown", [])


def test_down_silent_while_up(tmp_path: Path, promtool: str) -> None:
    run_alert_test(tmp_path, promtool, {UP: "1x10"}, "10m", "PromptManagerDown", [])


def ops_and_errors(errors_per_minute: int) -> dict[str, str]:
    """Return 100 operations a minute with this many errors."""
    return {
        'prompt_manager_operations_total{operation="render", status="success"}': "0+100x30",
        'prompt_manager_errors_total{operation="render", error_type="Timeout"}': f"0+{errors_per_minute}x30",
    }


def test_error_ratio_fires_above_objective(tmp_path: Path, promtool: str) -> None:
    expected = [{"exp_labels": {"severity": "warning", **LABELS}, "exp_annotations": {
        "summary": "Prompt Manager error ratio above 5%",
        "description": "10% of Prompt Manager operations failed over the last 5m (objective: at most 5%; judged "
                       "from 20 operations in the window on).",
        "runbook_url": "RUNBOOKS.md#modulehigherrorratio",
    }}]
    run_alert_test(tmp_path, promtool, ops_and_errors(10), "15m", "PromptManagerHighErrorRatio", expected)


def test_error_ratio_silent_below_objective(tmp_path: Path, promtool: str) -> None:
    run_alert_test(tmp_path, promtool, ops_and_errors(1), "15m", "PromptManagerHighErrorRatio", [])


def test_error_ratio_silent_without_traffic_and_when_nothing_ever_failed(tmp_path: Path, promtool: str) -> None:
    # No traffic: the ratio is empty (the denominator must be > 0), never 0/0; never failed: no error series.
    idle = {name: "7x30" for name in ops_and_errors(0)}
    run_alert_test(tmp_path, promtool, idle, "15m", "PromptManagerHighErrorRatio", [])
    healthy = {name: values for name, values in ops_and_errors(0).items() if "errors" not in name}
    run_alert_test(tmp_path, promtool, healthy, "15m", "PromptManagerHighErrorRatio", [])
    assert "> 0) > 0.05" in ALERTS.read_text()


def latency(slow: bool) -> dict[str, str]:
    """Return buckets whose P95 is 1.9 s (slow) or 0.19 s (fast)."""
    edges = ("1", "2") if slow else ("0.1", "0.2")
    base = 'prompt_manager_operation_duration_seconds_bucket{{operation="render", le="{}"}}'
    return {base.format(edges[0]): "0+50x30", base.format(edges[1]): "0+100x30", base.format("+Inf"): "0+100x30",
            'prompt_manager_operation_duration_seconds_count{operation="render"}': "0+100x30"}


def test_latency_fires_above_objective(tmp_path: Path, promtool: str) -> None:
    expected = [{"exp_labels": {"severity": "warning", **LABELS}, "exp_annotations": {
        "summary": "Prompt Manager P95 latency above 0.5 s",
        "description": "95 % of Prompt Manager operations completed within 1.9s over the last 5m (objective: "
                       "0.5 s).",
        "runbook_url": "RUNBOOKS.md#modulehighlatencyp95",
    }}]
    run_alert_test(tmp_path, promtool, latency(slow=True), "20m", "PromptManagerHighLatencyP95", expected)


def test_latency_silent_below_objective_and_before_its_duration(tmp_path: Path, promtool: str) -> None:
    run_alert_test(tmp_path, promtool, latency(slow=False), "20m", "PromptManagerHighLatencyP95", [])
    run_alert_test(tmp_path, promtool, latency(slow=True), "8m", "PromptManagerHighLatencyP95", [])


@pytest.mark.parametrize(("usd_per_minute", "fires"), [("0.5", True), ("0.05", False)])
def test_cost_over_budget(tmp_path: Path, promtool: str, usd_per_minute: str, fires: bool) -> None:
    # 0.5 USD a minute is 30 USD an hour, over the 5 USD budget; 0.05 is 3 USD an hour.
    expected = [{"exp_labels": {"severity": "warning", **LABELS}, "exp_annotations": {
        "summary": "Prompt Manager spends more than 5 USD per hour",
        "description": "Prompt Manager spent at a rate of 30.00 USD per hour over the last hour "
                       "(budget: 5 USD per hour).",
        "runbook_url": "RUNBOOKS.md#modulecostoverbudget",
    }}] if fires else []
    run_alert_test(tmp_path, promtool, {"prompt_manager_cost_total": f"0+{usd_per_minute}x90"}, "70m",
                   "PromptManagerCostOverBudget", expected)
