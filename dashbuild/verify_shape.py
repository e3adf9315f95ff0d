"""The selectors and `by` groupings of an emitted query (variables substituted), parsed with promql-parser.

A selector is rebuilt as PromQL from its metric name and matchers, without range, offset or @: the series a
target selects, which verify then asks Prometheus about.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import promql_parser

from dashbuild.queries import parse, walk

_OPS = ((promql_parser.MatchOp.Equal, "="), (promql_parser.MatchOp.NotEqual, "!="),
        (promql_parser.MatchOp.Re, "=~"), (promql_parser.MatchOp.NotRe, "!~"))
_LABEL_MAKERS = frozenset({"label_replace", "label_join"})


@attrs.frozen
class Matcher:
    """One label matcher of a selector."""

    label: str
    op: str
    value: str

    @property
    def text(self) -> str:
        """Return the matcher as PromQL (`provider=~"openai"`)."""
        return f"{self.label}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


@attrs.frozen
class Selector:
    """A vector selector of a query, without range, offset or @: what "the series the target selects" are."""

    name: str
    matchers: tuple[Matcher, ...]
    text: str
    alternatives: bool = False  # `{a="1" or b="2"}`: looked at as a whole only


@attrs.frozen
class Grouping:
    """An aggregation `by (labels)` and the selectors beneath it (labels some function makes are exempt)."""

    labels: tuple[str, ...]
    selectors: tuple[Selector, ...]
    produced: frozenset[str]


@attrs.frozen
class QueryShape:
    """What a query selects and groups by."""

    selectors: tuple[Selector, ...] = ()
    groupings: tuple[Grouping, ...] = ()


def query_shape(expr: str) -> QueryShape:
    """Return the distinct selectors and the `by` groupings of a query; raise ValueError when it does not parse."""
    tree = parse(expr)
    groupings = tuple(Grouping(tuple(node.modifier.labels), _selectors(node.expr), _produced_labels(node))
                      for node, _ in walk(tree) if _groups_by(node))
    return QueryShape(_selectors(tree), groupings)


def _groups_by(node: Any) -> bool:
    return (isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None
            and node.modifier.type == promql_parser.AggModifierType.By and bool(node.modifier.labels))


def _selectors(tree: Any) -> tuple[Selector, ...]:
    found: dict[str, Selector] = {}
    for node, _ in walk(tree):
        if isinstance(node, promql_parser.VectorSelector):
            selector = _selector(node)
            found.setdefault(selector.text, selector)
    return tuple(found.values())


def _produced_labels(tree: Any) -> frozenset[str]:
    produced = set()
    for node, _ in walk(tree):
        if isinstance(node, promql_parser.Call) and node.func.name in _LABEL_MAKERS and len(node.args) > 1:
            produced.add(str(getattr(node.args[1], "val", "")))
        if isinstance(node, promql_parser.AggregateExpr) and isinstance(node.param, promql_parser.StringLiteral):
            produced.add(str(node.param.val))
    return frozenset(produced)


def _matcher(matcher: Any) -> Matcher:
    op = next(text for kind, text in _OPS if matcher.op == kind)
    return Matcher(str(matcher.name), op, str(matcher.value))


def _metric_name(node: Any) -> str:
    if node.name:
        return str(node.name)
    return next((str(m.value) for m in node.matchers.matchers
                 if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal), "")


def _selector(node: Any) -> Selector:
    name = _metric_name(node)
    groups = [[_matcher(m) for m in group] for group in (node.matchers.or_matchers or [])]
    if groups:
        text = name + "{" + " or ".join(",".join(m.text for m in group) for group in groups) + "}"
        return Selector(name, (), text, alternatives=True)
    matchers = tuple(m for m in map(_matcher, node.matchers.matchers)
                     if not (m.label == "__name__" and m.op == "=" and m.value == name))
    body = ",".join(m.text for m in matchers)
    return Selector(name, matchers, f"{name}{{{body}}}" if body or not name else name)


def with_matcher(selector: Selector, matcher: Matcher) -> str:
    """Return PromQL selecting the selector's metric with only this matcher."""
    return f"{selector.name}{{{matcher.text}}}"
