"""Check panel options against grafana-foundation-sdk's models, for panel plugins without a JSON Schema here.

The project ships Grafana's JSON Schemas for the plugins in `schema.PANEL_PLUGINS` only. For heatmap, histogram,
state-timeline and status-history, `options` and `fieldConfig.defaults.custom` are loaded into the SDK's own
model (generated from the same CUE definitions) and written back: a key the model drops is unknown, a value it
changes did not load as given, and each value is checked against the type the model declares for it (enum
values, numbers, booleans, nested objects, lists). What the models cannot say (required keys, numeric ranges,
patterns) is not checked.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from functools import cache
from typing import Any

from grafana_foundation_sdk.models import heatmap, histogram, statetimeline, statushistory

from dashbuild.sdk_json import sdk_json

# Plugin id -> (options model, custom field config model).
SDK_PLUGINS: dict[str, tuple[type, type]] = {
    "heatmap": (heatmap.Options, heatmap.FieldConfig),
    "histogram": (histogram.Options, histogram.FieldConfig),
    "state-timeline": (statetimeline.Options, statetimeline.FieldConfig),
    "status-history": (statushistory.Options, statushistory.FieldConfig),
}
Problem = tuple[str, str]  # (path below the checked object, message)


class _Marker:
    """A unique value: set on every attribute of a model, it shows under which JSON key `to_json` writes it."""


@cache
def json_fields(model: type) -> dict[str, tuple[str, Any]]:
    """Return JSON key -> (attribute, declared type) of an SDK model, read from its own `to_json`."""
    hints = typing.get_type_hints(model)
    instance = model()
    markers = {name: _Marker() for name in hints}
    for name, marker in markers.items():
        setattr(instance, name, marker)
    written = instance.to_json()
    by_marker = {id(marker): name for name, marker in markers.items()}
    return {key: (by_marker[id(value)], hints[by_marker[id(value)]]) for key, value in written.items()
            if id(value) in by_marker}


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and hasattr(kind, "from_json") and hasattr(kind, "to_json")


def _type_problems(value: Any, kind: Any, path: str) -> list[Problem]:
    """Return why `value` is not of the declared type `kind` (empty when it is)."""
    origin = typing.get_origin(kind)
    if kind is Any or kind is object:
        return []
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return []
        found = [_type_problems(value, option, path) for option in options if option is not type(None)]
        return [] if any(not problems for problems in found) else min(found, key=len)
    if origin is typing.Literal:
        return [] if value in typing.get_args(kind) else [(path, f"{value!r} is not one of {typing.get_args(kind)}")]
    if origin is list:
        if not isinstance(value, list):
            return [(path, f"{value!r:.60} is not a list")]
        (item,) = typing.get_args(kind) or (Any,)
        return [problem for index, element in enumerate(value)
                for problem in _type_problems(element, item, f"{path}[{index}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [(path, f"{value!r:.60} is not an object")]
        item = typing.get_args(kind)[1] if typing.get_args(kind) else Any
        return [problem for key, element in value.items() for problem in _type_problems(element, item, f"{path}.{key}")]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        allowed = [member.value for member in kind]
        return [] if value in allowed else [(path, f"{value!r:.60} is not one of {allowed}")]
    if _is_model(kind):
        return model_problems(kind, value, path)
    return _scalar_problems(value, kind, path)


def _scalar_problems(value: Any, kind: Any, path: str) -> list[Problem]:
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is str:
        ok = isinstance(value, str)
    else:
        return []  # a type the models use for free-form data (e.g. a query variant): nothing to check
    return [] if ok else [(path, f"{value!r:.60} is not of type {kind.__name__}")]


def model_problems(model: type, value: Any, path: str = "") -> list[Problem]:
    """Return the unknown keys and mistyped values of `value` as an instance of the SDK `model`."""
    if not isinstance(value, dict):
        return [(path, f"{value!r:.60} is not an object")]
    fields = json_fields(model)
    problems: list[Problem] = []
    for key, item in value.items():
        where = f"{path}.{key}".lstrip(".")
        if key not in fields:
            problems.append((where, f"unknown property {key!r} (the SDK's {model.__module__.rsplit('.', 1)[-1]}."
                                    f"{model.__name__} has {', '.join(sorted(fields))})"))
            continue
        problems.extend(_type_problems(item, fields[key][1], where))
    return problems


def _differences(given: Any, written: Any, path: str) -> list[Problem]:
    """Return where the model's JSON lost or changed a value that was given (keys it only adds are defaults)."""
    if isinstance(given, dict) and isinstance(written, dict):
        found: list[Problem] = []
        for key, item in given.items():
            where = f"{path}.{key}".lstrip(".")
            if key not in written:
                found.append((where, f"unknown property {key!r}: the SDK's model drops it"))
            else:
                found.extend(_differences(item, written[key], where))
        return found
    if isinstance(given, list) and isinstance(written, list) and len(given) == len(written):
        return [problem for index, (a, b) in enumerate(zip(given, written, strict=True))
                for problem in _differences(a, b, f"{path}[{index}]")]
    if given != written or type(given) is not type(written):
        return [(path, f"{given!r:.60} does not load as given (the SDK's model writes {written!r:.60})")]
    return []


_RESULTS: dict[tuple[str, str], list[Problem]] = {}


def sdk_problems(model: type, value: Any) -> list[Problem]:
    """Return the problems of `value` as the SDK `model`: types first, then what its round trip loses or changes.

    Results are cached per model and canonical JSON: the same options recur on many panels.
    """
    key = (f"{model.__module__}.{model.__qualname__}", json.dumps(value, sort_keys=True, default=str))
    if key in _RESULTS:
        return _RESULTS[key]
    problems = model_problems(model, value)
    if not problems:
        try:
            written = sdk_json(model.from_json(value))  # type: ignore[attr-defined]
        except (TypeError, ValueError, AttributeError, KeyError) as error:
            problems = [("", f"does not load into the SDK's {model.__name__}: {type(error).__name__}: {error}")]
        else:
            problems = _differences(value, written, "")
    _RESULTS[key] = sorted(problems)
    return _RESULTS[key]
