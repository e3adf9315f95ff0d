"""Recognise a panel's queries as one of our helpers, so an imported module reads like a hand-written one.

Recognition is proven, not guessed: the parameters a helper could take (its metrics, `by` labels, filters,
quantiles) are read from the parsed queries, each candidate call is made, and it is accepted only when the
helper's queries are the original ones (compared as the round-trip comparison compares them: parsed, variables
stood in for) with the same legends and instant flags. Anything else stays an explicit query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import promql_parser

from dashbuild.importer.compare_queries import normalize_expr
from dashbuild.queries import GRAFANA_VARIABLES, function_name, parse, selector_name, substitute_variables, walk
from moddash.contract.model import COUNTER, GAUGE, HISTOGRAM, Metric
from panels import helpers as h
from panels.promql import Matcher, eq, ne, regex, variable
from panels.spec import Panel

_MATCH_VARIABLE = re.compile(r"^\$(\w+)$")


@attrs.frozen
class OriginalTarget:
    """One query of the panel being imported."""

    expr: str
    legend: str = ""
    instant: bool = False


@attrs.frozen
class Recognised:
    """A helper call that produces the panel's queries: its name, metric arguments and keyword arguments."""

    helper: str
    metrics: tuple[str, ...]  # metric family names, in the helper's argument order
    kwargs: tuple[tuple[str, Any], ...]
    panel: Panel  # what the call returns, for the writer to compare the rest of the panel with


def _matcher(label: str, op: Any, value: str) -> Matcher | None:
    """Return our Matcher for a parsed one, or None when no helper filter writes it."""
    variable_name = _MATCH_VARIABLE.fullmatch(value)
    if op == promql_parser.MatchOp.Re and variable_name:
        return variable(label, variable_name.group(1))
    if "$" in value or "[[" in value:
        return None
    # MatchOp values are not hashable: compare them one by one.
    factories: tuple[tuple[Any, Callable[[str, str], Matcher]], ...] = (
        (promql_parser.MatchOp.Equal, eq), (promql_parser.MatchOp.NotEqual, ne), (promql_parser.MatchOp.Re, regex))
    return next((factory(label, value) for match_op, factory in factories if op == match_op), None)


@attrs.frozen
class _Shape:
    """What the queries of one panel could hand a helper."""

    names: tuple[str, ...]
    by: tuple[tuple[str, ...], ...]
    where: tuple[tuple[Matcher, ...], ...]
    quantiles: tuple[float, ...]


def _shape(targets: Sequence[OriginalTarget]) -> _Shape | None:
    names: list[str] = []
    by: list[tuple[str, ...]] = [()]
    where: list[tuple[Matcher, ...]] = [()]
    quantiles: list[float] = []
    for target in targets:
        try:
            # Only Grafana's own variables: a filter's `$var` must stay visible to `_matcher`.
            tree = parse(substitute_variables(target.expr, GRAFANA_VARIABLES))
        except ValueError:
            return None
        for node, _parents in walk(tree):
            if isinstance(node, promql_parser.VectorSelector):
                name = selector_name(node)
                if name not in names:
                    names.append(name)
                found = [_matcher(str(m.name), m.op, str(m.value)) for m in node.matchers.matchers
                         if m.name not in ("__name__", "le")]
                if all(found) and tuple(found) not in where:
                    where.append(tuple(m for m in found if m is not None))
            modifier = getattr(node, "modifier", None)
            if isinstance(node, promql_parser.AggregateExpr) and modifier is not None and \
                    modifier.type == promql_parser.AggModifierType.By:
                labels = tuple(str(label) for label in modifier.labels if label != "le")
                if labels not in by:
                    by.append(labels)
            if function_name(node) == "histogram_quantile" and isinstance(node.args[0], promql_parser.NumberLiteral):
                quantiles.append(float(node.args[0].val))
    return _Shape(tuple(names), tuple(by), tuple(where), tuple(quantiles))


def _family(name: str) -> str:
    return name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")


Candidate = tuple[str, tuple[str, ...], dict[str, Any]]


def _candidates(shape: _Shape, metrics: Mapping[str, Metric]) -> Iterable[Candidate]:
    """Yield (helper, metric names, keyword arguments) for every call the shape allows."""
    counters = [n for n in shape.names if n in metrics and metrics[n].type == COUNTER]
    histograms = sorted({_family(n) for n in shape.names if _family(n) in metrics
                         and metrics[_family(n)].type == HISTOGRAM})
    for name in counters:
        for by in shape.by:
            for where in shape.where:
                for helper in ("rate_per_second", "token_usage", "cost_rate", "cost_over_range", "event_timeline"):
                    yield helper, (name,), {"by": by, "where": where}
                if len(by) == 1:
                    yield "distribution", (name,), {"by": by[0], "where": where}
            if by == ():
                for where in shape.where:
                    yield "count_over_range", (name,), {"where": where}
                    for success in where:  # the numerator's filter is the denominator's plus `success`
                        yield "success_ratio", (name, ), {"success": success,
                                                          "where": tuple(m for m in where if m != success)}
        for by in shape.by:
            for where in shape.where:
                yield "histogram", (name,), {"by": by, "where": where}
                if by:
                    yield "status_history", (name,), {"by": by, "where": where}
        for total in counters:
            if total != name:
                yield from _pairs(name, total, shape)
                yield "cache_hit_ratio", (name, total), {}
    for by in shape.by:
        for where in shape.where:
            if by and counters:
                yield "table", (), {"counters": tuple(metrics[n] for n in counters), "by": by, "where": where}
            for name in (n for n in shape.names if n in metrics and metrics[n].type == GAUGE):
                yield "histogram", (name,), {"by": by, "where": where}
    for name in histograms:
        for where in shape.where:
            yield "heatmap", (name,), {"where": where}
            for by in shape.by:
                if shape.quantiles:
                    yield "duration_quantiles", (name,), {"quantiles": shape.quantiles, "by": by, "where": where}


def _pairs(part: str, whole: str, shape: _Shape) -> Iterable[Candidate]:
    """Yield the helpers of two counters: error ratio, state timeline, gauge and bar gauge of a share."""
    for by in shape.by:
        for where in shape.where:
            yield "error_ratio", (part, whole), {"by": by, "where": where}
            yield "state_timeline", (part, whole), {"by": by, "where": where}
            if len(by) == 1:
                yield "bar_gauge", (part, whole, by[0]), {"where": where}
    for where in shape.where:
        yield "gauge", (part, whole), {"where": where}


def _call(helper: str, names: Sequence[str], kwargs: Mapping[str, Any], metrics: Mapping[str, Metric]) -> Panel | None:
    try:
        args: list[object] = [metrics.get(n, n) for n in names]  # bar_gauge's third argument is a label
        panel: Panel = getattr(h, helper)(*args, **kwargs)
    except (ValueError, TypeError):
        return None
    return panel


def _same_queries(panel: Panel, targets: Sequence[OriginalTarget]) -> bool:
    if len(panel.targets) != len(targets):
        return False
    return all(normalize_expr(ours.expr) == normalize_expr(theirs.expr) and ours.legend == theirs.legend
               and ours.instant == theirs.instant for ours, theirs in zip(panel.targets, targets, strict=True))


def recognise(targets: Sequence[OriginalTarget], metrics: Mapping[str, Metric], kind: str = "",
              unit: str = "") -> Recognised | None:
    """Return the helper call that writes exactly these queries, preferring one of the panel's kind and unit."""
    shape = _shape(targets) if targets else None
    if shape is None:
        return None
    matches: list[Recognised] = []
    for helper, names, kwargs in _candidates(shape, metrics):
        panel = _call(helper, names, kwargs, metrics)
        if panel is not None and _same_queries(panel, targets):
            matches.append(Recognised(helper, tuple(names), tuple(sorted(kwargs.items())), panel))
    if not matches:
        return None
    return max(matches, key=lambda m: (m.panel.kind == kind, m.panel.unit == unit, -matches.index(m)))
