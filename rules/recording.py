"""Recording rules: each module's standard metrics as cross-module series labelled `module`.

The scrape job's static `module` label names the module, so the overview issues the same queries whatever the
number of modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from moddash.contract.model import ModuleContract
from panels import promql
from panels.settings import (
    COST_RATE,
    ERROR_RATIO,
    ERRORS_RATE,
    OPERATIONS_RATE,
    P95_DURATION,
    RECORDED_SERIES,
    TOKENS_RATE,
    TOTAL_OPERATIONS_RATE,
    UP,
    WINDOW,
)
from rules.model import RecordingRule


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
    return RECORDED_SERIES
