"""Grafana variables in PromQL, and walking the parsed query (promql-parser) with parents."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any

import promql_parser

# Dummy values that parse the way the real ones run. The durations are unusual on purpose, so that a
# rule can tell `$__rate_interval` from a hard-coded window once the query is parsed.
RATE_INTERVAL_SECONDS = 4321
INTERVAL_SECONDS = 4322
RANGE_SECONDS = 4323
GRAFANA_VARIABLES = {
    "__rate_interval": f"{RATE_INTERVAL_SECONDS}s",
    "__interval": f"{INTERVAL_SECONDS}s",
    "__range": f"{RANGE_SECONDS}s",
    "__range_s": str(RANGE_SECONDS),
    "__range_ms": str(RANGE_SECONDS * 1000),
    "__interval_ms": str(INTERVAL_SECONDS * 1000),
}
BUILTIN_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
_VARIABLE_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_CHILDREN = ("lhs", "rhs", "expr", "param", "vector_selector")


def substitute_variables(expr: str, values: Mapping[str, str]) -> str:
    """Return `expr` with Grafana's and the dashboard's variables replaced by `values` (others kept)."""
    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return values.get(name, match.group(0))
    return _VARIABLE_RE.sub(replace, expr)


_LEGACY_VARIABLE = re.compile(r"\[\[(\w+)(?::\w+)?\]\]")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_OFFSET = re.compile(r"(\boffset\s+-?)(\$\{\w+(?::\w+)?\}|\$\w+)")
_NAME = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def _duration(name: str) -> str:
    # A duration of its own for each variable, so `[$a]` and `[$b]` still differ once parsed.
    builtin = GRAFANA_VARIABLES.get(name, "")
    return builtin if builtin.endswith("s") else f"{10_000 + zlib.crc32(name.encode()) % 80_000}s"


def _durations(text: str) -> str:
    return _NAME.sub(lambda m: _duration(m.group(1) or m.group(2)), text)


def stand_in_variables(expr: str) -> str:
    """Return `expr` with every Grafana variable (`$v`, `${v}`, `[[v]]`) replaced by a stand-in that parses where
    it stands: a duration inside `[...]` and after `offset`, else an identifier `__var_v` (Grafana's own dummy
    values for `$__rate_interval` and friends). The same variable always gets the same stand-in."""
    text = _LEGACY_VARIABLE.sub(lambda m: "${" + m.group(1) + "}", expr)
    text = _RANGE.sub(lambda m: _durations(m.group(0)), text)
    text = _OFFSET.sub(lambda m: m.group(1) + _durations(m.group(2)), text)
    names = {m.group(1) or m.group(2) for m in _NAME.finditer(text)}
    return substitute_variables(text, {name: GRAFANA_VARIABLES.get(name, f"__var_{name}") for name in names})


def referenced_variables(expr: str) -> set[str]:
    """Return the names of the variables an expression references."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE_RE.finditer(expr)}


@lru_cache(maxsize=65536)
def parse(expr: str) -> Any:
    """Return the parsed expression (cached); raise ValueError when it does not parse."""
    return promql_parser.parse(expr)


def children(node: Any) -> list[Any]:
    """Return the sub-expressions of a parsed node."""
    found = [getattr(node, name) for name in _CHILDREN if getattr(node, name, None) is not None]
    found = [child for child in found if not isinstance(child, (str, int, float))]
    return found + list(getattr(node, "args", None) or [])


def walk(node: Any, parents: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Yield every node with the chain of its parents (nearest last), depth first."""
    yield node, parents
    for child in children(node):
        yield from walk(child, (*parents, node))


def selector_name(node: Any) -> str:
    """Return the metric name of a vector selector, from its name or its `__name__` matcher."""
    if node.name:
        return str(node.name)
    return next((str(m.value) for m in node.matchers.matchers if m.name == "__name__"), "")


def selected_series(expr: str) -> set[str]:
    """Return the metric names an expression selects; raise ValueError when it does not parse."""
    return {selector_name(node) for node, _ in walk(parse(expr)) if isinstance(node, promql_parser.VectorSelector)}


def function_name(node: Any) -> str | None:
    """Return the function name of a Call node, None for other nodes."""
    return str(node.func.name) if isinstance(node, promql_parser.Call) else None


def range_seconds(node: Any) -> float:
    """Return the range of a matrix selector, in seconds."""
    value = node.range
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
