"""Panel helpers for the kinds beyond time series, stat and pie chart: gauge, bar gauge, table, heatmap,
histogram, state timeline, status history and text. `panels.helpers` re-exports them (`h.gauge(...)`).

Like the other helpers, each takes `Metric` objects from a contract, refuses a metric of the wrong type or
a label it does not declare, and sets `origin` (helper and metric) so the panel's key survives a retitle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from moddash.contract.model import COUNTER, GAUGE, HISTOGRAM, Metric
from panels import promql
from panels.fields import ValueText, merge, organize
from panels.helper_support import (
    GREEN,
    ORANGE,
    RED,
    YELLOW,
    counter_increase,
    counter_rate,
    filter_note,
    legend,
    matchers,
    require_labels,
    require_type,
    short_help,
    unit_of,
)
from panels.kinds import BarGauge, Gauge, Heatmap, Histogram, StateTimeline, StatusHistory, Table, Text
from panels.promql import Matcher
from panels.spec import Panel, Step, Target, ref_id

# Error ratio thresholds as an error_ratio() panel colours them: green, yellow from 1 %, red from 5 %.
ERROR_STEPS = (Step(GREEN), Step(YELLOW, 0.01), Step(RED, 0.05))
# What state_timeline() shows for the states its query computes (0, 1, 2).
STATE_MAPPINGS = (
    ValueText("OK", GREEN, value=0),
    ValueText("DEGRADED", ORANGE, value=1),
    ValueText("FAILING", RED, value=2),
)


def _share_over_range(part: Metric, whole: Metric, by: Sequence[str], part_where: Sequence[Matcher],
                      where: Sequence[Matcher]) -> str:
    """Return part / whole of two counters' increases over the dashboard range: 0 when no part, empty without
    any whole (no traffic), never NaN."""
    numerator = counter_increase(part, by, (*where, *part_where))
    denominator = counter_increase(whole, by, where)
    return promql.ratio(promql.or_zero_like(numerator, denominator), denominator)


def _share_note(part: Metric, whole: Metric, part_where: Sequence[Matcher]) -> str:
    selection = f" with {', '.join(m.render() for m in part_where)}" if part_where else ""
    return (f"{part.name}{selection} divided by {whole.name}, counted over the dashboard time range; 0 when none, "
            "empty when there is no traffic.")


def gauge(part: Metric, whole: Metric, *, part_where: Sequence[Matcher] = (), where: Sequence[Matcher] = (),
          title: str | None = None, thresholds: Sequence[Step] = ERROR_STEPS) -> Panel:
    """Return a gauge of the share `part / whole` (0..1) of two counters over the dashboard range.

    `part_where` selects part's events (e.g. `eq("result", "failed")` when both are one counter); `thresholds`
    colour it (by default as an error ratio: yellow from 1 %, red from 5 %).
    """
    require_type(part, COUNTER, "gauge")
    require_type(whole, COUNTER, "gauge")
    return Panel(
        kind="gauge",
        origin=f"gauge.{part.name}",
        title=title or f"{short_help(part)} (share)",
        description=f"Share of events: {_share_note(part, whole, part_where)}{filter_note(where)}",
        unit="percentunit",
        targets=(Target(_share_over_range(part, whole, (), part_where, where), "share", instant=True),),
        thresholds=tuple(thresholds),
        min=0,
        max=1,
        decimals=1,
        style=Gauge(),
    )


def bar_gauge(part: Metric, whole: Metric, by: str, *, part_where: Sequence[Matcher] = (),
              where: Sequence[Matcher] = (), title: str | None = None,
              thresholds: Sequence[Step] = ERROR_STEPS) -> Panel:
    """Return one bar per value of label `by`: the share `part / whole` of two counters over the dashboard range."""
    require_type(part, COUNTER, "bar_gauge")
    require_type(whole, COUNTER, "bar_gauge")
    require_labels(part, (by,))
    return Panel(
        kind="bargauge",
        origin=f"bar_gauge.{part.name}.{by}",
        title=title or f"{short_help(part)} by {by}",
        description=f"One bar per {by}: {_share_note(part, whole, part_where)}{filter_note(where)}",
        unit="percentunit",
        targets=(Target(_share_over_range(part, whole, (by,), part_where, where), legend((by,), ""),
                        instant=True),),
        thresholds=tuple(thresholds),
        min=0,
        max=1,
        decimals=1,
        style=BarGauge(),
    )


def table(counters: Sequence[Metric], *, by: Sequence[str], where: Sequence[Matcher] = (),
          titles: Sequence[str] | None = None, title: str | None = None, unit: str = "short") -> Panel:
    """Return a table with a row per combination of the `by` labels and a column per counter: each counter's
    increase over the dashboard range, sorted by the first column.

    A later counter's column shows 0, not an empty cell, where the first counter has a row but it has none
    (errors of an operation that never failed).
    """
    if not counters:
        raise ValueError("table() needs at least one counter")
    if not by:
        raise ValueError("table() needs `by` labels: they are its rows")
    names = list(titles) if titles is not None else [short_help(m) for m in counters]
    if len(names) != len(counters) or len(set(names)) != len(names):
        raise ValueError(f"table(): give one distinct title per counter, got {names}")
    for metric in counters:
        require_type(metric, COUNTER, "table")
    first = counter_increase(counters[0], by, where)
    exprs = [first, *(promql.or_zero_like(counter_increase(m, by, where), first) for m in counters[1:])]
    targets = tuple(Target(expr, "", instant=True, format="table") for expr in exprs)
    # One query gives "Value"; several give "Value #A", "Value #B"... before `merge` joins them by label.
    values = ["Value"] if len(exprs) == 1 else [f"Value #{ref_id(i)}" for i in range(len(exprs))]
    return Panel(
        kind="table",
        origin=f"table.{counters[0].name}.{'_'.join(by)}",
        title=title or f"{names[0]} by {', '.join(by)}",
        description=(f"Per {', '.join(by)}: {', '.join(m.name for m in counters)} counted over the dashboard time "
                     f"range (one column each).{filter_note(where)}"),
        unit=unit,
        targets=targets,
        transformations=(merge(), organize(exclude=("Time",), rename=dict(zip(values, names, strict=True)),
                                           order=(*by, *names))),
        style=Table(sort_by=names[0]),
    )


def heatmap(histogram: Metric, *, where: Sequence[Matcher] = (), title: str | None = None) -> Panel:
    """Return a heatmap of a histogram's buckets over time: per-second rate of observations in each bucket."""
    require_type(histogram, HISTOGRAM, "heatmap")
    bucket = promql.selector(f"{histogram.name}_bucket", matchers(histogram, where))
    return Panel(
        kind="heatmap",
        origin=f"heatmap.{histogram.name}",
        title=title or f"{short_help(histogram)} (distribution)",
        description=(f"Observations of {histogram.name} ({histogram.help}) per second in each bucket over time: "
                     "the darker a cell, the more observations fell between its bucket's bounds (le). Shows "
                     f"shifts and second modes a percentile hides; empty while nothing is observed."
                     f"{filter_note(where)}"),
        unit="short",
        targets=(Target(promql.sum_by(promql.rate(bucket), ("le",)), "{{le}}", format="heatmap"),),
        style=Heatmap(y_unit=unit_of(histogram)),
    )


def histogram(metric: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (), title: str | None = None,
              bucket_size: int | None = None) -> Panel:
    """Return a histogram of how often a gauge's value (or a counter's per-second rate) was in each range over
    the dashboard time range, one sample per series and step."""
    require_type(metric, (GAUGE, COUNTER), "histogram")
    require_labels(metric, by)
    if metric.type == COUNTER:
        expr, what, unit = counter_rate(metric, by, where), "per-second rate", "ops"
    else:
        expr = promql.sum_by(promql.selector(metric.name, matchers(metric, where)), by)
        what, unit = "value", unit_of(metric)
    return Panel(
        kind="histogram",
        origin=f"histogram.{metric.name}",
        title=title or f"{short_help(metric)} (histogram)",
        description=(f"How often the {what} of {metric.name} ({metric.help}) fell in each range over the dashboard "
                     f"time range{', per ' + ', '.join(by) if by else ''}: each bar counts samples, one per series "
                     f"and step.{filter_note(where)}"),
        unit=unit,
        targets=(Target(expr, legend(by, what)),),
        style=Histogram(bucket_size=bucket_size),
    )


def state_timeline(errors: Metric, total: Metric, *, by: Sequence[str] = (), where: Sequence[Matcher] = (),
                   critical: float = 0.05, warning: float | None = None, title: str = "Error state") -> Panel:
    """Return a state timeline of the error ratio (errors / operations), one band per `by` value: OK, DEGRADED
    from `warning` (a fifth of `critical` by default), FAILING from `critical`; no band without traffic."""
    warning = critical / 5 if warning is None else warning
    if not 0 < warning < critical:
        raise ValueError(f"state_timeline(): warning ({warning:g}) must be above 0 and below critical ({critical:g})")
    numerator, denominator = counter_rate(errors, by, where), counter_rate(total, by, where)
    share = promql.ratio(promql.or_zero_like(numerator, denominator), denominator)
    # Each comparison is 1 or 0 for every series (`bool`), so the sum is the state: 0, 1 or 2.
    states = f"({share} >= bool {warning:g}) + ({share} >= bool {critical:g})"
    return Panel(
        kind="state-timeline",
        origin=f"state_timeline.{errors.name}",
        title=title,
        description=(f"State over time of the share of operations that failed (rate of {errors.name} divided by "
                     f"rate of {total.name}): OK below {warning:.1%}, DEGRADED from {warning:.1%}, FAILING from "
                     f"{critical:.1%}; no band while there is no traffic.{filter_note(where)}"),
        unit="none",
        targets=(Target(states, legend(by, "state")),),
        thresholds=(Step(GREEN), Step(ORANGE, 1), Step(RED, 2)),
        mappings=STATE_MAPPINGS,
        style=StateTimeline(),
    )


def status_history(metric: Metric, *, by: Sequence[str], where: Sequence[Matcher] = (), bucket: str = "1h",
                   warning: float = 1, title: str | None = None) -> Panel:
    """Return a status history: one row per `by` value, one cell per time bucket (at least `bucket`) holding the
    counter's events in it, orange from `warning` events."""
    require_type(metric, COUNTER, "status_history")
    if not by:
        raise ValueError("status_history() needs `by` labels: they are its rows")
    expr = counter_increase(metric, by, where, promql.INTERVAL)
    return Panel(
        kind="status-history",
        origin=f"status_history.{metric.name}",
        title=title or f"{short_help(metric)} per {bucket}",
        description=(f"Events of {metric.name} ({metric.help}) per time bucket (at least {bucket}), one row per "
                     f"{', '.join(by)}; orange from {warning:g}.{filter_note(where)}"),
        unit="short",
        targets=(Target(expr, legend(by, "events")),),
        thresholds=(Step(GREEN), Step(ORANGE, warning)),
        decimals=0,
        min_interval=bucket,
        style=StatusHistory(),
    )


def text(content: str, *, title: str = "Notes", mode: Literal["markdown", "html", "code"] = "markdown",
         key: str | None = None) -> Panel:
    """Return a text panel (Markdown by default). It shows no metric, so its key is its place in the row unless
    `key` is given (give one for a panel that may move)."""
    return Panel(kind="text", title=title, description="", unit="", targets=(), style=Text(content, mode), key=key)
