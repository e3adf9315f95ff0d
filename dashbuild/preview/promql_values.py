"""The values a PromQL expression evaluates to at one timestamp, and float arithmetic as Go does it.

Python raises where Go's float64 arithmetic answers ±Inf or NaN (division by zero, sqrt of a negative, overflow);
the `go_*` functions answer as Go does, so results match Prometheus bit for bit where the formulas are the same.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Union

import attrs

from dashbuild.preview.series_store import NAME, Labels

Sample = tuple[Labels, float]
Vector = list[Sample]


@attrs.frozen
class Scalar:
    """A scalar at one timestamp."""

    value: float


@attrs.frozen
class StringValue:
    """A string (only a string literal evaluates to one)."""

    value: str


@attrs.frozen
class RangeSeries:
    """One series' samples in a range window (the answer of an instant query of a range selector)."""

    labels: Labels
    times: list[int]
    values: list[float]


Value = Union[Vector, Scalar, StringValue, list[RangeSeries]]  # noqa: UP007


def drop_name(labels: Labels) -> Labels:
    """Return the labels without `__name__` (as functions and arithmetic leave them)."""
    if any(name == NAME for name, _ in labels):
        return tuple(pair for pair in labels if pair[0] != NAME)
    return labels


def go_div(a: float, b: float) -> float:
    """Return a / b as IEEE 754 (and Go) computes it: ±Inf or NaN when b is zero."""
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def go_mod(a: float, b: float) -> float:
    """Return Go's math.Mod(a, b)."""
    try:
        return math.fmod(a, b)
    except ValueError:
        return math.nan


def go_pow(a: float, b: float) -> float:
    """Return Go's math.Pow(a, b)."""
    try:
        return math.pow(a, b)
    except ValueError:
        if a == 0 and b < 0:
            odd = b == int(b) and int(b) % 2 == 1
            return math.copysign(math.inf, a) if odd else math.inf
        return math.nan
    except OverflowError:
        odd = b == int(b) and int(b) % 2 == 1
        return -math.inf if a < 0 and odd else math.inf


def go_max(a: float, b: float) -> float:
    """Return Go's math.Max (NaN if either is NaN, +Inf beats NaN)."""
    if (math.isinf(a) and a > 0) or (math.isinf(b) and b > 0):
        return math.inf
    if a != a or b != b:
        return math.nan
    if a == 0 and b == 0:
        return a if math.copysign(1.0, a) > 0 else b
    return a if a > b else b


def go_min(a: float, b: float) -> float:
    """Return Go's math.Min (NaN if either is NaN, -Inf beats NaN)."""
    if (math.isinf(a) and a < 0) or (math.isinf(b) and b < 0):
        return -math.inf
    if a != a or b != b:
        return math.nan
    if a == 0 and b == 0:
        return a if math.copysign(1.0, a) < 0 else b
    return a if a < b else b


def go_sqrt(a: float) -> float:
    """Return Go's math.Sqrt (NaN below zero)."""
    return math.sqrt(a) if a >= 0 else (a if a != a else math.nan)


def go_log(a: float) -> float:
    """Return Go's math.Log (-Inf at zero, NaN below)."""
    if a > 0:
        return math.log(a)
    if a == 0:
        return -math.inf
    return math.nan


def go_exp(a: float) -> float:
    """Return Go's math.Exp (+Inf on overflow)."""
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def format_float(value: float) -> str:
    """Return a float as Prometheus' API writes it (Go's strconv 'f' format, shortest): `1`, `0.25`, `NaN`, `+Inf`."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")
