"""A PromQL evaluator over a SeriesStore, with Prometheus 2.42's semantics (its reference is Debian's `prometheus`).

An expression is evaluated at one timestamp at a time, as Prometheus' engine evaluates each step of a range query:
instant selectors look back 5 minutes (a stale marker ends a series), range selectors read the samples with
`t - range <= sample <= t` (both ends inclusive in 2.x), then functions, aggregations and operators follow
promql_functions, promql_aggregate and promql_binary. What promql_ast refuses is never evaluated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from dashbuild.preview import promql_functions as fn
from dashbuild.preview.promql_aggregate import aggregate
from dashbuild.preview.promql_ast import (
    SET_OPERATORS,
    Aggregate,
    Binary,
    Call,
    MatrixSelector,
    Negate,
    Node,
    Number,
    QueryError,
    Selector,
    String,
)
from dashbuild.preview.promql_binary import scalars, set_operation, vector_scalar, vectors
from dashbuild.preview.promql_values import RangeSeries, Scalar, StringValue, Value, Vector, drop_name
from dashbuild.preview.series_store import NAME, Labels, SeriesStore, is_stale

_NO_LABELS: Labels = ()
LOOKBACK_MS = 5 * 60 * 1000  # Prometheus' default --query.lookback-delta
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def value_type(node: Node) -> str:
    """Return the PromQL type an expression evaluates to: "scalar", "vector", "matrix" or "string"."""
    if isinstance(node, Number):
        return "scalar"
    if isinstance(node, String):
        return "string"
    if isinstance(node, MatrixSelector):
        return "matrix"
    if isinstance(node, Call):
        return "scalar" if node.name in ("scalar", "time") else "vector"
    if isinstance(node, Binary):
        return "scalar" if value_type(node.lhs) == value_type(node.rhs) == "scalar" else "vector"
    if isinstance(node, Negate):
        return value_type(node.expr)
    return "vector"


class Evaluator:
    """Evaluates expression trees (promql_ast) over one store at given timestamps (ms)."""

    def __init__(self, store: SeriesStore, lookback_ms: int = LOOKBACK_MS) -> None:
        self.store = store
        self.lookback_ms = lookback_ms

    def evaluate(self, node: Node, ts: int) -> Value:
        """Return the value of `node` at `ts` (ms); raise QueryError as Prometheus would fail the query."""
        if isinstance(node, Number):
            return Scalar(node.value)
        if isinstance(node, String):
            return StringValue(node.value)
        if isinstance(node, Selector):
            return [(labels, value) for labels, _, value in self._instant(node, ts)]
        if isinstance(node, MatrixSelector):
            return [RangeSeries(labels, times, values) for labels, times, values in self._windows(node, ts)]
        if isinstance(node, Negate):
            operand = self.evaluate(node.expr, ts)
            if isinstance(operand, Scalar):
                return Scalar(-operand.value)
            return _unique([(drop_name(labels), -value) for labels, value in self._vector(operand)])
        if isinstance(node, Aggregate):
            return self._aggregate(node, ts)
        if isinstance(node, Binary):
            return self._binary(node, ts)
        if isinstance(node, Call):
            return self._call(node, ts)
        raise QueryError(f"cannot evaluate {node!r}")

    def _vector(self, value: Value) -> Vector:
        if not isinstance(value, list) or (value and isinstance(value[0], RangeSeries)):
            raise QueryError(f"expected an instant vector, got {type(value).__name__}")
        return value  # type: ignore[return-value]

    def _scalar(self, node: Node, ts: int) -> float:
        value = self.evaluate(node, ts)
        if not isinstance(value, Scalar):
            raise QueryError("expected a scalar")
        return value.value

    def _instant(self, node: Selector, ts: int) -> list[tuple[Labels, int, float]]:
        reference = ts - node.offset
        oldest = reference - self.lookback_ms
        out = []
        for series in self.store.select(node.matchers):
            times = series.times
            if not times or times[0] > reference or times[-1] < oldest:
                continue
            index = series.index_at(reference)
            value = series.values[index]
            if times[index] < oldest or (value != value and is_stale(value)):
                continue
            out.append((series.labels, times[index], value))
        return out

    def _windows(self, node: MatrixSelector, ts: int) -> list[tuple[Labels, list[int], list[float]]]:
        end = ts - node.selector.offset
        start = end - node.range
        out = []
        for series in self.store.select(node.selector.matchers):
            times = series.times
            if not times or times[0] > end or times[-1] < start:
                continue
            window_times, window_values = series.window(start, end)
            if window_times:
                out.append((series.labels, window_times, window_values))
        return out

    def _aggregate(self, node: Aggregate, ts: int) -> Vector:
        param: float | str | None = None
        if node.op in ("topk", "bottomk", "quantile"):
            assert node.param is not None
            param = self._scalar(node.param, ts)
        elif node.op == "count_values":
            assert isinstance(node.param, String)
            param = node.param.value
        return aggregate(node.op, self._vector(self.evaluate(node.expr, ts)), node.labels, node.without, param)

    def _binary(self, node: Binary, ts: int) -> Value:
        lhs, rhs = self.evaluate(node.lhs, ts), self.evaluate(node.rhs, ts)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            return Scalar(scalars(node.op, lhs.value, rhs.value, node.return_bool))
        if isinstance(rhs, Scalar):
            return _unique(vector_scalar(node.op, self._vector(lhs), rhs.value, False, node.return_bool))
        if isinstance(lhs, Scalar):
            return _unique(vector_scalar(node.op, self._vector(rhs), lhs.value, True, node.return_bool))
        if node.op in SET_OPERATORS:
            return set_operation(node, self._vector(lhs), self._vector(rhs))
        return _unique(vectors(node, self._vector(lhs), self._vector(rhs)))

    def _call(self, node: Call, ts: int) -> Value:
        if node.name in fn.OVER_TIME or node.name in ("rate", "increase", "delta", "irate", "idelta",
                                                      "quantile_over_time", "absent_over_time"):
            return self._range_call(node, ts)
        if node.name == "time":
            return Scalar(ts / 1000)
        if node.name == "vector":
            return [(_NO_LABELS, self._scalar(node.args[0], ts))]
        if node.name == "scalar":
            vector = self._vector(self.evaluate(node.args[0], ts))
            return Scalar(vector[0][1] if len(vector) == 1 else math.nan)
        if node.name == "timestamp":
            return self._timestamp(node.args[0], ts)
        if node.name == "absent":
            return [] if self._vector(self.evaluate(node.args[0], ts)) else [(_absent_labels(node.args[0]), 1.0)]
        if node.name == "histogram_quantile":
            q = self._scalar(node.args[0], ts)
            return _histogram_quantile(q, self._vector(self.evaluate(node.args[1], ts)))
        vector = self._vector(self.evaluate(node.args[0], ts))
        return _unique(self._vector_function(node, vector, ts))

    def _vector_function(self, node: Call, vector: Vector, ts: int) -> Vector:
        name = node.name
        if name in fn.SIMPLE:
            apply = fn.SIMPLE[name]
            return [(drop_name(labels), apply(value)) for labels, value in vector]
        if name == "round":
            nearest = self._scalar(node.args[1], ts) if len(node.args) > 1 else 1.0
            return [(drop_name(labels), fn.round_to(value, nearest)) for labels, value in vector]
        if name in ("clamp", "clamp_min", "clamp_max"):
            bounds = [self._scalar(arg, ts) for arg in node.args[1:]]
            low, high = {"clamp": bounds, "clamp_min": [bounds[0], math.inf],
                         "clamp_max": [-math.inf, bounds[0]]}[name]
            if name == "clamp" and high < low:
                return []
            return [(drop_name(labels), _bound(name, value, low, high)) for labels, value in vector]
        if name in ("sort", "sort_desc"):
            # Go's sort is not stable beyond 12 elements; this one is (equal values keep their input order).
            nans = [s for s in vector if s[1] != s[1]]
            numbers = sorted((s for s in vector if s[1] == s[1]), key=lambda s: s[1], reverse=name == "sort_desc")
            return nans + numbers if name == "sort" else numbers + nans
        if name == "label_replace":
            return [_label_replace(labels, value, node.args[1:]) for labels, value in vector]
        if name == "label_join":
            return [_label_join(labels, value, node.args[1:]) for labels, value in vector]
        raise QueryError(f"function {name} is not implemented")

    def _timestamp(self, arg: Node, ts: int) -> Vector:
        if isinstance(arg, Selector):
            return _unique([(drop_name(labels), t / 1000) for labels, t, _ in self._instant(arg, ts)])
        return _unique([(drop_name(labels), ts / 1000) for labels, _ in self._vector(self.evaluate(arg, ts))])

    def _range_call(self, node: Call, ts: int) -> Vector:
        matrix = node.args[-1]
        if not isinstance(matrix, MatrixSelector):
            raise QueryError(f"{node.name}() needs a range vector selector")
        windows = self._windows(matrix, ts)
        if node.name == "absent_over_time":
            return [] if windows else [(_absent_labels(matrix.selector), 1.0)]
        q = self._scalar(node.args[0], ts) if node.name == "quantile_over_time" else 0.0
        end = ts - matrix.selector.offset
        out: Vector = []
        for labels, times, values in windows:
            result = _range_value(node.name, times, values, end - matrix.range, end, matrix.range / 1000, q)
            if result is not None:
                out.append((labels if node.name == "last_over_time" else drop_name(labels), result))
        return _unique(out)


def _range_value(name: str, times: Sequence[int], values: Sequence[float], start: int, end: int,
                 range_seconds: float, q: float) -> float | None:
    if name in ("rate", "increase", "delta"):
        return fn.extrapolated_rate(times, values, start, end, range_seconds, name != "delta", name == "rate")
    if name in ("irate", "idelta"):
        return fn.instant_value(times, values, name == "irate")
    if name == "quantile_over_time":
        return fn.quantile(q, values)
    return fn.OVER_TIME[name](values)


def _bound(name: str, value: float, low: float, high: float) -> float:
    if name == "clamp":
        return fn.clamp(value, low, high)
    if name == "clamp_min":
        return fn.go_max(value, low)
    return fn.go_min(value, high)


def _unique(vector: Vector) -> Vector:
    if len(vector) > 1 and len({labels for labels, _ in vector}) != len(vector):
        raise QueryError("vector cannot contain metrics with the same labelset")
    return vector


def _absent_labels(node: Node) -> Labels:
    if not isinstance(node, Selector):
        return ()
    result: dict[str, str] = {}
    seen: set[str] = set()
    for matcher in node.matchers:
        if matcher.name == NAME:
            continue
        if matcher.op == "=" and matcher.name not in seen:
            result[matcher.name] = matcher.value
            seen.add(matcher.name)
        else:
            result.pop(matcher.name, None)
    return tuple(sorted((k, v) for k, v in result.items() if v != ""))


def _histogram_quantile(q: float, vector: Vector) -> Vector:
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for labels, value in vector:
        bound = fn.parse_bound(dict(labels).get("le", ""))
        if bound is None:
            continue  # no `le` or not a number: Prometheus skips the sample
        key = tuple(pair for pair in labels if pair[0] not in (NAME, "le"))
        groups.setdefault(key, []).append((bound, value))
    return [(labels, fn.bucket_quantile(q, buckets)) for labels, buckets in groups.items()]


def _string_args(args: Sequence[Node]) -> list[str]:
    if not all(isinstance(arg, String) for arg in args):
        raise QueryError("expected string arguments")
    return [arg.value for arg in args if isinstance(arg, String)]


def _label_replace(labels: Labels, value: float, args: Sequence[Node]) -> tuple[Labels, float]:
    destination, replacement, source, regex = _string_args(args)
    try:
        pattern = re.compile(f"(?:{regex})")
    except re.error as error:
        raise QueryError(f"invalid regular expression in label_replace(): {regex}: {error}") from None
    if not _LABEL_NAME.match(destination):
        raise QueryError(f"invalid destination label name in label_replace(): {destination}")
    match = pattern.fullmatch(dict(labels).get(source, ""))
    if match is None:
        return labels, value
    result = dict(labels)
    expanded = _go_expand(replacement, match)
    if expanded:
        result[destination] = expanded
    else:
        result.pop(destination, None)
    return tuple(sorted(result.items())), value


def _go_expand(template: str, match: re.Match[str]) -> str:
    """Return Go's regexp.Expand of `template`: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups are ""."""
    out, i = [], 0
    while i < len(template):
        char = template[i]
        if char != "$" or i + 1 == len(template):
            out.append(char)
            i += 1
            continue
        if template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        braced = template[i + 1] == "{"
        j = i + 2 if braced else i + 1
        k = j
        while k < len(template) and (template[k].isalnum() or template[k] == "_") and template[k].isascii():
            k += 1
        name = template[j:k]
        if not name or (braced and (k >= len(template) or template[k] != "}")):
            out.append("$")  # not a reference: Go keeps the dollar sign as text
            i += 1
            continue
        out.append(_group(match, name))
        i = k + 1 if braced else k
    return "".join(out)


def _group(match: re.Match[str], name: str) -> str:
    try:
        found = match.group(int(name)) if name.isdigit() else match.group(name)
    except IndexError:  # no such group: Go expands it to ""
        return ""
    return found or ""


def _label_join(labels: Labels, value: float, args: Sequence[Node]) -> tuple[Labels, float]:
    destination, separator, *sources = _string_args(args)
    if not _LABEL_NAME.match(destination):
        raise QueryError(f"invalid destination label name in label_join(): {destination}")
    current = dict(labels)
    joined = separator.join(current.get(source, "") for source in sources)
    if joined:
        current[destination] = joined
    else:
        current.pop(destination, None)
    return tuple(sorted(current.items())), value
