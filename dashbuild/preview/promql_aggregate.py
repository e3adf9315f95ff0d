"""PromQL aggregations (sum, avg, min, max, count, group, stddev, stdvar, quantile, topk, bottomk, count_values) with
`by`/`without`, as Prometheus 2.42's `aggregation` computes them: groups in order of first appearance, values folded
in input order, topk/bottomk kept in a heap exactly like Go's container/heap, replacing the top by Pop and Push as
Prometheus does (so ties resolve the same way). Prometheus itself is not deterministic for ties in a range query
over an intermediate result (it walks that matrix in Go map order); this evaluator always takes the order in which
series first appear."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from dashbuild.preview.promql_ast import QueryError
from dashbuild.preview.promql_functions import quantile
from dashbuild.preview.promql_values import Sample, Vector, format_float
from dashbuild.preview.series_store import NAME, Labels

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
Less = Callable[[Sample, Sample], bool]


def _by_value(a: Sample, b: Sample) -> bool:
    # vectorByValueHeap.Less: a NaN sorts first.
    return a[1] != a[1] or a[1] < b[1]


def _by_reverse_value(a: Sample, b: Sample) -> bool:
    # vectorByReverseValueHeap.Less
    return a[1] != a[1] or a[1] > b[1]


def _up(heap: list[Sample], j: int, less: Less) -> None:
    while j > 0:
        parent = (j - 1) // 2
        if not less(heap[j], heap[parent]):
            break
        heap[parent], heap[j] = heap[j], heap[parent]
        j = parent


def _pop(heap: list[Sample], less: Less) -> None:
    # container/heap.Pop: the last element to the top, sifted down over the others, the old top removed.
    last = len(heap) - 1
    heap[0], heap[last] = heap[last], heap[0]
    _down(heap, 0, less, last)
    heap.pop()


def _down(heap: list[Sample], i0: int, less: Less, n: int) -> None:
    i = i0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        j = left
        if left + 1 < n and less(heap[left + 1], heap[left]):
            j = left + 1
        if not less(heap[j], heap[i]):
            break
        heap[i], heap[j] = heap[j], heap[i]
        i = j


def _reverse_sorted(heap: list[Sample], less: Less) -> list[Sample]:
    # sort.Sort(sort.Reverse(heap)); Go sorts up to 12 elements by insertion sort (stable), as this does.
    ordered = list(heap)
    for i in range(1, len(ordered)):
        j = i
        while j > 0 and less(ordered[j - 1], ordered[j]):
            ordered[j - 1], ordered[j] = ordered[j], ordered[j - 1]
            j -= 1
    return ordered


class _Group:
    __slots__ = ("count", "heap", "labels", "mean", "value", "values")

    def __init__(self, labels: Labels, sample: Sample) -> None:
        self.labels = labels
        self.value = sample[1]
        self.mean = sample[1]
        self.count = 1
        self.heap: list[Sample] = [sample]
        self.values: list[float] = [sample[1]]


def _group_labels(labels: Labels, grouping: Sequence[str], without: bool) -> Labels:
    if without:
        dropped = set(grouping) | {NAME}
        return tuple(pair for pair in labels if pair[0] not in dropped)
    keep = set(grouping)
    return tuple(pair for pair in labels if pair[0] in keep)


def aggregate(op: str, vector: Vector, grouping: Sequence[str], without: bool,
              param: float | str | None) -> Vector:
    """Return the aggregation `op` of one instant vector."""
    k = 0
    if op in ("topk", "bottomk"):
        assert isinstance(param, float)
        if param != param or abs(param) >= 2.0**63:
            raise QueryError(f"Scalar value {format_float(param)} overflows int64")
        k = int(param)
        if k < 1:
            return []
    if op == "count_values":
        assert isinstance(param, str)
        if not _LABEL_NAME.match(param):
            raise QueryError(f"invalid label name {param!r}")
        if not without:
            grouping = sorted({*grouping, param})
    groups: dict[Labels, _Group] = {}
    for labels, value in vector:
        if op == "count_values":
            assert isinstance(param, str)
            labels = tuple(sorted({**dict(labels), param: format_float(value)}.items()))
        key = _group_labels(labels, grouping, without)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(key, (labels, value))
            if op in ("stddev", "stdvar"):
                group.value = 0.0
            elif op == "group":
                group.value = 1.0
            continue
        _fold(op, group, labels, value, k)
    return [sample for group in groups.values() for sample in _result(op, group, param)]


def _fold(op: str, group: _Group, labels: Labels, value: float, k: int) -> None:
    if op == "sum":
        group.value += value
    elif op == "avg":
        group.count += 1
        if math.isinf(group.mean):
            if math.isinf(value) and (group.mean > 0) == (value > 0):
                return
            if not math.isinf(value) and value == value:
                return
        group.mean += value / group.count - group.mean / group.count
    elif op == "max":
        if group.value < value or group.value != group.value:
            group.value = value
    elif op == "min":
        if group.value > value or group.value != group.value:
            group.value = value
    elif op in ("count", "count_values"):
        group.count += 1
    elif op in ("stddev", "stdvar"):
        group.count += 1
        delta = value - group.mean
        group.mean += delta / group.count
        group.value += delta * (value - group.mean)
    elif op in ("topk", "bottomk"):
        less = _by_value if op == "topk" else _by_reverse_value
        top = group.heap[0][1]
        if len(group.heap) < k or (top < value if op == "topk" else top > value) or top != top:
            if len(group.heap) == k:
                if k == 1:  # replaced in place
                    group.heap[0] = (labels, value)
                    return
                _pop(group.heap, less)
            group.heap.append((labels, value))
            _up(group.heap, len(group.heap) - 1, less)
    elif op == "quantile":
        group.values.append(value)


def _result(op: str, group: _Group, param: float | str | None) -> Vector:
    if op == "avg":
        return [(group.labels, group.mean)]
    if op in ("count", "count_values"):
        return [(group.labels, float(group.count))]
    if op == "stdvar":
        return [(group.labels, group.value / group.count)]
    if op == "stddev":
        return [(group.labels, math.sqrt(group.value / group.count))]
    if op in ("topk", "bottomk"):
        less = _by_value if op == "topk" else _by_reverse_value
        return _reverse_sorted(group.heap, less) if len(group.heap) > 1 else list(group.heap)
    if op == "quantile":
        assert isinstance(param, float)
        return [(group.labels, quantile(param, group.values))]
    return [(group.labels, group.value)]
