"""Values as Grafana writes them in a panel: its unit, its decimals, its value mappings.

The units are those our panel helpers set (and the common ones a hand-written dashboard uses); an unknown unit
is written as a plain number followed by the unit's name, so nothing is hidden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

_SHORT = ("", " K", " Mil", " Bil", " Tri", " Quadr")
_SI = ("", " k", " M", " G", " T", " P")
_IEC = (" B", " KiB", " MiB", " GiB", " TiB", " PiB")
# unit -> suffix after a "short"-scaled number
_SUFFIXED = {"reqps": " req/s", "ops": " ops/s", "rps": " rps", "wps": " wps", "iops": " io/s", "opm": " ops/min",
             "reqpm": " req/min", "cps": " c/s", "eps": " evt/s"}
_TIME_STEPS = ((86400 * 365, " year"), (86400 * 7, " week"), (86400, " day"), (3600, " hour"), (60, " min"),
               (1, " s"), (0.001, " ms"), (0.000001, " µs"), (0.000000001, " ns"))


def _decimals_for(value: float, decimals: int | None) -> int:
    """Return Grafana-like automatic decimals: about three significant digits, at most three after the point."""
    if decimals is not None:
        return max(0, min(decimals, 10))
    size = abs(value)
    if size == 0 or size >= 100:
        return 0 if size == 0 or size == round(size) or size >= 100 else 1
    if size >= 10:
        return 1
    if size >= 1:
        return 2
    return min(3, max(2, -math.floor(math.log10(size)) + 1))


def _number(value: float, decimals: int | None) -> str:
    text = f"{value:.{_decimals_for(value, decimals)}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _scaled(value: float, steps: Sequence[str], base: float, decimals: int | None) -> str:
    index = 0
    size = abs(value)
    while size >= base and index < len(steps) - 1:
        size /= base
        value /= base
        index += 1
    return _number(value, decimals) + steps[index]


def _seconds(value: float, decimals: int | None) -> str:
    size = abs(value)
    if size == 0:
        return "0 s"
    for unit_seconds, name in _TIME_STEPS:
        if size >= unit_seconds:
            return _number(value / unit_seconds, decimals) + name
    return _number(value / 1e-9, decimals) + " ns"


def format_value(value: float | None, unit: str | None = None, decimals: int | None = None) -> str:
    """Return `value` as Grafana shows it with `unit` ("short" when none)."""
    if value is None:
        return "No data"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    unit = unit or "short"
    if unit == "none":
        return _number(value, decimals)
    if unit == "short":
        return _scaled(value, _SHORT, 1000, decimals)
    if unit in _SUFFIXED:
        return _scaled(value, _SHORT, 1000, decimals) + _SUFFIXED[unit]
    if unit == "percent":
        return _number(value, decimals) + "%"
    if unit == "percentunit":
        return _number(value * 100, decimals) + "%"
    if unit == "s":
        return _seconds(value, decimals)
    if unit == "ms":
        return _seconds(value / 1000, decimals)
    if unit == "µs":
        return _seconds(value / 1e6, decimals)
    if unit == "ns":
        return _seconds(value / 1e9, decimals)
    if unit in ("bytes", "decbytes"):
        return _scaled(value, _IEC if unit == "bytes" else (" B", " kB", " MB", " GB", " TB", " PB"),
                       1024 if unit == "bytes" else 1000, decimals)
    if unit.startswith("currency"):
        symbols = {"currencyUSD": "$", "currencyEUR": "€", "currencyGBP": "£", "currencyJPY": "¥"}
        sign = "-" if value < 0 else ""
        return f"{sign}{symbols.get(unit, unit.removeprefix('currency') + ' ')}" + _scaled(abs(value), _SHORT, 1000,
                                                                                           decimals).replace(" ", "")
    if unit == "hertz":
        return _scaled(value, tuple(s + "Hz" for s in (" ", " k", " M", " G", " T", " P")), 1000, decimals)
    if unit.startswith("suffix:"):
        return _number(value, decimals) + unit.removeprefix("suffix:")
    if unit.startswith("prefix:"):
        return unit.removeprefix("prefix:") + _number(value, decimals)
    return f"{_scaled(value, _SI, 1000, decimals)} {unit}"


def mapped_text(value: float | None, mappings: Sequence[Mapping[str, Any]]) -> tuple[str, str | None] | None:
    """Return the (text, colour) a value mapping gives `value`, or None when no mapping applies."""
    for mapping in mappings:
        kind, options = mapping.get("type"), mapping.get("options", {})
        result: Mapping[str, Any] | None = None
        if kind == "value" and value is not None:
            result = options.get(_number(value, None)) or options.get(str(value))
        elif kind == "range" and value is not None and not math.isnan(value):
            low, high = options.get("from"), options.get("to")
            if (low is None or value >= low) and (high is None or value <= high):
                result = options.get("result")
        elif kind == "special" and (value is None or math.isnan(value)):
            match = options.get("match")
            if match in ("null", "nan", "null+nan") or (match == "empty" and value is None):
                result = options.get("result")
        if result is not None and result.get("text") is not None:
            return str(result["text"]), result.get("color")
    return None
