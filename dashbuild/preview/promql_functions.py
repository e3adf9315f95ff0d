"""PromQL's functions of one series' samples and of one sample, with Prometheus 2.42's formulas.

Range functions take the samples of one window (`times` in ms, `values`; stale markers already left out) and
return the value or None (no output for that series). `extrapolated_rate` is Prometheus' `extrapolatedRate`;
`bucket_quantile` is its `bucketQuantile` with the same coalescing of equal bounds and monotonicity fix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from dashbuild.preview.promql_values import go_div, go_exp, go_log, go_max, go_min, go_sqrt

__all__ = ["go_max", "go_min"]  # re-exported for the evaluator's clamp functions


def extrapolated_rate(times: Sequence[int], values: Sequence[float], range_start: int, range_end: int,
                      range_seconds: float, is_counter: bool, is_rate: bool) -> float | None:
    """Return rate/increase/delta of one window as Prometheus computes it (None with fewer than two samples)."""
    if len(values) < 2:
        return None
    result = values[-1] - values[0]
    if is_counter:
        previous = values[0]
        for current in values[1:]:
            if current < previous:
                result += previous  # a counter reset: the counter went on from zero
            previous = current
    duration_to_start = (times[0] - range_start) / 1000
    duration_to_end = (range_end - times[-1]) / 1000
    sampled_interval = (times[-1] - times[0]) / 1000
    average_between = sampled_interval / (len(values) - 1)
    if is_counter and result > 0 and values[0] >= 0:
        duration_to_zero = sampled_interval * (values[0] / result)
        if duration_to_zero < duration_to_start:
            duration_to_start = duration_to_zero
    threshold = average_between * 1.1
    interval = sampled_interval
    interval += duration_to_start if duration_to_start < threshold else average_between / 2
    interval += duration_to_end if duration_to_end < threshold else average_between / 2
    factor = interval / sampled_interval
    if is_rate:
        factor /= range_seconds
    return result * factor


def instant_value(times: Sequence[int], values: Sequence[float], is_rate: bool) -> float | None:
    """Return irate (per second, a drop read as a reset) or idelta of the last two samples."""
    if len(values) < 2:
        return None
    last, previous = values[-1], values[-2]
    result = last if is_rate and last < previous else last - previous
    interval = times[-1] - times[-2]
    if interval == 0:
        return None
    return result / (interval / 1000) if is_rate else result


def changes(values: Sequence[float]) -> float:
    """Return how often the value changed (NaN to NaN is no change)."""
    count, previous = 0, values[0]
    for current in values[1:]:
        if current != previous and not (current != current and previous != previous):
            count += 1
        previous = current
    return float(count)


def resets(values: Sequence[float]) -> float:
    """Return how often the value dropped (a counter reset)."""
    return float(sum(1 for previous, current in itertools.pairwise(values) if current < previous))


def avg(values: Sequence[float]) -> float:
    """Return the mean as Prometheus' avg_over_time computes it (incremental, keeping an infinite mean)."""
    mean, count = 0.0, 0.0
    for value in values:
        count += 1
        if math.isinf(mean):
            if math.isinf(value) and (mean > 0) == (value > 0):
                continue
            if not math.isinf(value) and value == value:
                continue
        mean += value / count - mean / count
    return mean


def total(values: Sequence[float]) -> float:
    """Return the sum in sample order."""
    result = 0.0
    for value in values:
        result += value
    return result


def maximum(values: Sequence[float]) -> float:
    """Return max_over_time (a NaN is replaced by any later value)."""
    result = values[0]
    for value in values:
        if value > result or result != result:
            result = value
    return result


def minimum(values: Sequence[float]) -> float:
    """Return min_over_time (a NaN is replaced by any later value)."""
    result = values[0]
    for value in values:
        if value < result or result != result:
            result = value
    return result


def stdvar(values: Sequence[float]) -> float:
    """Return the population variance (Welford, as Prometheus 2.42)."""
    aux = count = mean = 0.0
    for value in values:
        count += 1
        delta = value - mean
        mean += delta / count
        aux += delta * (value - mean)
    return aux / count


def _beyond_bounds(q: float) -> float | None:
    """Return what a quantile is for a φ outside 0..1 (NaN for NaN, -Inf below, +Inf above), else None."""
    if q != q:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    return None


def quantile(q: float, values: Sequence[float]) -> float:
    """Return the φ-quantile of values (quantile and quantile_over_time): interpolated, NaNs sorted first."""
    if not values:
        return math.nan
    beyond = _beyond_bounds(q)
    if beyond is not None:
        return beyond
    ordered = sorted(values, key=lambda v: (v == v, v if v == v else 0.0))
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


OVER_TIME: dict[str, Callable[[Sequence[float]], float]] = {
    "avg_over_time": avg,
    "sum_over_time": total,
    "min_over_time": minimum,
    "max_over_time": maximum,
    "count_over_time": lambda values: float(len(values)),
    "last_over_time": lambda values: values[-1],
    "stddev_over_time": lambda values: math.sqrt(stdvar(values)),
    "stdvar_over_time": stdvar,
    "present_over_time": lambda values: 1.0,
    "changes": changes,
    "resets": resets,
}


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Return the q-quantile of classic histogram buckets (upper bound, cumulative count), as Prometheus does."""
    beyond = _beyond_bounds(q)
    if beyond is not None:
        return beyond
    ordered = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(ordered[-1][0]) or ordered[-1][0] < 0:
        return math.nan
    coalesced: list[list[float]] = []
    for bound, count in ordered:
        if coalesced and coalesced[-1][0] == bound:
            coalesced[-1][1] += count
        else:
            coalesced.append([bound, count])
    highest = -math.inf
    for bucket in coalesced:  # counts must not decrease with the bound (Prometheus' ensureMonotonic)
        if bucket[1] > highest:
            highest = bucket[1]
        elif bucket[1] < highest:
            bucket[1] = highest
    if len(coalesced) < 2:
        return math.nan
    observations = coalesced[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = _go_search(len(coalesced) - 1, lambda i: coalesced[i][1] >= rank)
    if b == len(coalesced) - 1:
        return coalesced[-2][0]
    if b == 0 and coalesced[0][0] <= 0:
        return coalesced[0][0]
    start, end, count = 0.0, coalesced[b][0], coalesced[b][1]
    if b > 0:
        start = coalesced[b - 1][0]
        count -= coalesced[b - 1][1]
        rank -= coalesced[b - 1][1]
    return start + (end - start) * (rank / count) if count != 0 else start + (end - start) * _go_ratio(rank)


def _go_search(n: int, found: Callable[[int], bool]) -> int:
    # Go's sort.Search (a binary search): with NaN counts it can differ from a linear scan, so it is copied.
    low, high = 0, n
    while low < high:
        middle = (low + high) // 2
        if not found(middle):
            low = middle + 1
        else:
            high = middle
    return low


def _go_ratio(rank: float) -> float:
    # rank / 0 in Go: +Inf, -Inf or NaN (0/0).
    if rank == 0 or rank != rank:
        return math.nan
    return math.copysign(math.inf, rank)


def parse_bound(text: str) -> float | None:
    """Return an `le` label's bound as Go's strconv.ParseFloat reads it, or None when it is not a number."""
    if "_" in text or text.strip() != text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def go_floor(value: float) -> float:
    """Return Go's math.Floor (Inf and NaN unchanged)."""
    return float(math.floor(value)) if math.isfinite(value) else value


def go_ceil(value: float) -> float:
    """Return Go's math.Ceil (Inf and NaN unchanged)."""
    return float(math.ceil(value)) if math.isfinite(value) else value


def round_to(value: float, to_nearest: float) -> float:
    """Return round(value, to_nearest) as Prometheus: floor(v * (1 / to_nearest) + 0.5) / (1 / to_nearest)."""
    inverse = go_div(1.0, to_nearest)
    return go_div(go_floor(value * inverse + 0.5), inverse)


SIMPLE: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": go_ceil,
    "floor": go_floor,
    "sqrt": go_sqrt,
    "ln": go_log,
    "exp": go_exp,
}


def clamp(value: float, low: float, high: float) -> float:
    """Return Go's math.Max(low, math.Min(high, value))."""
    return go_max(low, go_min(high, value))
