"""Template variables and annotations of a dashboard, as value objects (no Grafana imports).

Every dashboard also has the Prometheus datasource variable `datasource` (panels/settings.py), which the
renderer adds itself; `DatasourceVariable` declares another one, e.g. a long-term store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from panels.settings import DATASOURCE_VARIABLE

# Grafana's own variables start with `__`; a dashboard's may not.
NAME_RE = re.compile(r"^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$")
DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not NAME_RE.fullmatch(value):
        raise ValueError(f"variable name {value!r} must be letters, digits and '_' (not starting with '__')")


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    if isinstance(items, str):
        raise ValueError(f"expected a list of values, got the string {items!r}")
    return tuple(items)


def _check_choices(variable: object, attribute: attrs.Attribute[tuple[str, ...]], values: tuple[str, ...]) -> None:
    name = getattr(variable, "name", "?")
    if not values:
        raise ValueError(f"variable {name!r}: {attribute.name} must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"variable {name!r}: {attribute.name} repeats a value: {values}")
    for value in values:
        # Grafana splits a custom or interval variable's query at commas and trims each value.
        if not value.strip() or "," in value or value != value.strip():
            raise ValueError(f"variable {name!r}: value {value!r} must be non-empty, without commas or outer spaces")


def _check_default(variable: CustomVariable | IntervalVariable) -> None:
    if variable.default is not None and variable.default not in variable.values:
        raise ValueError(f"variable {variable.name!r}: default {variable.default!r} is not one of {variable.values}")


@attrs.frozen
class Variable:
    """A query template variable: multi-select with All selected by default.

    `all_value` is what All stands for (`.*`); None makes All the regex of every value the query
    returns, which is how a hidden variable hands a chosen set of label values to the panels.
    `multi=False` makes it single-select (queries matching it with `=` need that), `include_all=False` drops
    All, `default` is the value selected first (else All, or Grafana's first value); `sort` is Grafana's
    order of the values (0 as returned, 1 alphabetical, 3 numerical, 5 alphabetical ignoring case; +1 descending).
    """

    name: str
    label: str
    query: str
    regex: str = ""
    all_value: str | None = ".*"
    hidden: bool = False
    datasource: str = DATASOURCE_VARIABLE
    multi: bool = True
    include_all: bool = True
    default: str | None = None
    sort: int = attrs.field(default=1, validator=[attrs.validators.ge(0), attrs.validators.le(8)])


@attrs.frozen
class CustomVariable:
    """A variable choosing among fixed values (`values`), the first (or `default`) selected."""

    name: str = attrs.field(validator=_check_name)
    label: str
    values: tuple[str, ...] = attrs.field(converter=_strings, validator=_check_choices)
    default: str | None = None
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    hidden: bool = False

    def __attrs_post_init__(self) -> None:
        _check_default(self)


@attrs.frozen
class IntervalVariable:
    """A variable choosing a duration (`5m`), e.g. for `increase(x[$window])`; `auto` adds Grafana's auto step."""

    name: str = attrs.field(validator=_check_name)
    label: str
    values: tuple[str, ...] = attrs.field(default=("1m", "5m", "15m", "1h", "6h", "1d"), converter=_strings,
                                          validator=_check_choices)
    default: str | None = None
    auto: bool = False
    hidden: bool = False
    # With `auto`: the range is divided into `auto_count` steps, none shorter than `auto_min` (Grafana's defaults).
    auto_count: int = attrs.field(default=30, validator=[attrs.validators.ge(1), attrs.validators.le(10_000)])
    auto_min: str = attrs.field(default="10s", validator=attrs.validators.matches_re(DURATION_RE))

    def __attrs_post_init__(self) -> None:
        _check_default(self)
        for value in self.values:
            if not DURATION_RE.fullmatch(value):
                raise ValueError(f"variable {self.name!r}: {value!r} is not a duration such as 30s, 5m or 1h")


@attrs.frozen
class ConstantVariable:
    """A hidden variable with one value: a name for something several queries share."""

    name: str = attrs.field(validator=_check_name)
    value: str = attrs.field(validator=attrs.validators.min_len(1))


@attrs.frozen
class TextboxVariable:
    """A free-text input, `default` filled in."""

    name: str = attrs.field(validator=_check_name)
    label: str
    default: str = ""
    hidden: bool = False


@attrs.frozen
class DatasourceVariable:
    """Another Prometheus datasource to choose (besides `datasource`), among those whose name matches `regex`."""

    name: str = attrs.field(validator=_check_name)
    label: str
    regex: str = ""
    hidden: bool = False


@attrs.frozen
class AdhocVariable:
    """Ad hoc filters: key/value label filters the viewer adds, which Grafana applies to every query of the
    datasource `datasource` names. It stands for nothing inside a query, so queries do not write `$name`."""

    name: str = attrs.field(validator=_check_name)
    label: str = ""
    datasource: str = attrs.field(default=DATASOURCE_VARIABLE, validator=_check_name)
    hidden: bool = False


AnyVariable = (Variable | CustomVariable | IntervalVariable | ConstantVariable | TextboxVariable | DatasourceVariable
               | AdhocVariable)
VARIABLE_TYPES = (Variable, CustomVariable, IntervalVariable, ConstantVariable, TextboxVariable, DatasourceVariable,
                  AdhocVariable)


@attrs.frozen
class Annotation:
    """A Prometheus query whose series mark events on every time series panel (besides Grafana's own).

    Each returned series is an event while its value is non-zero; `title_format` and `text_format` may use
    `{{label}}`, `tag_keys` names labels (comma-separated) shown as tags; `step` is the query's resolution.
    """

    name: str = attrs.field(validator=attrs.validators.min_len(1))
    expr: str = attrs.field(validator=attrs.validators.min_len(1))
    datasource: str = attrs.field(default=DATASOURCE_VARIABLE, validator=_check_name)
    icon_color: str = "red"
    enable: bool = True
    hide: bool = False
    title_format: str = ""
    text_format: str = ""
    tag_keys: str = ""
    step: str = attrs.field(default="60s", validator=attrs.validators.matches_re(DURATION_RE))
    use_value_for_time: bool = False
