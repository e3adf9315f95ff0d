"""Dashboards that read a store holding many clusters (`KubernetesSettings(cluster_label="cluster")`): a `cluster`
variable (all clusters by default) and every query filtered by it, as kubernetes-mixin's multi-cluster mode does.

Panel queries are Grafana's PromQL: variables (`$module`, `[$__rate_interval]`) do not parse, and the parser
would print string literals unescaped, so the matcher is inserted into the text by a small lexer that knows
where selectors stand (not in strings, ranges or label lists, not a function or keyword). The result, with
Grafana's variables stood in, is parsed and every selector must then carry the matcher: an expression the lexer
would get wrong is refused, naming the dashboard and panel, instead of written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import promql_parser

from dashbuild.queries import parse, stand_in_variables, walk

Json = dict[str, Any]

VARIABLE = "cluster"
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[a-zA-Z0-9_]+")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# Words that are PromQL syntax, never a metric name where they stand.
_KEYWORDS = frozenset({"and", "or", "unless", "atan2", "bool", "offset", "inf", "nan", "start", "end"})
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_AGGREGATIONS = frozenset({"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                           "bottomk", "topk", "quantile", "limitk", "limit_ratio"})
_LABEL_VALUES = re.compile(r"^\s*label_values\s*\((.*)\)\s*$", re.DOTALL)
_QUERY_RESULT = re.compile(r"^\s*query_result\s*\((.*)\)\s*$", re.DOTALL)


class NotFiltered(ValueError):
    """A query the filter cannot rewrite with certainty."""


def _string_at(text: str, index: int) -> re.Match[str]:
    """Return the PromQL string literal starting at text[index]; raise NotFiltered when it is not closed."""
    found = _STRING.match(text, index)
    if found is None:
        raise NotFiltered(f"an unterminated string in {text!r}")
    return found


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    """Return the index just past the bracket matching text[start] (strings skipped)."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char in "\"'`":
            index = _string_at(text, index).end()
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise NotFiltered(f"an unbalanced {opening!r} in {text!r}")


def _next_significant(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _with_matcher(block: str, matcher: str, label: str) -> str:
    """Return a `{...}` block with `matcher` added, unless it already matches on `label`."""
    inner = block[1:-1]
    outside_strings = _STRING.sub('""', inner)
    if re.search(rf"(^|[\s,{{]){re.escape(label)}\s*(=~|!~|!=|=)", outside_strings):
        return block
    stripped = inner.rstrip()
    separator = "" if not stripped.strip() else ("" if stripped.endswith(",") else ", ")
    return "{" + stripped + separator + matcher + "}"


def _is_syntax(word: str, next_char: str, next_word: str) -> bool:
    """Return True when `word` is PromQL syntax where it stands, not a metric name: a keyword, a label-list
    modifier, a function or aggregation called, or an aggregation followed by its grouping."""
    lowered = word.lower()
    return (lowered in _LABEL_LISTS or lowered in _KEYWORDS or next_char == "("
            or (lowered in _AGGREGATIONS and next_word in ("by", "without")))


def _pieces(expr: str, label: str, matcher: str) -> Iterator[str]:
    index = 0
    expecting_labels = False
    while index < len(expr):
        char = expr[index]
        if char in "\"'`":
            literal = _string_at(expr, index)
            yield literal.group()
            index = literal.end()
        elif char == "#":
            end = expr.find("\n", index)
            end = len(expr) if end < 0 else end
            yield expr[index:end]
            index = end
        elif char == "[":
            end = _closing(expr, index, "[", "]")
            yield expr[index:end]
            index = end
        elif char == "$":
            found = _GRAFANA_VARIABLE.match(expr, index)
            end = found.end() if found else index + 1
            yield expr[index:end]
            index = end
        elif char == "(" and expecting_labels:
            end = _closing(expr, index, "(", ")")
            yield expr[index:end]
            index, expecting_labels = end, False
        elif char == "{":
            end = _closing(expr, index, "{", "}")
            yield _with_matcher(expr[index:end], matcher, label)
            index = end
        elif _IDENTIFIER.match(expr, index) and (index == 0 or not (expr[index - 1].isalnum() or expr[index - 1]
                                                                      in "_.")):
            found = _IDENTIFIER.match(expr, index)
            assert found is not None
            word, end = found.group(), found.end()
            after = _next_significant(expr, end)
            expecting_labels = word.lower() in _LABEL_LISTS
            following = _IDENTIFIER.match(expr, after)
            if _is_syntax(word, expr[after:after + 1], following.group().lower() if following else ""):
                yield word
            elif expr[after:after + 1] == "{":
                yield word  # the block that follows gets the matcher
            else:
                yield word + "{" + matcher + "}"
            index = end
        else:
            yield char
            index += 1


def filtered(expr: str, label: str, variable: str = VARIABLE) -> str:
    """Return `expr` with `label=~"$variable"` on every selector; raise NotFiltered when that cannot be proven."""
    matcher = f'{label}=~"${variable}"'
    result = "".join(_pieces(expr, label, matcher))
    try:
        selectors = [node for node, _ in walk(parse(stand_in_variables(result)))
                     if isinstance(node, promql_parser.VectorSelector)]
    except ValueError as error:
        raise NotFiltered(f"{expr!r} does not parse once filtered: {error}") from None
    unfiltered = [str(node) for node in selectors
                  if not any(m.name == label for m in node.matchers.matchers)]
    if unfiltered:
        raise NotFiltered(f"{expr!r}: a selector was not filtered by {label} ({unfiltered[0]})")
    return result


def _variable_query(query: str, label: str, variable: str) -> str:
    values = _LABEL_VALUES.match(query)
    if values:
        arguments = values.group(1)
        selector, comma, name = arguments.rpartition(",")
        if not comma:
            return f"label_values(up{{{label}=~\"${variable}\"}}, {arguments.strip()})"
        return f"label_values({filtered(selector.strip(), label, variable)}, {name.strip()})"
    result = _QUERY_RESULT.match(query)
    if result:
        return f"query_result({filtered(result.group(1), label, variable)})"
    return query


def cluster_variable(label: str) -> Json:
    """Return the dashboard variable choosing the clusters every query reads (all by default)."""
    query = f"label_values(up, {label})"
    return {"allValue": ".*", "current": {"selected": True, "text": "All", "value": "$__all"},
            "datasource": {"type": "prometheus", "uid": "${datasource}"}, "hide": 0,
            "includeAll": True, "label": label.capitalize(), "multi": True, "name": VARIABLE, "options": [],
            "query": query, "refresh": 2, "regex": "", "skipUrlSync": False, "sort": 1, "type": "query"}


def _panels(panels: list[Json], label: str, title: str) -> list[Json]:
    result = []
    for panel in panels:
        panel = dict(panel)
        where = f"{title}: panel {panel.get('title', '')!r}"
        if "panels" in panel:
            panel["panels"] = _panels(panel["panels"], label, title)
        if "targets" in panel:
            targets = []
            for target in panel["targets"]:
                if isinstance(target, dict) and isinstance(target.get("expr"), str):
                    try:
                        target = {**target, "expr": filtered(target["expr"], label)}
                    except NotFiltered as error:
                        raise NotFiltered(f"{where}: {error}") from None
                targets.append(target)
            panel["targets"] = targets
        result.append(panel)
    return result


def per_cluster(dashboard: Json, label: str) -> Json:
    """Return the dashboard with a cluster variable (after the data source's) and every query filtered by it;
    raise NotFiltered naming the dashboard and panel of a query that cannot be."""
    title = str(dashboard.get("title", ""))
    variables = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("name") == VARIABLE:
            raise NotFiltered(f"{title}: already has a variable named {VARIABLE!r}")
        if variable.get("type") == "query":
            variable = dict(variable)
            for key in ("query", "definition"):
                if isinstance(variable.get(key), str):
                    try:
                        variable[key] = _variable_query(variable[key], label, VARIABLE)
                    except NotFiltered as error:
                        raise NotFiltered(f"{title}: variable {variable.get('name')!r}: {error}") from None
        variables.append(variable)
    position = next((i + 1 for i, v in enumerate(variables) if v.get("type") == "datasource"), 0)
    variables.insert(position, cluster_variable(label))
    return {**dashboard, "panels": _panels(dashboard.get("panels", []), label, title),
            "templating": {**dashboard.get("templating", {}), "list": variables}}
