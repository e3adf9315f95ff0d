"""Raw samples per series, as a Prometheus TSDB holds them: labels (with `__name__`) -> sorted timestamps and values.

Timestamps are whole milliseconds, as Prometheus stores them. A stale marker (what Prometheus writes when a series
disappears from a scrape or from a rule's output) is the special NaN `STALE`; `is_stale` tells it from other NaNs.
"""

from __future__ import annotations

import bisect
import math
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

Labels = tuple[tuple[str, str], ...]
NAME = "__name__"
# Prometheus' stale marker: the NaN with this bit pattern (model/value.StaleNaN).
_STALE_BITS = 0x7FF0000000000002
STALE: float = struct.unpack("<d", struct.pack("<Q", _STALE_BITS))[0]


def is_stale(value: float) -> bool:
    """Return True when `value` is Prometheus' stale marker (not any other NaN)."""
    return value != value and struct.unpack("<Q", struct.pack("<d", value))[0] == _STALE_BITS


def make_labels(mapping: Mapping[str, str]) -> Labels:
    """Return a label set as the sorted (name, value) pairs Prometheus keeps; empty values are dropped as it does."""
    return tuple(sorted((name, value) for name, value in mapping.items() if value != ""))


def label_value(labels: Labels, name: str) -> str:
    """Return the value of label `name` ("" when absent, as Prometheus reads a missing label)."""
    for key, value in labels:
        if key == name:
            return value
    return ""


def metric_name(labels: Labels) -> str:
    """Return the `__name__` of a label set ("" when it has none)."""
    return label_value(labels, NAME)


@attrs.frozen
class LabelMatcher:
    """One label matcher (`=`, `!=`, `=~`, `!~`); regexes are anchored at both ends, as Prometheus anchors them."""

    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = attrs.field(default=None, eq=False, hash=False)

    @classmethod
    def of(cls, name: str, op: str, value: str) -> LabelMatcher:
        """Return a matcher; raise ValueError for an unknown operator or a regex Python cannot compile."""
        if op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"unknown label matcher operator {op!r}")
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re.compile(f"(?:{value})")
            except re.error as error:
                raise ValueError(f"invalid regular expression {value!r} in matcher {name}{op}: {error}") from None
        return cls(name, op, value, pattern)

    def matches(self, value: str) -> bool:
        """Return True when a label value (\"\" for a missing label) satisfies this matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(value) is not None
        return found if self.op == "=~" else not found


class Series:
    """One series: its labels and its samples in time order (`times` in ms, `values` aligned with them)."""

    __slots__ = ("has_stale", "labels", "times", "values")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.times: list[int] = []
        self.values: list[float] = []
        self.has_stale = False

    def index_at(self, t: int) -> int:
        """Return the index of the last sample at or before `t` (-1 when there is none)."""
        return bisect.bisect_right(self.times, t) - 1

    def window(self, start: int, end: int) -> tuple[list[int], list[float]]:
        """Return the samples with start <= t <= end (both inclusive, as in Prometheus 2.x), stale ones left out."""
        low, high = bisect.bisect_left(self.times, start), bisect.bisect_right(self.times, end)
        times, values = self.times[low:high], self.values[low:high]
        if self.has_stale and any(value != value for value in values):
            kept = [(t, v) for t, v in zip(times, values, strict=True) if not is_stale(v)]
            return [t for t, _ in kept], [v for _, v in kept]
        return times, values


class SeriesStore:
    """Series by label set, appended in time order; selections are sorted by labels, as Prometheus' storage is."""

    def __init__(self) -> None:
        self._series: dict[Labels, Series] = {}
        self._by_name: dict[str, list[Series]] = {}
        self._cache: dict[tuple[LabelMatcher, ...], list[Series]] = {}

    def __len__(self) -> int:
        return len(self._series)

    def append(self, labels: Labels, t: int, value: float) -> None:
        """Append one sample; raise ValueError for a sample not after the series' last one (Prometheus refuses it)."""
        series = self._series.get(labels)
        if series is None:
            if not labels:
                raise ValueError("a series needs at least one label")
            series = self._series[labels] = Series(labels)
            self._by_name.setdefault(metric_name(labels), []).append(series)
            self._cache.clear()
        elif series.times and t <= series.times[-1]:
            if t == series.times[-1] and (series.values[-1] == value or (math.isnan(value) and
                                                                          math.isnan(series.values[-1]))):
                return  # a repeated sample is accepted and ignored, as Prometheus does
            raise ValueError(f"out-of-order sample for {format_labels(labels)} at {t} ms "
                             f"(last at {series.times[-1]} ms)")
        series.times.append(t)
        series.values.append(value)
        if value != value and is_stale(value):
            series.has_stale = True

    def get(self, labels: Labels) -> Series | None:
        """Return the series with exactly these labels, or None."""
        return self._series.get(labels)

    def __iter__(self) -> Iterator[Series]:
        return iter(sorted(self._series.values(), key=lambda s: s.labels))

    def select(self, matchers: Sequence[LabelMatcher]) -> list[Series]:
        """Return the series every matcher accepts, sorted by labels (at least one matcher must not match "")."""
        key = tuple(matchers)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        names = [m.value for m in matchers if m.name == NAME and m.op == "="]
        candidates: Iterable[Series] = self._by_name.get(names[0], []) if names else self._series.values()
        found = sorted((s for s in candidates if all(m.matches(label_value(s.labels, m.name)) for m in matchers)),
                       key=lambda s: s.labels)
        self._cache[key] = found
        return found


def format_labels(labels: Labels) -> str:
    """Return a label set as Prometheus prints it: `name{a="1", b="2"}`."""
    name = metric_name(labels)
    inner = ", ".join(f'{k}="{escape(v)}"' for k, v in labels if k != NAME)
    return f"{name}{{{inner}}}"


def escape(value: str) -> str:
    """Return a label value escaped for the text formats (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
