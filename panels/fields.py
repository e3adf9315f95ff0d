"""Field-level value objects of a panel: value mappings, overrides, data links, transformations, and the
escape hatch for JSON options the model does not cover (`raw`).

Free-form JSON (override values, transformation options, raw values) is frozen on the way in: mappings
become `FrozenMap` and lists tuples, so panels stay hashable, comparable and deterministic; `thaw` gives
the JSON back for rendering. Nothing here imports Grafana.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, TypeAlias

import attrs

JSON: TypeAlias = "bool | int | float | str | tuple[JSON, ...] | FrozenMap | None"
Pairs: TypeAlias = "tuple[tuple[str, JSON], ...]"


@attrs.frozen
class FrozenMap:
    """An immutable JSON object: its items sorted by key."""

    items: tuple[tuple[str, JSON], ...]

    def __iter__(self) -> Iterator[tuple[str, JSON]]:
        return iter(self.items)


def freeze(value: object, where: str = "value") -> JSON:
    """Return `value` (JSON-like: dict, list, tuple, str, number, bool, None) frozen; refuse anything else.

    Non-finite numbers are refused here, where the module file is named, rather than when the JSON is written.
    """
    if value is None or isinstance(value, (bool, str, FrozenMap)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value} is not a finite number, and JSON cannot hold it")
        return value
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: object keys must be strings, got {key!r}")
            items.append((key, freeze(item, f"{where}.{key}")))
        return FrozenMap(tuple(sorted(items)))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item, f"{where}[{index}]") for index, item in enumerate(value))
    raise ValueError(f"{where}: {type(value).__name__} {value!r:.60} is not a JSON value")


def thaw(value: JSON) -> Any:
    """Return the plain JSON (dicts and lists) of a frozen value."""
    if isinstance(value, FrozenMap):
        return {key: thaw(item) for key, item in value.items}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


def _pairs(items: Mapping[str, object] | Iterable[tuple[str, object]], what: str) -> Pairs:
    """Return (name, frozen value) pairs from a mapping or pairs, refusing a name given twice."""
    pairs = list(items.items()) if isinstance(items, Mapping) else [tuple(pair) for pair in items]
    names = [str(pair[0]) for pair in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{what}: {repeated[0]!r} is given more than once")
    return tuple((str(name), freeze(value, f"{what} {name!r}")) for name, value in pairs)


# -- value mappings ---------------------------------------------------------------------------------

SpecialValue = Literal["null", "nan", "null+nan", "true", "false", "empty"]
SPECIAL_VALUES: tuple[SpecialValue, ...] = ("null", "nan", "null+nan", "true", "false", "empty")


@attrs.frozen
class ValueText:
    """Show `text` (in `color`, if given) for an exact value, a [low, high] range, a regex or a special value."""

    text: str
    color: str = ""
    value: float | None = None
    low: float | None = None
    high: float | None = None
    pattern: str | None = None
    special: SpecialValue | None = attrs.field(default=None,
                                              validator=attrs.validators.optional(attrs.validators.in_(SPECIAL_VALUES)))

    def __attrs_post_init__(self) -> None:
        kinds = [self.value is not None, self.low is not None or self.high is not None, self.pattern is not None,
                 self.special is not None]
        if sum(kinds) != 1:
            raise ValueError("a value mapping needs exactly one of `value`, a `low`/`high` range, `pattern` or "
                             "`special`")
        if self.pattern is not None:
            _check_regex(self.pattern, "value mapping pattern")


def _check_regex(pattern: str, what: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{what} {pattern!r} is not a regular expression: {error}") from None


# -- overrides --------------------------------------------------------------------------------------

OverrideMatcher = Literal["byName", "byRegexp", "byFrameRefID"]
OVERRIDE_MATCHERS: tuple[OverrideMatcher, ...] = ("byName", "byRegexp", "byFrameRefID")
# A field config property id: `unit`, `displayName`, `custom.axisPlacement`, `custom.cellOptions`...
PROPERTY_ID_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)*$")


def _properties(items: Mapping[str, object] | Iterable[tuple[str, object]]) -> Pairs:
    pairs = _pairs(items, "override property")
    for name, _value in pairs:
        if not PROPERTY_ID_RE.fullmatch(name):
            raise ValueError(f"override property id {name!r} must be a field config path such as 'unit' or "
                             "'custom.axisPlacement'")
    return pairs


@attrs.frozen
class Override:
    """Field config for the fields a matcher selects: by name, by regex of the name, or by query (ref id)."""

    matcher: OverrideMatcher = attrs.field(validator=attrs.validators.in_(OVERRIDE_MATCHERS))
    pattern: str = attrs.field(validator=attrs.validators.min_len(1))
    properties: Pairs = attrs.field(converter=_properties, validator=attrs.validators.min_len(1))

    def __attrs_post_init__(self) -> None:
        if self.matcher == "byRegexp":
            _check_regex(self.pattern, "override regex")


def by_name(name: str, properties: Mapping[str, object] | Iterable[tuple[str, object]]) -> Override:
    """Return an override of the field named `name` (its display name, e.g. a legend) with `properties`."""
    return Override("byName", name, properties)


def by_regexp(pattern: str, properties: Mapping[str, object] | Iterable[tuple[str, object]]) -> Override:
    """Return an override of every field whose name matches the regular expression `pattern`."""
    return Override("byRegexp", pattern, properties)


def by_query(ref_id: str, properties: Mapping[str, object] | Iterable[tuple[str, object]]) -> Override:
    """Return an override of the fields of one query, by its ref id (`A` for the panel's first target)."""
    return Override("byFrameRefID", ref_id, properties)


# -- links ------------------------------------------------------------------------------------------

@attrs.frozen
class DataLink:
    """A link from a panel (or each of its values) to a URL; Grafana variables such as `${__value.raw}` work."""

    title: str = attrs.field(validator=attrs.validators.min_len(1))
    url: str = attrs.field(validator=attrs.validators.min_len(1))
    target_blank: bool = False


# -- transformations --------------------------------------------------------------------------------

def _options(value: Mapping[str, object]) -> FrozenMap:
    frozen = freeze(value, "transformation options")
    if not isinstance(frozen, FrozenMap):
        raise ValueError(f"transformation options must be an object, got {value!r:.60}")
    return frozen


@attrs.frozen
class Transformation:
    """A Grafana transformation (`id` as Grafana names it, its options), applied in the panel's order."""

    id: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-zA-Z][a-zA-Z0-9]*$"))
    options: FrozenMap = attrs.field(factory=lambda: FrozenMap(()), converter=_options)


def merge() -> Transformation:
    """Return the `merge` transformation: the queries' tables joined into one, rows matched by their labels."""
    return Transformation("merge", {})


def organize(*, exclude: Iterable[str] = (), rename: Mapping[str, str] | None = None,
             order: Iterable[str] = ()) -> Transformation:
    """Return the `organize` transformation: hide the `exclude` fields, rename fields, order the `order` ones first."""
    return Transformation("organize", {
        "excludeByName": {name: True for name in exclude},
        "indexByName": {name: index for index, name in enumerate(order)},
        "renameByName": dict(rename or {}),
    })


def filter_by_name(*, names: Iterable[str] = (), pattern: str | None = None, exclude: bool = False
                   ) -> Transformation:
    """Return `filterFieldsByName`: keep (or with `exclude`, drop) the fields named `names` or matching `pattern`."""
    selection: dict[str, object] = {"names": list(names)}
    if pattern is not None:
        _check_regex(pattern, "field name pattern")
        selection["pattern"] = pattern
    return Transformation("filterFieldsByName",
                          {"exclude" if exclude else "include": selection})


# -- the escape hatch -------------------------------------------------------------------------------

_RAW_PATH_RE = re.compile(r"^[A-Za-z_$@][A-Za-z0-9_$@-]*(\.[A-Za-z0-9_$@-]+)*$")
# What the build owns: identity (keys → id), kind, title, layout, queries and their datasource, repeats.
# Lint, keys and the layout read these from the model, so an escape hatch may not change them.
RAW_FORBIDDEN = frozenset({"id", "type", "title", "gridPos", "targets", "datasource", "panels", "libraryPanel",
                           "repeat", "repeatDirection", "maxPerRow"})


def raw_options(items: Mapping[str, object] | Iterable[tuple[str, object]]) -> Pairs:
    """Return escape-hatch options as (dotted JSON path, frozen value) pairs sorted by path.

    Sorted, so that the result does not depend on the order they were written in; a path that is a prefix of
    another is applied first, and the longer one then changes what it set.
    """
    pairs = _pairs(items, "raw option")
    for path, _value in pairs:
        if not _RAW_PATH_RE.fullmatch(path):
            raise ValueError(f"raw option path {path!r} must be dotted JSON keys, such as 'options.legend.calcs'")
        if path.split(".")[0] in RAW_FORBIDDEN:
            raise ValueError(f"raw option {path!r}: {path.split('.')[0]!r} is set by the build (identity, layout, "
                             "queries, repeats); use the Panel's own fields")
    return tuple(sorted(pairs))


def apply_raw(panel: dict[str, Any], raw: Pairs) -> None:
    """Set each raw option's value at its path in the rendered panel JSON, creating objects on the way."""
    for path, value in raw:
        node = panel
        *parents, last = path.split(".")
        for index, key in enumerate(parents):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(parents[:index + 1])
                raise ValueError(f"raw option {path!r}: {where} is {type(child).__name__}, not an object")
            node = child
        node[last] = thaw(value)
