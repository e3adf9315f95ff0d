"""A canonical, hash-seed-independent digest of value objects (attrs classes, tuples, sets, enums, scalars).

Used to tell whether what a module gives the build's cross-module stages (its contract, its overview section,
its dashboard's identity) is exactly what it gave before (dashbuild/build_units.py). A value of a kind not listed
has no digest (`Uncanonical`): the caller then treats it as changed.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from typing import Any

import attrs


class Uncanonical(TypeError):
    """A value that has no canonical form here."""


def canonical(value: Any) -> Any:
    """Return `value` as plain JSON data that is equal for equal values, whatever the hash seed."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return {"int": str(value)}  # not float-equal: 1 and 1.0 render differently
    if isinstance(value, float):
        return {"float": repr(value) if math.isfinite(value) else str(value)}
    if isinstance(value, enum.Enum):
        return {"enum": f"{type(value).__module__}.{type(value).__qualname__}", "value": canonical(value.value)}
    if isinstance(value, tuple | list):
        return {type(value).__name__: [canonical(item) for item in value]}
    if isinstance(value, frozenset | set):
        items = [canonical(item) for item in value]
        return {"set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    if isinstance(value, dict):
        # In insertion order: an output may follow it.
        return {"dict": [[canonical(key), canonical(item)] for key, item in value.items()]}
    if attrs.has(type(value)):
        kind = type(value)
        return {"attrs": f"{kind.__module__}.{kind.__qualname__}",
                "fields": [[field.name, canonical(getattr(value, field.name))] for field in attrs.fields(kind)]}
    raise Uncanonical(f"{type(value).__name__} has no canonical form")


def digest(value: Any) -> str:
    """Return the SHA-256 of `value`'s canonical form; raise Uncanonical for a value without one."""
    text = json.dumps(canonical(value), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
