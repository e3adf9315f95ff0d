"""Grafana variables in PromQL, and walking the parsed query (promql-parser) with parents."""

from __future__ import annotations

import re
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
