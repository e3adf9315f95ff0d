"""Small PromQL builders. Call sites compose these instead of pasting strings.

Every label value passes through `escape_label_value`, every label and metric
name is checked, so a quote or backslash in a filter value cannot break a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import attrs

from moddash.contract.model import LABEL_NAME_RE, METRIC_NAME_RE

RATE_INTERVAL = "$__rate_interval"
RANGE = "$__range"
INTERVAL = "$__interval"

MatchOp = Literal["=", "!=", "=~", "!~"]
_VARIABLE_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_label_value(value: str) -> str:
    """Return `value` escaped for a double-quoted PromQL string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _check_label(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not LABEL_NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid label name")


@attrs.frozen
class Matcher:
    """One label matcher, e.g. `status="error"`."""

    label: str = attrs.field(validator=_check_label)
    op: MatchOp = attrs.field(validator=attrs.validators.in_(("=", "!=", "=~", "!~")))
    value: str

    def render(self) -> str:
        """Return the matcher as PromQL text with its value escaped."""
        return f'{self.label}{self.op}"{escape_label_value(self.value)}"'


# Grafana interpolates $name, ${name} and [[name]] anywhere in a query and has no escape for them.
_GRAFANA_VARIABLE_SYNTAX = re.compile(r"\$\w|\$\{|\[\[")


def _literal(label: str, value: str) -> str:
    if _GRAFANA_VARIABLE_SYNTAX.search(value):
        raise ValueError(f"value {value!r} for label {label!r} contains Grafana variable syntax, which Grafana "
                         "would interpolate; use promql.variable() to filter by a dashboard variable")
    return value


def eq(label: str, value: str) -> Matcher:
    """Return an equality matcher `label="value"` (a literal value, never a Grafana variable)."""
    return Matcher(label, "=", _literal(label, value))


def ne(label: str, value: str) -> Matcher:
    """Return an inequality matcher `label!="value"` (a literal value, never a Grafana variable)."""
    return Matcher(label, "!=", _literal(label, value))


def regex(label: str, pattern: str) -> Matcher:
    """Return a regex matcher `label=~"pattern"` (a literal pattern, never a Grafana variable)."""
    return Matcher(label, "=~", _literal(label, pattern))


def variable(label: str, name: str | None = None) -> Matcher:
    """Return a matcher filtering `label` by the dashboard variable `$name` (default: the label's name)."""
    var = name or label
    if not _VARIABLE_RE.fullmatch(var):
        raise ValueError(f"{var!r} is not a valid dashboard variable name")
    return Matcher(label, "=~", f"${var}")


def selector(metric: str, matchers: Iterable[Matcher] = ()) -> str:
    """Return an instant vector selector `metric{matchers}`."""
    if not METRIC_NAME_RE.fullmatch(metric):
        raise ValueError(f"{metric!r} is not a valid metric name")
    rendered = ", ".join(m.render() for m in matchers)
    return f"{metric}{{{rendered}}}" if rendered else metric


def _window(range_: str) -> str:
    return f"[{range_}]"


def rate(vector_selector: str, window: str = RATE_INTERVAL) -> str:
    """Return `rate(selector[window])`."""
    return f"rate({vector_selector}{_window(window)})"


def increase(vector_selector: str, window: str = RANGE) -> str:
    """Return `increase(selector[window])`."""
    return f"increase({vector_selector}{_window(window)})"


def over_time(function: str, vector_selector: str, window: str = RANGE) -> str:
    """Return `<function>_over_time(selector[window])`, e.g. avg_over_time."""
    if function not in {"avg", "min", "max", "sum", "count", "last"}:
        raise ValueError(f"unsupported *_over_time function {function!r}")
    return f"{function}_over_time({vector_selector}{_window(window)})"


def _by_clause(by: Iterable[str]) -> str:
    labels = list(by)
    for label in labels:
        if not LABEL_NAME_RE.fullmatch(label):
            raise ValueError(f"{label!r} is not a valid label name")
    return f" by ({', '.join(labels)})" if labels else ""


def aggregate(op: str, expr: str, by: Iterable[str] = ()) -> str:
    """Return `op by (labels) (expr)`, or `op(expr)` when `by` is empty."""
    if op not in {"sum", "avg", "min", "max", "count"}:
        raise ValueError(f"unsupported aggregation {op!r}")
    clause = _by_clause(by)
    return f"{op}{clause} ({expr})" if clause else f"{op}({expr})"


def sum_by(expr: str, by: Iterable[str] = ()) -> str:
    """Return `sum by (labels) (expr)`, or `sum(expr)` when `by` is empty."""
    return aggregate("sum", expr, by)


def histogram_quantile(quantile: float, bucket_metric: str, matchers: Iterable[Matcher] = (),
                       by: Iterable[str] = (), window: str = RATE_INTERVAL) -> str:
    """Return `histogram_quantile(q, sum by (le, …) (rate(metric_bucket{…}[window])))`."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if not bucket_metric.endswith("_bucket"):
        raise ValueError(f"{bucket_metric!r} is not a histogram bucket series")
    keep = ["le", *[label for label in by if label != "le"]]
    return f"histogram_quantile({quantile:g}, {sum_by(rate(selector(bucket_metric, matchers), window), keep)})"


def topk(k: int, expr: str) -> str:
    """Return `topk(k, expr)`: the k largest series at each step."""
    if k < 1:
        raise ValueError(f"topk needs k >= 1, got {k}")
    return f"topk({k}, {expr})"


_CALL_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?: by \([^()\"]*\))? ?\(")


def _closing_paren(expr: str, opening: int) -> int:
    """Return the index of the parenthesis closing the one at `opening` (quoted label values skipped)."""
    depth, quote, index = 0, "", opening
    while index < len(expr):
        char = expr[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _group(expr: str) -> str:
    """Return `expr` if it is one call or parenthesised whole (e.g. `sum(x)`), else `(expr)`."""
    call = _CALL_RE.match(expr)
    opening = call.end() - 1 if call else 0
    if (call or expr.startswith("(")) and _closing_paren(expr, opening) == len(expr) - 1:
        return expr
    return f"({expr})"


def ratio(numerator: str, denominator: str) -> str:
    """Return `numerator / (denominator > 0)`: empty, not NaN or infinite, where the denominator is 0.

    A plain division gives NaN for 0/0 (no traffic) and +Inf for x/0; the filter keeps only positive
    denominators, so "nothing happened" shows as no value.
    """
    return f"{_group(numerator)} / ({_group(denominator)} > 0)"


def or_zero(expr: str) -> str:
    """Return `expr or vector(0)`, so a sum of terms survives a missing term."""
    return f"{_group(expr)} or vector(0)"


def or_zero_like(expr: str, like: str) -> str:
    """Return `expr or like * 0`: `expr`, plus a 0 for every series of `like` that `expr` lacks.

    A labelled counter has no series until it is first incremented (`errors_total` before the first
    error), so `errors / operations` would drop what never failed; this keeps it, at 0.
    """
    return f"{_group(expr)} or {_group(like)} * 0"


def non_negative(expr: str) -> str:
    """Return `expr >= 0`: drops NaN, which fails every comparison, and keeps every value >= 0.

    histogram_quantile() is NaN when no observation fell in the window; durations are never negative.
    """
    return f"{_group(expr)} >= 0"


def offset(vector_selector: str, by: str) -> str:
    """Return `selector offset by`: the selector's value `by` earlier (e.g. at the start of `$__range`)."""
    return f"{vector_selector} offset {by}"


_DURATION_RE = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?")


def seconds(duration: str) -> float:
    """Return a Prometheus duration written in h, m, s and ms (`5s`, `1m`, `1h30m`) in seconds."""
    match = _DURATION_RE.fullmatch(duration)
    if not duration or match is None:
        raise ValueError(f"{duration!r} is not a duration such as 5s, 1m or 1h30m")
    hours, minutes, secs, millis = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def add(terms: Iterable[str]) -> str:
    """Return the terms joined with `+`, each kept whole in parentheses."""
    parts = [f"({term})" for term in terms]
    if not parts:
        raise ValueError("add() needs at least one term")
    return " + ".join(parts)


def scale(expr: str, factor: float) -> str:
    """Return `(expr) * factor`."""
    return f"({expr}) * {factor:g}"
