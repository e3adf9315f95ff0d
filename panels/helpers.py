"""Reusable panel helpers: each returns a `Panel` with its query, unit, description and thresholds.

Helpers take `Metric` objects from a module's contract, so a misspelt metric
fails when the module file is loaded, and refuse labels the metric does not have.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from moddash.contract.model import COUNTER, HISTOGRAM, Metric
from panels import promql
from panels.helper_support import BLUE, GREEN, ORANGE, RED, YELLOW, short_help
from panels.helper_support import counter_increase as _counter_increase
from panels.helper_support import counter_rate as _counter_rate
from panels.helper_support import filter_note as _filter_note
from panels.helper_support import legend as _legend
from panels.helper_support import matchers as _matchers
from panels.helper_support import require_labels as _require_labels
from panels.helper_support import require_type as _require_type
from panels.kind_helpers import bar_gauge, gauge, heatmap, histogram, state_timeline, status_history, table, text
from panels.promql import Matcher
from panels.spec import Panel, Step, Target, ValueText, Variable

__all__ = ["BLUE", "GREEN", "HEALTH_MAPPINGS", "ORANGE", "RED", "YELLOW", "bar_gauge", "cache_hit_ratio",
           "cost_over_range", "cost_rate", "count_over_range", "distribution", "duration_p95", "duration_quantiles",
           "error_ratio", "event_timeline", "gauge", "health", "health_status", "heatmap", "histogram",
           "label_variable", "rate_per_second", "state_timeline", "status_history", "success_ratio", "table", "text",
           "token_usage"]

def rate_per_second(metric: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (),
                    title: str | None = None, unit: str = "ops") -> Panel:
    """Return a time series of a counter's per-second rate, summed by `by` labels."""
    return Panel(
        kind="timeseries",
        origin=f"rate_per_second.{metric.name}",
        title=title or f"{short_help(metric)} per second",
        description=(f"Per-second rate of {metric.name} ({metric.help}), summed"
                     f"{' by ' + ', '.join(by) if by else ''}.{_filter_note(where)}"),
        unit=unit,
        targets=(Target(_counter_rate(metric, by, where), _legend(by, "total")),),
        min=0,
    )


def duration_quantiles(histogram: Metric, quantiles: Sequence[float] = (0.5, 0.95, 0.99), *,
                       by: Sequence[str] = (), where: Sequence[Matcher] = (),
                       objective_seconds: float | None = None, title: str | None = None) -> Panel:
    """Return a time series of duration quantiles (P50/P95/P99 by default) from a histogram."""
    _require_type(histogram, HISTOGRAM, "duration_quantiles")
    _require_labels(histogram, by)
    matchers = _matchers(histogram, where)
    names = "/".join(f"P{q * 100:g}" for q in quantiles)
    targets = tuple(
        Target(promql.non_negative(promql.histogram_quantile(q, f"{histogram.name}_bucket", matchers, by)),
               f"P{q * 100:g}" + (" " + _legend(by, "") if by else ""))
        for q in quantiles
    )
    steps: tuple[Step, ...] = (Step(GREEN),)
    objective = ""
    if objective_seconds is not None:
        steps = (Step(GREEN), Step(RED, objective_seconds))
        objective = f" The red threshold marks the {objective_seconds:g} s objective."
    return Panel(
        kind="timeseries",
        origin=f"duration_{'_'.join(f'p{q * 100:g}' for q in quantiles)}.{histogram.name}",
        title=title or f"Duration {names}",
        description=(f"{names} of {histogram.name} ({histogram.help}), estimated by histogram_quantile "
                     f"over per-second bucket rates; empty when nothing was observed.{_filter_note(where)}"
                     f"{objective}"),
        unit="s",
        targets=targets,
        thresholds=steps,
        min=0,
    )


def duration_p95(histogram: Metric, **kwargs: object) -> Panel:
    """Return a time series of the 95th percentile duration from a histogram."""
    return duration_quantiles(histogram, (0.95,), **kwargs)  # type: ignore[arg-type]


def error_ratio(errors: Metric, total: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (),
                critical: float = 0.05, warning: float | None = None, title: str = "Error rate") -> Panel:
    """Return a time series of errors divided by operations (0..1), with warning/critical thresholds.

    The warning threshold defaults to a fifth of the critical one.
    """
    warning = critical / 5 if warning is None else warning
    numerator = _counter_rate(errors, by, where)
    denominator = _counter_rate(total, by, where)
    return Panel(
        kind="timeseries",
        origin=f"error_ratio.{errors.name}",
        title=title,
        description=(f"Share of operations that failed: rate of {errors.name} divided by rate of {total.name}; "
                     "0 when none failed, empty when there is no traffic. "
                     f"Yellow above {warning:.0%}, red above {critical:.0%}.{_filter_note(where)}"),
        unit="percentunit",
        targets=(Target(promql.ratio(promql.or_zero_like(numerator, denominator), denominator),
                        _legend(by, "error ratio")),),
        thresholds=(Step(GREEN), Step(YELLOW, warning), Step(RED, critical)),
        min=0,
        max=1,
    )


def success_ratio(metric: Metric, success: Matcher, *, where: Sequence[Matcher] = (),
                  title: str = "Success rate") -> Panel:
    """Return a stat of the share of a counter's events matching `success` over the dashboard range."""
    numerator = _counter_increase(metric, (), (*where, success))
    denominator = _counter_increase(metric, (), where)
    return Panel(
        kind="stat",
        origin=f"success_ratio.{metric.name}",
        title=title,
        description=(f"Share of {metric.name} events with {success.render()} over the dashboard time range; "
                     "empty when there is no traffic. Red below 90 %, yellow below 99 %."),
        unit="percentunit",
        targets=(Target(promql.ratio(promql.or_zero_like(numerator, denominator), denominator), "success",
                        instant=True),),
        thresholds=(Step(RED), Step(YELLOW, 0.9), Step(GREEN, 0.99)),
        min=0,
        max=1,
        decimals=1,
    )


def cache_hit_ratio(hits: Metric, misses: Metric, *, title: str = "Cache hit ratio") -> Panel:
    """Return a stat of hits / (hits + misses) over the dashboard range; red below 50 %, yellow below 80 %."""
    # Each count is 0, not missing, before its counter's first event: never missing is 100 %, not nothing.
    hit_count = promql.or_zero(_counter_increase(hits, (), ()))
    miss_count = promql.or_zero(_counter_increase(misses, (), ()))
    return Panel(
        kind="stat",
        origin=f"cache_hit_ratio.{hits.name}",
        title=title,
        description=(f"Cache hits divided by lookups ({hits.name} / ({hits.name} + {misses.name})) over the "
                     "dashboard time range; empty when there is no traffic (no lookup). Red below 50 %, yellow "
                     "below 80 %."),
        unit="percentunit",
        targets=(Target(promql.ratio(hit_count, promql.add((hit_count, miss_count))), "hit ratio", instant=True),),
        thresholds=(Step(RED), Step(YELLOW, 0.5), Step(GREEN, 0.8)),
        min=0,
        max=1,
        decimals=1,
    )


def token_usage(tokens: Metric, *, by: Sequence[str] = ("type",), where: Sequence[Matcher] = (),
                title: str = "Token usage") -> Panel:
    """Return a stacked time series of tokens per second, by token type."""
    return Panel(
        kind="timeseries",
        origin=f"token_usage.{tokens.name}",
        title=title,
        description=(f"Tokens per second from {tokens.name} ({tokens.help}), stacked"
                     f"{' by ' + ', '.join(by) if by else ''}.{_filter_note(where)}"),
        unit="short",
        targets=(Target(_counter_rate(tokens, by, where), _legend(by, "tokens")),),
        stacked=True,
        axis_label="tokens/s",
        min=0,
    )


def cost_over_range(cost: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (),
                    title: str = "Cost (time range)") -> Panel:
    """Return a stat of the US dollars spent over the dashboard time range."""
    return Panel(
        kind="stat",
        origin=f"cost_over_range.{cost.name}",
        title=title,
        description=f"US dollars accumulated by {cost.name} over the dashboard time range.{_filter_note(where)}",
        unit="currencyUSD",
        targets=(Target(_counter_increase(cost, by, where), _legend(by, "cost"), instant=True),),
        decimals=2,
    )


def cost_rate(cost: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (),
              title: str = "Cost per hour") -> Panel:
    """Return a time series of the spending rate in US dollars per hour."""
    return Panel(
        kind="timeseries",
        origin=f"cost_rate.{cost.name}",
        title=title,
        description=(f"Spending rate from {cost.name}, in US dollars per hour"
                     f"{', by ' + ', '.join(by) if by else ''}.{_filter_note(where)}"),
        unit="currencyUSD",
        targets=(Target(promql.scale(_counter_rate(cost, by, where), 3600), _legend(by, "USD/h")),),
        axis_label="USD per hour",
        stacked=bool(by),
        min=0,
    )


def count_over_range(metric: Metric, *, where: Sequence[Matcher] = (), title: str | None = None,
                     warning: float | None = None) -> Panel:
    """Return a stat of how many events a counter recorded over the dashboard range."""
    steps: tuple[Step, ...] = (Step(GREEN),) if warning is None else (Step(GREEN), Step(ORANGE, warning))
    return Panel(
        kind="stat",
        origin=f"count_over_range.{metric.name}",
        title=title or metric.help.rstrip("."),
        description=(f"{metric.help} Count over the dashboard time range ({metric.name}); 0 when none was "
                     f"recorded.{_filter_note(where)}"),
        unit="short",
        # A labelled counter has no series before its first event: none recorded is 0, not "No data".
        targets=(Target(promql.or_zero(_counter_increase(metric, (), where)), "count", instant=True),),
        thresholds=steps,
        decimals=0,
    )


def distribution(metric: Metric, by: str, *, where: Sequence[Matcher] = (), title: str | None = None) -> Panel:
    """Return a pie chart of a counter's increase over the dashboard range, split by one label."""
    return Panel(
        kind="piechart",
        origin=f"distribution.{metric.name}.{by}",
        title=title or f"Distribution by {by}",
        description=f"Share of {metric.name} over the dashboard time range, by {by}.{_filter_note(where)}",
        unit="short",
        targets=(Target(_counter_increase(metric, (by,), where), _legend((by,), ""), instant=True),),
    )


def event_timeline(metric: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (),
                   title: str = "Event timeline", bucket: str = "1m") -> Panel:
    """Return stacked bars counting a counter's events per time bucket (at least `bucket` wide)."""
    _require_type(metric, COUNTER, "event_timeline")
    _require_labels(metric, by)
    expr = promql.sum_by(promql.increase(promql.selector(metric.name, _matchers(metric, where)),
                                         promql.INTERVAL), by)
    return Panel(
        kind="timeseries",
        origin=f"event_timeline.{metric.name}",
        title=title,
        description=(f"Events of {metric.name} per time bucket (at least {bucket}), stacked"
                     f"{' by ' + ', '.join(by) if by else ''}.{_filter_note(where)}"),
        unit="short",
        targets=(Target(expr, _legend(by, "events")),),
        stacked=True,
        bars=True,
        min_interval=bucket,
        min=0,
    )


# Grafana shows the first mapping that matches, so the range after the two exact values covers exactly
# 0 < x < 1 (one target of 1,000 down included), where a range of 0.001..0.999 left gaps showing a number.
HEALTH_MAPPINGS = (
    ValueText("UP", GREEN, value=1),
    ValueText("DOWN", RED, value=0),
    ValueText("DEGRADED", ORANGE, low=0, high=1),
)


def health(job: str, *, title: str = "Health", legend: str = "") -> Panel:
    """Return a stat of the share of a scrape job's targets that are up, shown as UP / DEGRADED / DOWN."""
    expr = promql.aggregate("avg", promql.selector("up", (promql.eq("job", job),)))
    panel = health_status((Target(expr, legend or job, instant=True),), title=title)
    return attrs.evolve(panel, origin=f"health.{job}")


def health_status(targets: Sequence[Target], *, title: str = "Module health") -> Panel:
    """Return a UP/DEGRADED/DOWN stat over queries that give the share (0..1) of targets up."""
    return Panel(
        kind="stat",
        origin="health_status",
        title=title,
        description=("Share of scrape targets that are up (Prometheus `up`): UP when all are, DEGRADED when "
                     "some are (one of several down), DOWN when none is. No data means Prometheus has no such "
                     "scrape job."),
        unit="none",
        targets=targets,
        thresholds=(Step(RED), Step(ORANGE, 0.001), Step(GREEN, 1)),
        mappings=HEALTH_MAPPINGS,
        min=0,
        max=1,
        no_value="NO DATA",
    )


def label_variable(metric: Metric, label: str, *, name: str | None = None, title: str | None = None) -> Variable:
    """Return a multi-select template variable listing the values of `label` on `metric`."""
    _require_labels(metric, (label,))
    series = f"{metric.name}_count" if metric.type == HISTOGRAM else metric.name
    return Variable(name=name or label, label=title or label.replace("_", " ").capitalize(),
                    query=f"label_values({series}, {label})")
