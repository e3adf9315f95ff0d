"""The plain JSON value of grafana-foundation-sdk models, without writing JSON text and parsing it back.

`sdk_json(model)` returns what `json.loads(json.dumps(model, cls=JSONEncoder))` returns (the SDK's own way to
serialise a model): a tree of fresh dicts and lists holding exact `str`, `int`, `float`, `bool` and `None`, with
each model replaced by its `to_json()` and each enum by its value. It walks the models once instead of encoding
and decoding every value. Where the round trip's result is less obvious (a key that is not an exact `str`, a
subclass of `dict`, `list` or `float`, nesting deep enough to be a cycle), it returns the round trip's own result,
so both agree on every input (tests/test_json_render.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

# The SDK's models nest a dozen levels; past this, the round trip decides (it reports a cycle as ValueError).
_MAX_DEPTH = 100
_ENCODER = JSONEncoder()
_SCALARS = frozenset({int, float, bool, type(None)})
# The round trip escapes surrogates one by one and reads an escaped pair back as one character: text holding
# them is left to it.
_SURROGATE = re.compile("[\ud800-\udfff]")


class _RoundTrip(Exception):
    """A value whose round trip is left to `json` itself."""


def round_trip(model: Any) -> Any:
    """Return `model` serialised by the SDK's JSON encoder and parsed back: the reference `sdk_json` matches."""
    return json.loads(json.dumps(model, cls=JSONEncoder))


def sdk_json(model: Any) -> Any:
    """Return the plain JSON value of `model` (SDK models, enums, dicts, lists, scalars), as `round_trip` does.

    Raise TypeError for a value that is neither JSON nor a model with `to_json`, as the encoder does.
    """
    try:
        return _plain(model, 0)
    except _RoundTrip:
        return round_trip(model)


def _text(value: str) -> str:
    if value.isascii() or not _SURROGATE.search(value):
        return value
    raise _RoundTrip


def _plain(value: Any, depth: int) -> Any:
    # Strings and scalars are handled inline in the loops: they are most of the leaves.
    kind = type(value)
    if kind is dict:
        if depth > _MAX_DEPTH:
            raise _RoundTrip
        result = {}
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or not _SURROGATE.search(key)):
                raise _RoundTrip
            item_kind = type(item)
            if item_kind is str:
                if not item.isascii() and _SURROGATE.search(item):
                    raise _RoundTrip
                result[key] = item
            elif item_kind in _SCALARS:
                result[key] = item
            else:
                result[key] = _plain(item, depth + 1)
        return result
    if kind is list or kind is tuple:
        if depth > _MAX_DEPTH:
            raise _RoundTrip
        items = []
        for item in value:
            item_kind = type(item)
            if item_kind is str:
                if not item.isascii() and _SURROGATE.search(item):
                    raise _RoundTrip
                items.append(item)
            elif item_kind in _SCALARS:
                items.append(item)
            else:
                items.append(_plain(item, depth + 1))
        return items
    if kind in _SCALARS:
        return value
    if kind is str:
        return _text(value)
    # The encoder's own order of checks: a str or int subclass (the SDK's StrEnum and IntEnum) is written as
    # its str or int text, read back as an exact str or int.
    if isinstance(value, str):
        return _text(str.__str__(value))
    if isinstance(value, int):
        return int(int.__repr__(value))
    if isinstance(value, (float, dict, list, tuple)) or depth > _MAX_DEPTH:
        raise _RoundTrip
    # A model: the encoder's `default` returns its `to_json()`, or raises TypeError as the round trip does.
    to_json = getattr(value, "to_json", None)
    return _plain(to_json() if callable(to_json) else _ENCODER.default(value), depth + 1)
