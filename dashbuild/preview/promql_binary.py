"""PromQL binary operators between scalars and instant vectors, with Prometheus 2.42's vector matching.

Arithmetic drops the metric name, comparisons keep it (unless `bool`), set operators keep every label; one-to-one
matching keeps only the `on` labels (or drops the `ignoring` ones); group_left/group_right copy the `include` labels
from the "one" side. The errors for ambiguous matches are Prometheus' own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from dashbuild.preview.promql_ast import ARITHMETIC, Binary, QueryError
from dashbuild.preview.promql_values import Vector, drop_name, go_div, go_mod, go_pow
from dashbuild.preview.series_store import NAME, Labels, format_labels

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": go_div,
    "%": go_mod,
    "^": go_pow,
    "atan2": math.atan2,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def element(op: str, left: float, right: float) -> tuple[float, bool]:
    """Return (value, keep) of one pair: arithmetic keeps always; a comparison keeps the left value if true."""
    arithmetic = _ARITHMETIC.get(op)
    if arithmetic is not None:
        return arithmetic(left, right), True
    return left, _COMPARE[op](left, right)


def scalars(op: str, left: float, right: float, return_bool: bool) -> float:
    """Return scalar op scalar (the parser only allows comparisons with `bool` here)."""
    value, keep = element(op, left, right)
    return (1.0 if keep else 0.0) if op in _COMPARE else value


def vector_scalar(op: str, vector: Vector, scalar: float, scalar_on_left: bool, return_bool: bool) -> Vector:
    """Return vector op scalar (or scalar op vector): a comparison filters, or answers 0/1 with `bool`."""
    out: Vector = []
    drop = op in ARITHMETIC or return_bool
    for labels, value in vector:
        left, right = (scalar, value) if scalar_on_left else (value, scalar)
        result, keep = element(op, left, right)
        if op in _COMPARE and scalar_on_left:
            result = value  # the vector's value is kept, even when it is on the right
        if return_bool:
            result, keep = (1.0 if keep else 0.0), True
        if keep:
            out.append((drop_name(labels) if drop else labels, result))
    return out


def _signature(labels: Labels, on: bool, names: frozenset[str]) -> Labels:
    if on:
        return tuple(pair for pair in labels if pair[0] in names)
    return tuple(pair for pair in labels if pair[0] not in names and pair[0] != NAME)


def set_operation(node: Binary, lhs: Vector, rhs: Vector) -> Vector:
    """Return lhs and/or/unless rhs (matching on all labels but the name, or on/ignoring the listed ones)."""
    names = frozenset(node.matching)
    if node.op == "or":
        if not lhs or not rhs:
            return lhs + rhs
        seen = {_signature(labels, node.on, names) for labels, _ in lhs}
        return lhs + [s for s in rhs if _signature(s[0], node.on, names) not in seen]
    if not lhs or not rhs:
        return [] if node.op == "and" else lhs
    right = {_signature(labels, node.on, names) for labels, _ in rhs}
    keep = node.op == "and"
    return [s for s in lhs if (_signature(s[0], node.on, names) in right) == keep]


def vectors(node: Binary, lhs: Vector, rhs: Vector) -> Vector:
    """Return lhs op rhs for arithmetic and comparison operators, with one-to-one or many-to-one matching."""
    names = frozenset(node.matching)
    swapped = node.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    one_by_signature: dict[Labels, tuple[Labels, float]] = {}
    for labels, value in one:
        signature = _signature(labels, node.on, names)
        if signature in one_by_signature:
            side = "left" if swapped else "right"
            raise QueryError(f"found duplicate series for the match group {format_labels(signature)} on the {side} "
                             f"hand-side of the operation: [{format_labels(labels)}, "
                             f"{format_labels(one_by_signature[signature][0])}];many-to-many matching not allowed: "
                             "matching labels must be unique on one side")
        one_by_signature[signature] = (labels, value)
    matched: dict[Labels, set[Labels] | None] = {}
    out: Vector = []
    for labels, value in many:
        signature = _signature(labels, node.on, names)
        partner = one_by_signature.get(signature)
        if partner is None:
            continue
        left, right = (partner[1], value) if swapped else (value, partner[1])
        result, keep = element(node.op, left, right)
        if node.return_bool:
            result = 1.0 if keep else 0.0
        elif not keep:
            continue
        metric = _result_labels(labels, partner[0], node)
        if node.return_bool:
            metric = drop_name(metric)
        if node.card == "one-to-one":
            if signature in matched:
                raise QueryError("multiple matches for labels: many-to-one matching must be explicit "
                                 "(group_left/group_right)")
            matched[signature] = None
        else:
            inserted = matched.setdefault(signature, set())
            assert inserted is not None
            if metric in inserted:
                raise QueryError("multiple matches for labels: grouping labels must ensure unique matches")
            inserted.add(metric)
        out.append((metric, result))
    return out


def _result_labels(many: Labels, one: Labels, node: Binary) -> Labels:
    result = dict(many)
    if node.op in ARITHMETIC:
        result.pop(NAME, None)
    if node.card == "one-to-one":
        if node.on:
            result = {k: v for k, v in result.items() if k in node.matching}
        else:
            for name in node.matching:
                result.pop(name, None)
    one_labels = dict(one)
    for name in node.include:
        if one_labels.get(name, ""):
            result[name] = one_labels[name]
        else:
            result.pop(name, None)
    return tuple(sorted(result.items()))
