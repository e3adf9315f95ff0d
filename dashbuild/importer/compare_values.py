"""Values as Grafana reads them: empty means unset, schema defaults fill what is missing, leaf by leaf."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from dashbuild.importer.migrate_common import obj, variable_name
from dashbuild.schema import SCHEMA_LINE

Json = dict[str, Any]


class _Absent:
    """The value of a setting that is not there (distinct from any JSON value)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


def mapping(value: Any) -> Mapping[str, Any]:
    """Return `value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def is_empty(value: Any) -> bool:
    """Tell whether Grafana reads a value as unset: missing, null, "", [] or {}."""
    return value is ABSENT or value is None or value == "" or value == [] or value == {}


def clean(value: Any) -> Any:
    """Return `value` with unset entries removed from objects, recursively (lists keep their length)."""
    if isinstance(value, Mapping):
        cleaned = {key: clean(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if not is_empty(item)}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Compare two cleaned JSON values: numbers by value (1 == 1.0), booleans only with booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def leaf_differences(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield (path, before, after) for every leaf that differs; lists of another length differ as a whole."""
    before = ABSENT if is_empty(before) else before
    after = ABSENT if is_empty(after) else after
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            yield from leaf_differences(before.get(key, ABSENT), after.get(key, ABSENT), f"{path}.{key}".lstrip("."))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (x, y) in enumerate(zip(before, after, strict=True)):
            yield from leaf_differences(x, y, f"{path}[{index}]")
    elif not (before is ABSENT and after is ABSENT) and not same(clean(before), clean(after)):
        yield path, before, after


@cache
def _definitions(name: str) -> Json:
    text = resources.files("dashbuild").joinpath(f"schemas/grafana/{SCHEMA_LINE}/{name}.jsonschema.json")
    definitions: Json = json.loads(text.read_text(encoding="utf-8"))["definitions"]
    return definitions


def _inline(definitions: Json, node: Any, seen: tuple[str, ...] = ()) -> Any:
    # Like dashbuild.schema.dereference, but a `$ref`'s siblings (its `default`) are kept.
    if isinstance(node, list):
        return [_inline(definitions, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if name in seen or name not in definitions:
            return siblings
        return {**_inline(definitions, definitions[name], (*seen, name)), **siblings}
    return {key: _inline(definitions, value, seen) for key, value in node.items()}


@cache
def schema_of(name: str, definition: str) -> Json | None:
    """Return a definition of one of the project's Grafana schemas, references inlined (None if absent)."""
    try:
        definitions = _definitions(name)
    except FileNotFoundError:
        return None
    if definition not in definitions:
        return None
    inlined: Json = _inline(definitions, {"$ref": f"#/definitions/{definition}"})
    return inlined


def with_defaults(value: Any, schema: Mapping[str, Any] | None) -> Any:
    """Return `value` with every missing or null property that has a schema default filled in, recursively."""
    if schema is None or not isinstance(value, Mapping):
        return value
    properties = obj(schema.get("properties"))
    filled = dict(value)
    for key, sub in properties.items():
        if not isinstance(sub, Mapping):
            continue
        if filled.get(key) is None and "default" in sub:
            filled[key] = sub["default"]
        if key in filled:
            filled[key] = with_defaults(filled[key], sub)
    return filled


def known_only(value: Any, schema: Mapping[str, Any] | None) -> Any:
    """Return `value` without the keys a closed object schema does not define, recursively: the panel plugin
    does not read them (the schema is generated from the same types its code reads)."""
    if schema is None or not isinstance(value, Mapping):
        return value
    properties = obj(schema.get("properties"))
    closed = schema.get("additionalProperties") is False
    return {key: known_only(item, properties.get(key) if isinstance(properties.get(key), Mapping) else None)
            for key, item in value.items() if key in properties or not closed}


def fill(value: Any, defaults: Any) -> Any:
    """Return `value` with what `defaults` has and it lacks filled in, recursively into objects."""
    if not isinstance(defaults, Mapping):
        return defaults if value is None else value
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        return value
    filled = dict(value)
    for key, default in defaults.items():
        filled[key] = fill(filled.get(key), default)
    return filled


def datasource_uid(value: Any) -> Any:
    """Return the identity of a data source reference: its uid with `${ds}`/`[[ds]]` written `$ds`.

    A reference object, a bare uid or name and a variable in any of its spellings compare equal when they
    name the same data source; null stays null (the default data source).
    """
    if isinstance(value, Mapping):
        uid = value.get("uid")
        if uid is None:
            return {"type": value.get("type")} if value.get("type") else None
        value = uid
    if isinstance(value, str):
        name = variable_name(value)
        return f"${name}" if name is not None else value
    return value
