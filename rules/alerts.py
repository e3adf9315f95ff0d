"""Alerts: each module's (down, metrics absent, bad counters, dropped records, error ratio, latency, cost) and
those about the monitoring itself, with thresholds from the module's `Objectives`.
"""

from __future__ import annotations

import math

from moddash.contract.model import ModuleContract
from panels import promql
from panels.settings import ALERT_WINDOW, DOWN_SHARE, RUNBOOKS, SELF_JOB
from rules.model import AlertRule, runbook, template_literal


def _minimum(events: str, window: str, at_least: int) -> str:
    """Return `sum(increase(events[window])) >= at_least`: enough traffic for a ratio alert to mean something."""
    return f"{promql.sum_by(f'increase({events}[{window}])')} >= {at_least}"


def _down(contract: ModuleContract, title: str, base: str) -> AlertRule:
    up = promql.selector("up", (promql.eq("job", contract.job),))
    # Over a window of `up`, not `up == 0 for 1m`: a target flapping 0/1 on every scrape never stays at 0
    # for a minute, yet is unreachable half the time.
    return AlertRule(
        alert=f"{contract.camel_name}Down", for_="1m", severity="critical", module=contract.slug,
        expr=f"avg_over_time({up}[{ALERT_WINDOW}]) < {1 - DOWN_SHARE:g}",
        summary=f"{title} is down",
        description=f"Prometheus could scrape {title} ({{{{ $labels.instance }}}}) only {{{{ $value | "
                    f"humanizePercentage }}}} of the time over the last {ALERT_WINDOW}: the service is down, "
                    "unreachable or flapping.",
        runbook_url=runbook(base, "ModuleDown"),
    )


def no_target(contract: ModuleContract, runbooks: str = RUNBOOKS) -> AlertRule:
    """Return the alert for a module Prometheus finds no target of, where targets are discovered (Kubernetes).

    With no pod running (scaled to 0, pending, evicted) or a monitor that no longer matches its Service, there is
    no target and no `up` series, so Down cannot fire; this fires while Prometheus scrapes something else.
    """
    title = template_literal(contract.title)
    own = promql.selector("up", (promql.eq("job", contract.job),))
    return AlertRule(
        alert=f"{contract.camel_name}NoTarget", for_=ALERT_WINDOW, severity="critical", module=contract.slug,
        expr=f"group(up) unless on () group({own})",
        summary=f"{title} has no scrape target",
        description=f"Prometheus has found no target of {title} for {ALERT_WINDOW}: no pod of it runs or is ready, "
                    "or its monitor's selector, namespace or port no longer matches its Service.",
        runbook_url=runbook(runbooks, "ModuleNoTarget"),
    )


def _metrics_absent(contract: ModuleContract, title: str, base: str) -> AlertRule:
    up = promql.selector("up", (promql.eq("job", contract.job),))
    names = "|".join(sorted(contract.series_names()))
    declared = f'{{__name__=~"{names}", job="{contract.job}"}}'
    return AlertRule(
        alert=f"{contract.camel_name}MetricsAbsent", for_="5m", severity="warning", module=contract.slug,
        # Per instance: with replicas (several targets of one job), one without the instrumentation is not hidden
        # by the others.
        expr=f"{up} == 1 unless on (job, instance) group by (job, instance) ({declared})",
        summary=f"{title} is up but exposes none of its metrics",
        description=f"{title} ({{{{ $labels.instance }}}}) answers scrapes but exposes none of the metrics its "
                    "contract declares: renamed metrics, or a deploy without the instrumentation.",
        runbook_url=runbook(base, "ModuleMetricsAbsent"),
    )


def _non_finite(contract: ModuleContract, title: str, base: str) -> AlertRule | None:
    checks = []
    for metric in contract.metrics:
        if metric.type == "counter":
            series = promql.selector(metric.name, (promql.eq("job", contract.job),))
            # NaN is the only value not equal to itself; a NaN or infinite counter poisons every rate.
            checks.append(f"count by (job) ({series} != {series})")
            checks.append(f"count by (job) (abs({series}) == Inf)")
    if not checks:
        return None
    return AlertRule(
        alert=f"{contract.camel_name}NonFiniteCounter", for_="0m", severity="warning", module=contract.slug,
        expr=" or ".join(checks),
        summary=f"{title} exposes a NaN or infinite counter",
        description=f"A counter of {title} is NaN or infinite: every rate, total and alert built on it is "
                    "blind until the service restarts.",
        runbook_url=runbook(base, "ModuleNonFiniteCounter"),
    )


def _instrumentation_dropping(contract: ModuleContract, title: str, base: str) -> AlertRule:
    # The instrumentation's own self-metrics (instrumentation/metrics.py): in production it drops what the
    # contract refuses, and folds label values beyond the cap into `other`, instead of failing requests.
    dropped = f"sum(increase({contract.name}_instrumentation_errors_total[{ALERT_WINDOW}]))"
    folded = f"sum(increase({contract.name}_label_overflow_total[{ALERT_WINDOW}]))"
    return AlertRule(
        alert=f"{contract.camel_name}InstrumentationDropping", for_="0m", severity="warning", module=contract.slug,
        expr=f"{dropped} > 0 or {folded} > 0",
        summary=f"{title} drops or folds metrics its contract refuses",
        description=f"Over the last {ALERT_WINDOW}, {title}'s instrumentation dropped records that break its "
                    "contract (NaN, negative or undeclared) or folded label values beyond the cap into `other`: "
                    "its panels undercount.",
        runbook_url=runbook(base, "ModuleInstrumentationDropping"),
    )


def alert_rules(contract: ModuleContract, runbooks: str = RUNBOOKS) -> list[AlertRule]:
    """Return the module's alerts: down, metrics absent, non-finite counters, error ratio, P95, cost.

    Annotations are Go templates: the module's title is inserted as a literal, so only our own actions
    (`{{ $value | humanizePercentage }}`, `{{ $labels.instance }}`) are evaluated. Ratio alerts need a
    minimum of traffic, derived from the objective: below it, one failure alone would breach it.
    """
    title, goals = template_literal(contract.title), contract.objectives
    alerts = [_down(contract, title, runbooks), _metrics_absent(contract, title, runbooks)]
    non_finite = _non_finite(contract, title, runbooks)
    if non_finite is not None:
        alerts.append(non_finite)
    alerts.append(_instrumentation_dropping(contract, title, runbooks))
    if contract.has_metric("errors_total") and contract.has_metric("operations_total"):
        operations = contract.metric("operations_total").name
        errors = promql.sum_by(promql.rate(promql.selector(contract.metric("errors_total").name), ALERT_WINDOW))
        total = promql.sum_by(promql.rate(promql.selector(operations), ALERT_WINDOW))
        at_least = math.ceil(1 / goals.error_ratio)
        alerts.append(AlertRule(
            alert=f"{contract.camel_name}HighErrorRatio", for_="5m", severity="warning", module=contract.slug,
            expr=f"{promql.ratio(errors, total)} > {goals.error_ratio:g} and on () "
                 f"{_minimum(operations, ALERT_WINDOW, at_least)}",
            summary=f"{title} error ratio above {goals.error_ratio:.0%}",
            description=f"{{{{ $value | humanizePercentage }}}} of {title} operations failed over the last "
                        f"{ALERT_WINDOW} (objective: at most {goals.error_ratio:.0%}; judged from {at_least} "
                        "operations in the window on).",
            runbook_url=runbook(runbooks, "ModuleHighErrorRatio"),
        ))
    if contract.has_metric("operation_duration_seconds"):
        histogram = contract.metric("operation_duration_seconds").name
        at_least = math.ceil(1 / (1 - 0.95))  # fewer observations than this and P95 is the slowest one
        alerts.append(AlertRule(
            alert=f"{contract.camel_name}HighLatencyP95", for_="10m", severity="warning", module=contract.slug,
            expr=f"{promql.histogram_quantile(0.95, histogram + '_bucket', window=ALERT_WINDOW)} > "
                 f"{goals.p95_seconds:g} and on () {_minimum(histogram + '_count', ALERT_WINDOW, at_least)}",
            summary=f"{title} P95 latency above {goals.p95_seconds:g} s",
            description=f"95 % of {title} operations completed within {{{{ $value | humanizeDuration }}}} over the "
                        f"last {ALERT_WINDOW} (objective: {goals.p95_seconds:g} s).",
            runbook_url=runbook(runbooks, "ModuleHighLatencyP95"),
        ))
    if contract.has_metric("cost_total"):
        cost = promql.sum_by(promql.rate(promql.selector(contract.metric("cost_total").name), "1h"))
        alerts.append(AlertRule(
            alert=f"{contract.camel_name}CostOverBudget", for_="15m", severity="warning", module=contract.slug,
            expr=f"{promql.scale(cost, 3600)} > {goals.cost_per_hour_usd:g}",
            summary=f"{title} spends more than {goals.cost_per_hour_usd:g} USD per hour",
            description=f"{title} spent at a rate of {{{{ $value | printf \"%.2f\" }}}} USD per hour over the last "
                        f"hour (budget: {goals.cost_per_hour_usd:g} USD per hour).",
            runbook_url=runbook(runbooks, "ModuleCostOverBudget"),
        ))
    return alerts


def monitoring_alerts(runbooks: str = RUNBOOKS, prometheus_job: str = SELF_JOB) -> list[AlertRule]:
    """Return the alerts about the monitoring itself: failing rules, a failed reload, lost Alertmanagers, Watchdog.

    `prometheus_job` is the scrape job of Prometheus' own metrics (kube-prometheus-stack names it after its
    Service, so the local `prometheus` would match nothing there)."""
    own = (promql.eq("job", prometheus_job),)
    return [
        AlertRule(
            alert="PrometheusRuleEvaluationFailures", for_="5m", severity="critical", module="",
            expr=f"increase({promql.selector('prometheus_rule_evaluation_failures_total', own)}[{ALERT_WINDOW}]) > 0",
            summary="Prometheus fails to evaluate rules",
            description="{{ $value | printf \"%.0f\" }} evaluations of rule group {{ $labels.rule_group }} failed over "
                        f"the last {ALERT_WINDOW}: recorded series and alerts of that group are missing.",
            runbook_url=runbook(runbooks, "PrometheusRuleEvaluationFailures"),
        ),
        AlertRule(
            alert="PrometheusConfigReloadFailed", for_="5m", severity="warning", module="",
            expr=f"{promql.selector('prometheus_config_last_reload_successful', own)} == 0",
            summary="Prometheus could not load its new configuration",
            description="The last configuration reload failed: Prometheus still runs the previous scrape jobs and "
                        "rules.",
            runbook_url=runbook(runbooks, "PrometheusConfigReloadFailed"),
        ),
        AlertRule(
            alert="PrometheusNotificationsFailing", for_="10m", severity="critical", module="",
            expr=f"rate({promql.selector('prometheus_notifications_errors_total', own)}[{ALERT_WINDOW}]) > 0 or "
                 f"{promql.selector('prometheus_notifications_alertmanagers_discovered', own)} < 1",
            summary="Prometheus cannot send alerts to Alertmanager",
            description="Alerts are evaluated but not delivered: no Alertmanager is reachable, or sending fails.",
            runbook_url=runbook(runbooks, "PrometheusNotificationsFailing"),
        ),
        AlertRule(
            alert="Watchdog", for_="0m", severity="none", module="",
            expr="vector(1)",
            summary="Always firing: proves the alerting pipeline works end to end",
            description="A dead man's switch: if this alert stops arriving at its receiver, Prometheus, "
                        "Alertmanager or the way between them is broken.",
            runbook_url=runbook(runbooks, "Watchdog"),
        ),
    ]
