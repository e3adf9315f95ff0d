"""What the panel helpers share: metric type and label checks, matchers, legends, counter queries, units.

The helpers live in panels/helpers.py (one per kind of number) and panels/kind_helpers.py (one per panel kind
beyond time series, stat and pie chart); both read the same checks from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from moddash.contract.model import COUNTER, Metric
from panels import promql
from panels.promql import Matcher

GREEN, YELLOW, ORANGE, RED, BLUE = "green", "yellow", "orange", "red", "blue"
# Grafana unit ids for a contract metric's declared unit or its name's base-unit suffix.
_UNITS = {"s": "s", "seconds": "s", "bytes": "bytes", "ratio": "percentunit", "percent": "percentunit"}


def require_type(metric: Metric, kind: str | tuple[str, ...], helper: str) -> None:
    """Raise ValueError naming `helper` when `metric` is not of type `kind` (or one of several)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    if metric.type not in kinds:
        raise ValueError(f"{helper}() needs a {' or a '.join(kinds)}, but {metric.name} is a {metric.type}")


def require_labels(metric: Metric, labels: Iterable[str]) -> None:
    """Raise ValueError for the first of `labels` the metric does not declare."""
    for label in labels:
        if label not in metric.labels:
            declared = ", ".join(metric.labels) or "none"
            raise ValueError(f"metric {metric.name} has no label {label!r} (declared: {declared})")


def matchers(metric: Metric, where: Sequence[Matcher]) -> tuple[Matcher, ...]:
    """Return the filters, refusing one on a label the metric does not declare."""
    require_labels(metric, (m.label for m in where))
    return tuple(where)


def legend(by: Sequence[str], fallback: str) -> str:
    """Return a legend naming each series by its `by` labels (`{{operation}}`), or `fallback`."""
    return " ".join(f"{{{{{label}}}}}" for label in by) if by else fallback


def filter_note(where: Sequence[Matcher]) -> str:
    """Return the sentence a description ends with when the panel is filtered."""
    return f" Filtered by {', '.join(m.render() for m in where)}." if where else ""


def counter_rate(metric: Metric, by: Sequence[str], where: Sequence[Matcher]) -> str:
    """Return the per-second rate of a counter summed by `by`."""
    require_type(metric, COUNTER, "rate")
    require_labels(metric, by)
    return promql.sum_by(promql.rate(promql.selector(metric.name, matchers(metric, where))), by)


def counter_increase(metric: Metric, by: Sequence[str], where: Sequence[Matcher], window: str = promql.RANGE) -> str:
    """Return a counter's increase over `window` (the dashboard range by default) summed by `by`."""
    require_type(metric, COUNTER, "increase")
    require_labels(metric, by)
    return promql.sum_by(promql.increase(promql.selector(metric.name, matchers(metric, where)), window), by)


def short_help(metric: Metric) -> str:
    """Return the first clause of a metric's help text, e.g. 'Operations handled'."""
    return metric.help.split(",")[0].rstrip(".")


def unit_of(metric: Metric, fallback: str = "short") -> str:
    """Return the Grafana unit of a metric's values: its declared unit, else its name's suffix, else `fallback`."""
    if metric.unit in _UNITS:
        return _UNITS[metric.unit]
    suffix = metric.name.rsplit("_", 1)[-1]
    return _UNITS.get(suffix, fallback)
