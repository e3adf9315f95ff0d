"""The shape of a JSON instance for one schema: the instance with every value its validation cannot depend on
replaced by a marker, so that instances of one shape share one validation (dashbuild/schema.py caches by it).

Two instances of the same shape have the same schema errors, paths and messages included. A value is replaced
only where that is certain:

- the schema node is a *leaf* (a scalar `type`, bounds, lengths, a pattern, a string enum), the value is of
  exactly that type and satisfies it (no error there, in either instance), or the node accepts anything;
- every node above it is *transparent*: an object node (`type`, `properties`, `required`,
  `additionalProperties`), an array node (`type`, `items` as one schema, `minItems`/`maxItems` that the array
  satisfies) or a union (`oneOf`/`anyOf`) of which the value's type selects a single leaf branch. Their own
  errors name keys or indices, never the values below (a failing `minItems` or `oneOf` prints the instance:
  those are kept whole), and they validate each value by itself.

Everything else (a `oneOf` of objects, `allOf`, `uniqueItems`, recursive references, values failing their leaf)
is kept as it is, with its exact types: `True`, `1` and `1.0` stay apart. Keys are kept, in order.
A value that is not plain JSON (a tuple, a subclass, a non-`str` key) makes the instance shapeless: not cached.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable
from typing import Any

import jsonschema

Shape = Hashable
ShapeOf = Callable[[Any], Shape]

# Keywords that never produce an error: the validators are built without a format checker.
_ANNOTATIONS = frozenset({"description", "default", "title", "$comment", "examples", "format", "readOnly",
                          "writeOnly", "deprecated"})
_LEAF_KEYWORDS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                            "maxLength", "pattern", "enum"})
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})
_ARRAY_KEYWORDS = frozenset({"type", "items", "minItems", "maxItems"})
_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER


class _Free:
    """The marker of a value whose validation cannot fail: equal only to itself."""

    def __repr__(self) -> str:
        return "<free>"


FREE = _Free()


class Shapeless(Exception):
    """The instance holds something other than plain JSON values."""


def exact(value: Any) -> Shape:
    """Return `value` as a hashable tree keeping exact types and key order; raise Shapeless for non-JSON."""
    kind = type(value)
    if kind is dict:
        return ("{", tuple((_key(key), exact(item)) for key, item in value.items()))
    if kind is list:
        return ("[", tuple(exact(item) for item in value))
    if kind in (str, int, float, bool) or value is None:
        return kind, value
    raise Shapeless


def _key(key: Any) -> str:
    if type(key) is not str:
        raise Shapeless
    return key


def _declared_types(node: dict[str, Any]) -> tuple[str, ...]:
    declared = node.get("type", ())
    return (declared,) if isinstance(declared, str) else tuple(declared)


def _is_leaf(node: dict[str, Any]) -> bool:
    keywords = set(node) - _ANNOTATIONS
    return keywords <= _LEAF_KEYWORDS and "type" in keywords and set(_declared_types(node)) <= {
        "string", "integer", "number", "boolean", "null"} and all(
        isinstance(item, str) for item in node.get("enum", ()))


def _leaf_accepts(node: dict[str, Any]) -> Callable[[Any], bool]:
    """Return a test that is True only for values of exactly a declared type that satisfy every keyword of the
    leaf `node` (False means: keep the value, not necessarily invalid)."""
    declared = set(_declared_types(node))
    pattern = re.compile(node["pattern"]) if "pattern" in node else None
    enum = frozenset(node["enum"]) if "enum" in node else None
    low, high = node.get("minimum"), node.get("maximum")
    above, below = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    shortest, longest = node.get("minLength"), node.get("maxLength")

    def accepts(value: Any) -> bool:
        kind = type(value)
        if kind is str:
            return ("string" in declared and (shortest is None or len(value) >= shortest)
                    and (longest is None or len(value) <= longest)
                    and (pattern is None or pattern.search(value) is not None)
                    and (enum is None or value in enum))
        if enum is not None:
            return False
        if kind is bool:
            return "boolean" in declared
        if value is None:
            return "null" in declared
        if kind is int or (kind is float and math.isfinite(value)):
            return (("number" in declared or ("integer" in declared and kind is int))
                    and (low is None or value >= low) and (high is None or value <= high)
                    and (above is None or value > above) and (below is None or value < below))
        return False

    return accepts


def _leaf(node: dict[str, Any]) -> ShapeOf:
    accepts = _leaf_accepts(node)

    def shape(value: Any) -> Shape:
        return FREE if accepts(value) else exact(value)

    return shape


def _union(node: dict[str, Any], compile_node: Callable[[Any], ShapeOf]) -> ShapeOf:
    branches: list[Any] = node["oneOf"] if "oneOf" in node else node["anyOf"]
    leaves = [(branch, _leaf_accepts(branch) if isinstance(branch, dict) and _is_leaf(branch) else None)
              for branch in branches]

    def shape(value: Any) -> Shape:
        # jsonschema's own type check says which branches the value could match; with one, a leaf it satisfies,
        # every other branch fails on its type alone and the union passes, whatever the value.
        matching = [accepts for branch, accepts in leaves
                    if not isinstance(branch, dict) or "type" not in branch
                    or any(_TYPES.is_type(value, t) for t in _declared_types(branch))]
        if len(matching) == 1 and matching[0] is not None and matching[0](value):
            return FREE
        return exact(value)

    return shape


def _object(node: dict[str, Any], compile_node: Callable[[Any], ShapeOf]) -> ShapeOf:
    properties = {name: compile_node(schema) for name, schema in node.get("properties", {}).items()}
    extra = node.get("additionalProperties", True)
    # An unlisted key's value: validated against `additionalProperties` when it is a schema; with `false` the
    # error names the key only, yet the value is kept (a rare case not worth a proof).
    other: ShapeOf | None = compile_node(extra) if isinstance(extra, dict) else (None if extra is False else _anything)

    def shape(value: Any) -> Shape:
        if type(value) is not dict:
            return exact(value)
        items = []
        for key, item in value.items():
            of = properties.get(_key(key), other)
            items.append((key, exact(item) if of is None else of(item)))
        return "{", tuple(items)

    return shape


def _array(node: dict[str, Any], compile_node: Callable[[Any], ShapeOf]) -> ShapeOf:
    items = node.get("items", {})
    item_shape = compile_node(items)
    shortest, longest = node.get("minItems"), node.get("maxItems")

    def shape(value: Any) -> Shape:
        if type(value) is not list or (shortest is not None and len(value) < shortest) or (
                longest is not None and len(value) > longest):
            return exact(value)
        return "[", tuple(item_shape(item) for item in value)

    return shape


def shape_function(schema: Any) -> ShapeOf:
    """Return the function giving an instance's shape for the (dereferenced) `schema`; it raises Shapeless for an
    instance that is not plain JSON."""
    compiled: dict[int, ShapeOf] = {}

    def compile_node(node: Any) -> ShapeOf:
        if id(node) in compiled:
            return compiled[id(node)]
        shape: ShapeOf = exact
        if isinstance(node, dict):
            keywords = set(node) - _ANNOTATIONS - {"definitions"}
            declared = set(_declared_types(node))
            if not keywords:
                shape = _anything
            elif _is_leaf(node):
                shape = _leaf(node)
            elif keywords in ({"oneOf"}, {"anyOf"}) and all(isinstance(b, dict) for b in node[next(iter(keywords))]):
                shape = _union(node, compile_node)
            elif keywords <= _OBJECT_KEYWORDS and declared == {"object"}:
                shape = _object(node, compile_node)
            elif keywords <= _ARRAY_KEYWORDS and declared == {"array"} and isinstance(node.get("items", {}), dict):
                shape = _array(node, compile_node)
        compiled[id(node)] = shape
        return shape

    return compile_node(schema)


def _anything(value: Any) -> Shape:
    exact(value)  # still refuse what is not plain JSON
    return FREE
