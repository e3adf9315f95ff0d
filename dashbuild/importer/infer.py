"""Infer a metric contract from the queries of an existing dashboard, for the user to review.

From each query's parsed PromQL: the metric families selected (a histogram's `_bucket`/`_sum`/`_count`
series become one family), their type (histogram from `_bucket` or `histogram_quantile`, counter from
`_total`, gauge otherwise) and their labels (matched, grouped by, joined on, shown in legends, listed by
`label_values()` variables). Target labels Prometheus adds (`job`, `instance`) and `le` are not metric labels.
Where the evidence is indirect, the metric carries a note saying what was guessed; the module file written
from it shows those notes as comments.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs
import promql_parser

from dashbuild.queries import BUILTIN_SERIES, function_name, parse, selector_name, stand_in_variables, walk

MetricKind = Literal["counter", "histogram", "gauge"]
TARGET_LABELS = frozenset({"job", "instance"})
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
_LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", re.DOTALL)
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@attrs.frozen
class Query:
    """One query to learn from: its PromQL and the legend format that names its series."""

    expr: str
    legend: str = ""


@attrs.frozen
class InferredMetric:
    """A metric family the dashboard reads, as the contract would declare it."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what was guessed, for a comment beside the declaration


@attrs.frozen
class Inference:
    """Everything learnt from a dashboard's queries."""

    metrics: tuple[InferredMetric, ...]
    recorded: tuple[str, ...]  # recording-rule series (`level:metric:operation`): not part of a contract
    builtin: tuple[str, ...]  # series Prometheus makes itself (`up`, ...)
    unparsed: tuple[str, ...]  # queries that did not parse, as given

    def prefix(self) -> str | None:
        """Return the most common first word of the metric names (`node` for `node_cpu_seconds_total`)."""
        words = Counter(name.split("_", 1)[0] for name in (m.name for m in self.metrics) if "_" in name)
        if not words:
            return None
        best = max(words.values())
        return min(word for word, count in words.items() if count == best)


@attrs.define
class _Evidence:
    """What the queries showed about one series name."""

    labels: set[str] = attrs.Factory(set)
    guessed_labels: set[str] = attrs.Factory(set)
    in_counter_function: bool = False
    in_histogram_quantile: bool = False
    le_seen: bool = False


def _selectors(tree: Any) -> list[tuple[Any, tuple[Any, ...]]]:
    return [(node, parents) for node, parents in walk(tree) if isinstance(node, promql_parser.VectorSelector)]


def _aggregation_labels(parents: Sequence[Any]) -> tuple[set[str], bool]:
    """Return the labels enclosing `by (...)` and `on (...)`/`group_left (...)` name, and whether any did."""
    labels: set[str] = set()
    for parent in parents:
        modifier = getattr(parent, "modifier", None)
        if isinstance(parent, promql_parser.AggregateExpr) and modifier is not None:
            if modifier.type == promql_parser.AggModifierType.By:
                labels.update(str(label) for label in modifier.labels)
        elif isinstance(parent, promql_parser.BinaryExpr) and modifier is not None:
            matching = getattr(modifier, "matching", None)
            if matching is not None and getattr(matching, "labels", None):
                labels.update(str(label) for label in matching.labels)
            card = getattr(modifier, "card", None)
            if card is not None and getattr(card, "labels", None):
                labels.update(str(label) for label in card.labels)
    return labels, bool(labels)


def _learn(query: Query, evidence: dict[str, _Evidence]) -> bool:
    """Add what one query shows to `evidence`; return False when it does not parse."""
    try:
        tree = parse(stand_in_variables(query.expr))
    except ValueError:
        return False
    selectors = _selectors(tree)
    legend_labels = set(_LEGEND_LABEL.findall(query.legend))
    for node, parents in selectors:
        found = evidence.setdefault(selector_name(node), _Evidence())
        for matcher in node.matchers.matchers:
            if matcher.name == "le":
                found.le_seen = True
            elif matcher.name != "__name__":
                found.labels.add(str(matcher.name))
        grouped, _ = _aggregation_labels(parents)
        found.le_seen |= "le" in grouped
        # Grouping and legend labels belong to the selector only when it is the query's one selector.
        target = found.labels if len(selectors) == 1 else found.guessed_labels
        target.update(grouped | legend_labels)
        names = {function_name(parent) for parent in parents}
        found.in_counter_function |= bool(names & COUNTER_FUNCTIONS)
        found.in_histogram_quantile |= "histogram_quantile" in names
    return True


def _variable_labels(variable_queries: Iterable[str], evidence: dict[str, _Evidence]) -> None:
    """Add the labels `label_values(metric, label)` variables list."""
    for text in variable_queries:
        match = _LABEL_VALUES.fullmatch(text)
        if not match:
            continue
        try:
            tree = parse(stand_in_variables(match.group(1)))
        except ValueError:
            continue
        for node, _parents in _selectors(tree):
            found = evidence.setdefault(selector_name(node), _Evidence())
            found.labels.add(match.group(2))
            found.labels.update(str(m.name) for m in node.matchers.matchers if m.name not in ("__name__", "le"))


def _family(name: str, evidence: Mapping[str, _Evidence]) -> tuple[str, bool]:
    """Return the family a series belongs to, and whether it is a histogram series."""
    for suffix in _HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and (f"{base}_bucket" in evidence or suffix == "_bucket"):
            return base, True
    return name, False


def _metric(family: str, histogram: bool, parts: Sequence[tuple[str, _Evidence]]) -> InferredMetric:
    notes: list[str] = []
    labels: set[str] = set()
    guessed: set[str] = set()
    for _name, found in parts:
        labels |= found.labels
        guessed |= found.guessed_labels
    kind: MetricKind
    if histogram:
        kind = "histogram"
        if not any(found.in_histogram_quantile or found.le_seen for _name, found in parts):
            notes.append("a histogram by its _bucket series only: no histogram_quantile() or `le` reads it")
    elif family.endswith(("_sum", "_count")) and any(n.endswith(("_sum", "_count")) for n, _ in parts):
        kind = "gauge"
        notes.append(f"{family.rsplit('_', 1)[-1]} of a summary or a histogram without buckets in the dashboard: "
                     "declared as a gauge; make it a histogram if the service exposes its buckets")
    elif family.endswith("_total"):
        kind = "counter"
    elif any(found.in_counter_function for _name, found in parts):
        kind = "gauge"
        notes.append("read with rate()/increase() like a counter, but not named *_total, which contract "
                     "counters must be: declared as a gauge")
    else:
        kind = "gauge"
    labels -= TARGET_LABELS | {"le"}
    guessed = guessed - labels - TARGET_LABELS - {"le"}
    if guessed:
        notes.append(f"labels {', '.join(sorted(guessed))} come from a query reading several metrics: "
                     "check they belong to this one")
    return InferredMetric(family, kind, tuple(sorted(labels | guessed)), tuple(notes))


def infer(queries: Iterable[Query], variable_queries: Iterable[str] = ()) -> Inference:
    """Return the contract the queries (and `label_values()` variables) imply, sorted by metric name."""
    evidence: dict[str, _Evidence] = {}
    unparsed = [query.expr for query in queries if not _learn(query, evidence)]
    _variable_labels(variable_queries, evidence)
    recorded = sorted(name for name in evidence if ":" in name)
    builtin = sorted(name for name in evidence if name in BUILTIN_SERIES)
    families: dict[str, list[tuple[str, _Evidence]]] = {}
    histogram_families: set[str] = set()
    for name, found in sorted(evidence.items()):
        if ":" in name or name in BUILTIN_SERIES or not name:
            continue
        family, histogram = _family(name, evidence)
        families.setdefault(family, []).append((name, found))
        if histogram:
            histogram_families.add(family)
    metrics = tuple(_metric(family, family in histogram_families, parts) for family, parts in sorted(families.items()))
    return Inference(metrics, tuple(recorded), tuple(builtin), tuple(unparsed))
