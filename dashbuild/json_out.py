"""The generated JSON files' bytes: the standard library's sorted, 2-space indented JSON, written by orjson where
orjson provably writes the same bytes, by the standard library everywhere else.

The standard library's encoder is pure Python as soon as `indent` is set; orjson writes the same layout in C.
They agree byte for byte on documents made only of dicts with `str` keys, lists, tuples, `str`, `int`, `bool`,
`None` and finite floats that Python prints without an exponent (tests/test_json_encoder.py compares them on
random documents, on every file the build writes and on a synthetic build). Outside that domain they differ:

- NaN and infinities: orjson writes `null`, the standard library (with `allow_nan=False`) raises ValueError;
- floats below 1e-4 or from 1e16 up: `repr` writes `1e-05` and `1e-07` where orjson writes `0.00001` and `1e-7`
  (a histogram's `le` filter of 1e-09 is one): these are handed to orjson as their `repr` text (a fragment);
- subclasses of `str`, `int`, `dict`, `list`, enums, dataclasses, dates, UUIDs: orjson writes some of them its
  own way or refuses them, the standard library writes others differently or refuses them.

`dump_json` walks the document first and hands anything else outside the domain to the standard library, and
also whatever orjson itself refuses (integers beyond 64 bits, lone surrogates), so the bytes, and the
exceptions, are the standard library's in every case.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
# Python's repr prints a float with an exponent below 1e-4 and from 1e16 up; between, and for zero, orjson prints
# the same shortest round-trip digits (checked on millions of floats; the tests keep checking).
_SMALLEST_PLAIN = 1e-4
_LARGEST_PLAIN = 1e16
# orjson refuses nesting deeper than 254 levels; a deeper document (or a cyclic one) goes to the stdlib, which
# writes or refuses it as it always did.
_MAX_DEPTH = 200
_SCALARS = frozenset({str, int, bool, type(None)})


def reference_json(data: Any) -> bytes:
    """Return `data` as the standard library writes it: the bytes `dump_json` must produce.

    Raise ValueError for a non-finite number and UnicodeEncodeError (a ValueError) for a lone surrogate.
    """
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


# What `_domain` finds: orjson writes the document as it is, once its floats printed with an exponent are handed
# to it as text (`repr`, as the standard library prints them), or only the standard library can write it.
_AS_IS, _WITH_FLOAT_TEXT, _STDLIB_ONLY = 0, 1, 2


def _domain(data: Any, depth: int = 0) -> int:
    kind = type(data)
    if kind is dict or kind is list or kind is tuple:
        if depth >= _MAX_DEPTH:
            return _STDLIB_ONLY
        if kind is dict and any(type(key) is not str for key in data):
            return _STDLIB_ONLY
        found = _AS_IS
        for item in data.values() if kind is dict else data:
            if type(item) not in _SCALARS:
                child = _domain(item, depth + 1)
                if child == _STDLIB_ONLY:
                    return child
                found |= child
        return found
    if kind is float:
        if _SMALLEST_PLAIN <= abs(data) < _LARGEST_PLAIN or data == 0.0:
            return _AS_IS
        return _WITH_FLOAT_TEXT if math.isfinite(data) else _STDLIB_ONLY
    return _AS_IS if kind in _SCALARS else _STDLIB_ONLY


def writes_with_orjson(data: Any) -> bool:
    """Return whether `dump_json` hands `data` to orjson: exact dicts with exact `str` keys, lists, tuples, `str`,
    `int`, `bool`, `None` and finite floats, no deeper than `_MAX_DEPTH`."""
    return _domain(data) != _STDLIB_ONLY


def _float_text(data: Any) -> Any:
    """Return a copy of `data` whose floats printed with an exponent are orjson fragments of their `repr`."""
    kind = type(data)
    if kind is dict:
        return {key: _float_text(item) for key, item in data.items()}
    if kind is list or kind is tuple:
        return [_float_text(item) for item in data]
    if kind is float and not (_SMALLEST_PLAIN <= abs(data) < _LARGEST_PLAIN or data == 0.0):
        return orjson.Fragment(float.__repr__(data))
    return data


def dump_json(data: Any) -> bytes:
    """Return `data` as JSON with sorted keys, 2-space indent and a trailing newline, UTF-8 encoded: exactly
    `reference_json(data)`, raising what it raises (ValueError for a non-finite number)."""
    found = _domain(data)
    if found != _STDLIB_ONLY:
        try:
            return orjson.dumps(_float_text(data) if found == _WITH_FLOAT_TEXT else data, option=_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # an integer beyond 64 bits or a lone surrogate: the standard library writes or refuses it
    return reference_json(data)
