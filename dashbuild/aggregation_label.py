"""Rules made per cluster for a store that holds many clusters' series (Mimir's, Cortex' and Thanos' advice, as
`mimirtool rules prepare` does): every aggregation keeps the label, and every `on (...)` match includes it.

One thing more than mimirtool: `vector(s)` has no labels, so in a multi-cluster store a fallback such as
`sum(x) or vector(0)` would give one unlabelled zero instead of a zero per cluster, and `+` between per-cluster
series and that zero would drop every cluster that lacks one module. It becomes `s` for each cluster that has any
`up` series (each of its Prometheus servers scrapes something), so the fallback means what it does locally.
Functions whose result cannot be kept apart per cluster (`scalar`, `absent`) are refused, naming the rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import promql_parser

Json = dict[str, Any]

# A string literal in any of PromQL's three quotes, or a comment.
_LEXEME = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`|#[^\n]*')
# The parser prints `x{}` for `x`, and two spaces after set operators; reviewers read these files.
_EMPTY_MATCHERS = re.compile(r"(?<=[\w:])\{\}")

# Whose result has no labels to keep apart per cluster: refused rather than silently mixing clusters.
_UNSPLITTABLE = ("scalar", "absent", "absent_over_time")


class NotPerCluster(ValueError):
    """An expression the rewrite cannot keep apart per cluster."""


def _labels(names: Sequence[str]) -> str:
    return ", ".join(names)


_PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3, "+": 4, "-": 4,
               "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}


def _operand(node: Any, parent: str, side: str) -> str:
    # Parentheses where the printed operand would otherwise bind differently than the parsed one did: a looser
    # operator, or an equally tight one on the side its associativity does not group (`^` groups to the right).
    if isinstance(node, promql_parser.UnaryExpr):
        return f"({node})"
    if not isinstance(node, promql_parser.BinaryExpr):
        return str(node)
    child, outer = _PRECEDENCE[str(node.op)], _PRECEDENCE[parent]
    grouped_side = "rhs" if parent == "^" else "lhs"
    return str(node) if child > outer or (child == outer and side == grouped_side) else f"({node})"


def _aggregation(node: Any, label: str) -> Any:
    modifier = node.modifier
    if modifier is not None and modifier.type == promql_parser.AggModifierType.Without:
        grouping = f"without ({_labels([name for name in modifier.labels if name != label])})"
    else:
        names = list(modifier.labels) if modifier is not None else []
        grouping = f"by ({_labels(names if label in names else [*names, label])})"
    param = f"{node.param}, " if node.param is not None else ""
    return promql_parser.parse(f"{node.op} {grouping} ({param}{node.expr})")


def _binary(node: Any, label: str) -> Any:
    modifier, op = node.modifier, str(node.op)
    if modifier is None:
        return promql_parser.parse(f"{_operand(node.lhs, op, 'lhs')} {op} {_operand(node.rhs, op, 'rhs')}")
    fill = modifier.fill_values
    if fill is not None and (fill.lhs is not None or fill.rhs is not None):
        raise NotPerCluster(f"fill modifiers are not rewritten: {node}")
    names = list(modifier.matching.labels) if modifier.matching is not None else []
    included = list(modifier.group_labels or [])
    if modifier.matching is None:
        matching = ""
    elif modifier.matching.type == promql_parser.LabelModifierType.Include:
        matching = f"on ({_labels(names if label in names or label in included else [*names, label])})"
    else:
        matching = f"ignoring ({_labels([name for name in names if name != label])})"
    card = modifier.card
    group = ""
    if card == promql_parser.VectorMatchCardinality.ManyToOne:
        group = f" group_left ({_labels(included)})"
    elif card == promql_parser.VectorMatchCardinality.OneToMany:
        group = f" group_right ({_labels(included)})"
    flag = " bool" if modifier.return_bool else ""
    return promql_parser.parse(f"{_operand(node.lhs, op, 'lhs')} {op}{flag} {matching}{group} "
                               f"{_operand(node.rhs, op, 'rhs')}")


def _call(node: Any, label: str) -> Any:
    name = str(node.func.name)
    if name in _UNSPLITTABLE:
        raise NotPerCluster(f"{name}() gives one result for every {label}: {node}")
    if name == "vector":
        (value,) = node.args
        return promql_parser.parse(f"((0 * group by ({label}) (up)) + ({value}))")
    return None


def _protected(expr: str) -> tuple[str, dict[str, str]]:
    # The parser prints string literals without their escapes (`"a\\"b"` as `"a"b"`), so each literal is parsed as
    # a plain placeholder and written back as it was. Comments are dropped, as the parser drops them.
    stem = "dashbuildliteral"
    while stem in expr:
        stem += "x"
    literals: dict[str, str] = {}

    def hold(match: re.Match[str]) -> str:
        if match.group().startswith("#"):
            return ""
        placeholder = f'"{stem}{len(literals)}"'
        literals[placeholder] = match.group()
        return placeholder

    return _LEXEME.sub(hold, expr), literals


def _restored(text: str, literals: dict[str, str]) -> str:
    parts = re.split(r'("[a-z]+[0-9]+")', _EMPTY_MATCHERS.sub("", text).replace("  ", " "))
    return "".join(literals.get(part, part) for part in parts)


def per_label(expr: str, label: str) -> str:
    """Return `expr` computed apart for each value of `label`; raise NotPerCluster when it cannot be."""
    def rewrite(node: Any) -> Any:
        if isinstance(node, promql_parser.AggregateExpr):
            return _aggregation(node, label)
        if isinstance(node, promql_parser.BinaryExpr):
            return _binary(node, label)
        if isinstance(node, promql_parser.Call):
            return _call(node, label)
        return None

    source, literals = _protected(expr)
    return _restored(str(promql_parser.transform(promql_parser.parse(source), post_visit=rewrite)), literals)


def groups_per_label(groups: Sequence[Json], label: str) -> list[Json]:
    """Return rule groups whose every expression is computed apart per `label`; raise NotPerCluster naming the
    group and rule of an expression that cannot be."""
    rewritten: list[Json] = []
    for group in groups:
        rules: list[Json] = []
        for rule in group["rules"]:
            try:
                rules.append({**rule, "expr": per_label(rule["expr"], label)})
            except NotPerCluster as error:
                name = rule.get("record") or rule.get("alert")
                raise NotPerCluster(f"group {group['name']}, rule {name}: {error}") from None
        rewritten.append({**group, "rules": rules})
    return rewritten
