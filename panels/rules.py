"""Recording and alerting rules derived from module contracts. Pure values; dashbuild writes the YAML.

Recording rules turn each module's standard metrics into cross-module series labelled `module`
(the scrape job's static label), so the overview issues the same queries whatever the number of modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import attrs

from contract.model import ModuleContract
from panels import promql

# How often Prometheus scrapes the modules and evaluates these rules (prometheus.yml's global intervals,
# and Grafana's datasource timeInterval): totals integrate recorded samples this far apart.
SCRAPE_INTERVAL = "5s"
WINDOW = "1m"  # 12 scrapes at the 5 s scrape interval
ALERT_WINDOW = "5m"

OPERATIONS_RATE = "module:operations:rate1m"
ERRORS_RATE = "module:errors:rate1m"
ERROR_RATIO = "module:error_ratio:rate1m"
COST_RATE = "module:cost_usd:rate1m"
TOKENS_RATE = "module:tokens:rate1m"
P95_DURATION = "module:operation_duration_seconds:p95_1m"
UP = "module:up:avg"
TOTAL_OPERATIONS_RATE = "all:operations:rate1m"


@attrs.frozen
class RecordingRule:
    """`record: expr`, evaluated in order within its group."""

    record: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class AlertRule:
    """An alert with its duration, severity and human-readable annotations."""

    alert: str
    expr: str
    for_: str
    severity: str
    module: str
    summary: str
    description: str


# `{{` opens a Go template action; so does a trailing `{` if the template goes on with `{{ ... }}`.
_TEMPLATE_OPENERS = re.compile(r"\{\{|\{$")


def template_literal(text: str) -> str:
    """Return `text` as Go template source that prints it literally (alert annotations are Go templates).

    Each `{{` becomes the action `{{ "{{" }}`, which prints two braces; text from a module file can then
    neither break the rule file nor run template code such as `{{ $labels.job }}`.
    """
    return _TEMPLATE_OPENERS.sub(lambda match: '{{ "' + match.group() + '" }}', text)


def _per_module(contract: ModuleContract, short_name: str, record: str,
                build: Callable[[str], str]) -> list[RecordingRule]:
    if not contract.has_metric(short_name):
        return []
    return [RecordingRule(record, build(contract.metric(short_name).name), _module_label(contract))]


def _module_label(contract: ModuleContract) -> tuple[tuple[str, str], ...]:
    # Static labels keep each module's rule distinct (promtool rejects identical record + labels) and
    # label the result even if a scrape config lacks the `module` label.
    return (("module", contract.slug),)


def module_recording_rules(contract: ModuleContract) -> list[RecordingRule]:
    """Return the rules recording one module's standard metrics as `module:*` series."""
    def rate_by(labels: tuple[str, ...]) -> Callable[[str], str]:
        return lambda name: promql.sum_by(promql.rate(promql.selector(name), WINDOW), ("module", *labels))

    rules = [
        *_per_module(contract, "operations_total", OPERATIONS_RATE, rate_by(())),
        *_per_module(contract, "errors_total", ERRORS_RATE, rate_by(())),
        *_per_module(contract, "cost_total", COST_RATE, rate_by(())),
        *_per_module(contract, "tokens_total", TOKENS_RATE, rate_by(("type",))),
        # No sample while no operation completes (histogram_quantile would record NaN, which turns the
        # overview's range averages of the slowest modules into NaN).
        *_per_module(contract, "operation_duration_seconds", P95_DURATION,
                     lambda name: promql.non_negative(
                         promql.histogram_quantile(0.95, f"{name}_bucket", by=("module",), window=WINDOW))),
        RecordingRule(UP, promql.aggregate("avg", promql.selector("up", (promql.eq("job", contract.job),)),
                                           ("module",)), _module_label(contract)),
    ]
    if contract.has_metric("errors_total") and contract.has_metric("operations_total"):
        # Computed from the raw series, not from the rules above: each rule then stands alone, which
        # `promtool tsdb create-blocks-from rules` needs to backfill it. A module with operations but
        # no error series yet has an error ratio of 0, not none; one without traffic has none, not NaN.
        errors = rate_by(())(contract.metric("errors_total").name)
        total = rate_by(())(contract.metric("operations_total").name)
        rules.append(RecordingRule(ERROR_RATIO, promql.ratio(promql.or_zero_like(errors, total), total),
                                   _module_label(contract)))
    return rules


def recording_rules(contracts: Sequence[ModuleContract]) -> list[RecordingRule]:
    """Return every module's recording rules, then the all-modules total; each depends on raw series only."""
    rules = [rule for contract in contracts for rule in module_recording_rules(contract)]
    terms = [promql.or_zero(promql.sum_by(promql.rate(promql.selector(c.metric("operations_total").name), WINDOW)))
             for c in contracts if c.has_metric("operations_total")]
    if terms:
        # One series for "all modules", so the overview's totals read one series, not one per module.
        # Summed from the raw series (a module without data counts 0), not from the rules above, so
        # that it stands alone for backfilling.
        rules.append(RecordingRule(TOTAL_OPERATIONS_RATE, promql.add(terms)))
    return rules


def total_over_range(rate_series: str, evaluation_interval: str, by: Sequence[str] = (),
                     range_: str = promql.RANGE) -> str:
    """Return the total over `range_` of a recorded per-second rate, as exact as `increase()` on raw series.

    The recorded samples are `evaluation_interval` apart, so their sum times that interval integrates the
    rate over the time the series really existed: a module that starts or stops inside the range, or a
    range longer than the stored history, counts only what happened (an average times the whole range
    would stretch it), and each `rate()` already accounts for counter resets. A rate over the last WINDOW
    lags the counter by (WINDOW - interval) / 2 on average, so the sum alone misses that much traffic at
    the end of the range and counts that much before its start; the two edge terms add it back from the
    rate at the end and take it off with the rate at the start, each 0 where the series does not exist
    (a module that started or stopped inside the range). Requires the series to be recorded every
    `evaluation_interval` (also when backfilled: `promtool tsdb create-blocks-from rules --eval-interval`).
    """
    step = promql.seconds(evaluation_interval)
    lag = (promql.seconds(WINDOW) - step) / 2
    rates = promql.selector(rate_series)
    summed = promql.sum_by(promql.over_time("sum", rates, range_), by)
    present = f"{summed} * 0"
    end = promql.sum_by(rates, by)
    start = promql.sum_by(promql.offset(rates, range_), by)
    return f"{summed} * {step:g} + {lag:g} * ({end} or {present}) - {lag:g} * ({start} or {present})"


def recorded_series() -> frozenset[str]:
    """Return the names of all series the recording rules produce."""
    return frozenset({OPERATIONS_RATE, ERRORS_RATE, ERROR_RATIO, COST_RATE, TOKENS_RATE, P95_DURATION, UP,
                      TOTAL_OPERATIONS_RATE})


def alert_rules(contract: ModuleContract) -> list[AlertRule]:
    """Return the module's alerts: down, error ratio, P95 latency and cost rate over its objectives.

    Annotations are Go templates: the module's title is inserted as a literal, so only our own actions
    (`{{ $value | humanizePercentage }}`, `{{ $labels.instance }}`) are evaluated.
    """
    title, goals, job = template_literal(contract.title), contract.objectives, contract.job
    alerts = [AlertRule(
        alert=f"{contract.camel_name}Down", for_="1m", severity="critical", module=contract.slug,
        expr=f"{promql.selector('up', (promql.eq('job', job),))} == 0",
        summary=f"{title} is down",
        description=f"Prometheus has failed to scrape {title} ({{{{ $labels.instance }}}}) for more than a "
                    "minute: the service is down or unreachable.",
    )]
    if contract.has_metric("errors_total") and contract.has_metric("operations_total"):
        errors = promql.sum_by(promql.rate(promql.selector(contract.metric("errors_total").name), ALERT_WINDOW))
        total = promql.sum_by(promql.rate(promql.selector(contract.metric("operations_total").name), ALERT_WINDOW))
        alerts.append(AlertRule(
            alert=f"{contract.camel_name}HighErrorRatio", for_="5m", severity="warning", module=contract.slug,
            expr=f"{promql.ratio(errors, total)} > {goals.error_ratio:g}",
            summary=f"{title} error ratio above {goals.error_ratio:.0%}",
            description=f"{{{{ $value | humanizePercentage }}}} of {title} operations failed over the last "
                        f"{ALERT_WINDOW} (objective: at most {goals.error_ratio:.0%}).",
        ))
    if contract.has_metric("operation_duration_seconds"):
        bucket = contract.metric("operation_duration_seconds").name + "_bucket"
        alerts.append(AlertRule(
            alert=f"{contract.camel_name}HighLatencyP95", for_="10m", severity="warning", module=contract.slug,
            expr=f"{promql.histogram_quantile(0.95, bucket, window=ALERT_WINDOW)} > {goals.p95_seconds:g}",
            summary=f"{title} P95 latency above {goals.p95_seconds:g} s",
            description=f"95 % of {title} operations completed within {{{{ $value | humanizeDuration }}}} over the "
                        f"last {ALERT_WINDOW} (objective: {goals.p95_seconds:g} s).",
        ))
    if contract.has_metric("cost_total"):
        cost = promql.sum_by(promql.rate(promql.selector(contract.metric("cost_total").name), "1h"))
        alerts.append(AlertRule(
            alert=f"{contract.camel_name}CostOverBudget", for_="15m", severity="warning", module=contract.slug,
            expr=f"{promql.scale(cost, 3600)} > {goals.cost_per_hour_usd:g}",
            summary=f"{title} spends more than {goals.cost_per_hour_usd:g} USD per hour",
            description=f"{title} spent at a rate of {{{{ $value | printf \"%.2f\" }}}} USD per hour over the last "
                        f"hour (budget: {goals.cost_per_hour_usd:g} USD per hour).",
        ))
    return alerts
