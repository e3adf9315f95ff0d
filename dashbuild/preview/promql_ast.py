"""PromQL parsed by `promql_parser` and turned into this evaluator's own small tree, refusing what it does not support.

Everything the evaluator cannot answer exactly as Prometheus 2.42 would is refused here, before any evaluation, with
`Unsupported` (a clear message naming the construct): subqueries, the `@` modifier, functions outside `FUNCTIONS`,
and parser extensions Prometheus 2.42 does not have (`or` inside braces, `fill` modifiers).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Union

import attrs
import promql_parser as pp

from dashbuild.preview.series_store import NAME, LabelMatcher


class QueryError(Exception):
    """A query Prometheus would answer with an error; `error_type` is the API's `errorType`."""

    def __init__(self, message: str, error_type: str = "execution") -> None:
        super().__init__(message)
        self.error_type = error_type


class Unsupported(QueryError):
    """Valid PromQL that the in-memory evaluator does not support (rather than risk a wrong number)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not supported by the in-memory preview Prometheus: {what}", "execution")


@attrs.frozen
class Number:
    """A number literal."""

    value: float


@attrs.frozen
class String:
    """A string literal."""

    value: str


@attrs.frozen(eq=False)
class Selector:
    """An instant vector selector with its offset (ms)."""

    matchers: tuple[LabelMatcher, ...]
    offset: int
    text: str


@attrs.frozen(eq=False)
class MatrixSelector:
    """A range vector selector: a selector and its range (ms)."""

    selector: Selector
    range: int


@attrs.frozen(eq=False)
class Call:
    """A function call."""

    name: str
    args: tuple[Node, ...]


@attrs.frozen(eq=False)
class Aggregate:
    """An aggregation: `op by (labels)` / `op without (labels)`, with its parameter for topk, quantile, ..."""

    op: str
    expr: Node
    param: Node | None
    labels: tuple[str, ...]
    without: bool


@attrs.frozen(eq=False)
class Binary:
    """A binary operation with its vector matching (`on` or `ignoring` labels, group_left/right `include`)."""

    op: str
    lhs: Node
    rhs: Node
    return_bool: bool
    card: str  # "one-to-one", "many-to-one", "one-to-many" or "many-to-many"
    on: bool
    matching: tuple[str, ...]
    include: tuple[str, ...]


@attrs.frozen(eq=False)
class Negate:
    """Unary minus."""

    expr: Node


Node = Union[Number, String, Selector, MatrixSelector, Call, Aggregate, Binary, Negate]  # noqa: UP007

# The functions evaluated, by the type of their arguments: instant vectors and scalars, or a range vector.
RANGE_FUNCTIONS = frozenset({
    "rate", "increase", "delta", "irate", "idelta", "changes", "resets", "avg_over_time", "sum_over_time",
    "min_over_time", "max_over_time", "count_over_time", "last_over_time", "stddev_over_time", "stdvar_over_time",
    "present_over_time", "quantile_over_time", "absent_over_time"})
INSTANT_FUNCTIONS = frozenset({
    "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "sqrt", "ln", "exp", "scalar", "vector",
    "time", "timestamp", "absent", "label_replace", "label_join", "sort", "sort_desc", "histogram_quantile"})
FUNCTIONS = RANGE_FUNCTIONS | INSTANT_FUNCTIONS
AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev", "stdvar",
                          "group", "count_values"})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})
COMPARISON = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})
# promql_parser's enums compare equal but are not hashable: looked up in pairs.
_MATCH_OPS = ((pp.MatchOp.Equal, "="), (pp.MatchOp.NotEqual, "!="), (pp.MatchOp.Re, "=~"), (pp.MatchOp.NotRe, "!~"))
_CARDS = ((pp.VectorMatchCardinality.OneToOne, "one-to-one"), (pp.VectorMatchCardinality.ManyToOne, "many-to-one"),
          (pp.VectorMatchCardinality.OneToMany, "one-to-many"),
          (pp.VectorMatchCardinality.ManyToMany, "many-to-many"))


def _lookup(pairs: tuple[tuple[object, str], ...], key: object, what: str) -> str:
    for candidate, name in pairs:
        if candidate == key:
            return name
    raise Unsupported(f"{what} {key!r}")


def parse(text: str) -> Node:
    """Return the tree of a PromQL expression; raise QueryError (bad_data) if it does not parse, Unsupported if the
    evaluator cannot answer it."""
    try:
        expr = pp.parse(text)
    except (ValueError, TypeError) as error:
        raise QueryError(f"cannot parse {text!r}: {error}", "bad_data") from None
    return _convert(expr)


def _ms(delta: timedelta | None) -> int:
    return 0 if delta is None else round(delta / timedelta(milliseconds=1))


def _convert(expr: pp.Expr) -> Node:
    if isinstance(expr, pp.ParenExpr):
        return _convert(expr.expr)
    if isinstance(expr, pp.NumberLiteral):
        return Number(float(expr.val))
    if isinstance(expr, pp.StringLiteral):
        return String(str(expr.val))
    if isinstance(expr, pp.VectorSelector):
        return _selector(expr)
    if isinstance(expr, pp.MatrixSelector):
        return MatrixSelector(_selector(expr.vector_selector), _ms(expr.range))
    if isinstance(expr, pp.SubqueryExpr):
        raise Unsupported(f"subquery {expr}")
    if isinstance(expr, pp.UnaryExpr):
        return Negate(_convert(expr.expr))
    if isinstance(expr, pp.Call):
        name = str(expr.func.name)
        if name not in FUNCTIONS:
            raise Unsupported(f"function {name}() (supported: {', '.join(sorted(FUNCTIONS))})")
        return Call(name, tuple(_convert(arg) for arg in expr.args))
    if isinstance(expr, pp.AggregateExpr):
        return _aggregate(expr)
    if isinstance(expr, pp.BinaryExpr):
        return _binary(expr)
    raise Unsupported(f"expression {expr} of type {type(expr).__name__}")


def _selector(expr: pp.VectorSelector) -> Selector:
    if expr.at is not None:
        raise Unsupported(f"the @ modifier in {expr}")
    if expr.matchers.or_matchers:
        raise Unsupported(f"`or` inside a selector's braces in {expr} (not in Prometheus 2.42)")
    matchers = [LabelMatcher.of(NAME, "=", expr.name)] if expr.name else []
    try:
        matchers += [LabelMatcher.of(m.name, _lookup(_MATCH_OPS, m.op, "label matcher"), m.value)
                     for m in expr.matchers.matchers]
    except ValueError as error:
        raise QueryError(str(error), "bad_data") from None
    return Selector(tuple(matchers), _ms(expr.offset), str(expr))


def _aggregate(expr: pp.AggregateExpr) -> Aggregate:
    op = str(expr.op)
    if op not in AGGREGATIONS:
        raise Unsupported(f"aggregation {op} (supported: {', '.join(sorted(AGGREGATIONS))})")
    modifier = expr.modifier
    labels = tuple(modifier.labels) if modifier is not None else ()
    without = modifier is not None and modifier.type == pp.AggModifierType.Without
    param = _convert(expr.param) if expr.param is not None else None
    return Aggregate(op, _convert(expr.expr), param, labels, without)


def _binary(expr: pp.BinaryExpr) -> Binary:
    op = str(expr.op)
    if op not in ARITHMETIC | COMPARISON | SET_OPERATORS:
        raise Unsupported(f"binary operator {op}")
    modifier = expr.modifier
    default = "many-to-many" if op in SET_OPERATORS else "one-to-one"
    if modifier is None:
        return Binary(op, _convert(expr.lhs), _convert(expr.rhs), False, default, False, (), ())
    fill = modifier.fill_values
    if fill is not None and (fill.lhs is not None or fill.rhs is not None):
        raise Unsupported(f"fill modifiers in {expr} (not in Prometheus 2.42)")
    card = default if modifier.card is None else _lookup(_CARDS, modifier.card, "vector matching")
    matching = modifier.matching
    on = matching is not None and matching.type == pp.LabelModifierType.Include
    labels = tuple(matching.labels) if matching is not None else ()
    include = tuple(modifier.group_labels or ()) if card in ("many-to-one", "one-to-many") else ()
    return Binary(op, _convert(expr.lhs), _convert(expr.rhs), bool(modifier.return_bool), card, on, labels, include)
