"""Value objects describing dashboards, independent of any Grafana library.

Helpers return these; the build pipeline compiles them to Grafana JSON with
grafana-foundation-sdk. Keeping them plain lets a module file be imported
without Grafana, lets the overview copy panels, and lets checks inspect them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

import attrs

from moddash.contract.model import Metric

PanelKind = Literal["timeseries", "stat", "piechart"]
PANEL_KINDS: tuple[PanelKind, ...] = ("timeseries", "stat", "piechart")
GRID_WIDTH = 24
UID_RE = re.compile(r"^[a-z0-9-]{1,40}$")
# A panel or row key (panels/keys.py): what identifies it in reviews, lint silences and the JSON's panel ids.
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,199}$")


@attrs.frozen
class Target:
    """One Prometheus query of a panel."""

    expr: str = attrs.field(validator=attrs.validators.min_len(1))
    legend: str = ""
    instant: bool = False


@attrs.frozen
class Step:
    """A threshold step; the first step of a panel is the base (value None)."""

    color: str
    value: float | None = None


def _check_steps(_: object, attribute: attrs.Attribute[tuple[Step, ...]], steps: tuple[Step, ...]) -> None:
    if not steps:
        return
    if steps[0].value is not None:
        raise ValueError("the first threshold step is the base step and takes no value")
    values = [s.value for s in steps[1:]]
    if any(v is None for v in values):
        raise ValueError("only the first threshold step may have no value")
    numbers = [float(v) for v in values if v is not None]
    if any(math.isnan(v) for v in numbers) or numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise ValueError(f"threshold values must be strictly ascending, got {numbers}")


@attrs.frozen
class ValueText:
    """Show `text` in `color` for an exact value or a [low, high] range."""

    text: str
    color: str
    value: float | None = None
    low: float | None = None
    high: float | None = None

    def __attrs_post_init__(self) -> None:
        exact = self.value is not None
        ranged = self.low is not None or self.high is not None
        if exact == ranged:
            raise ValueError("a value mapping needs either `value` or a `low`/`high` range")


def _each(kind: type) -> Callable[[object, attrs.Attribute[Any], tuple[object, ...]], None]:
    """Return a validator refusing any item that is not a `kind`, naming what was given instead."""
    def check(_: object, attribute: attrs.Attribute[Any], items: tuple[object, ...]) -> None:
        for item in items:
            if not isinstance(item, kind):
                raise TypeError(f"{attribute.name} must hold {kind.__name__} values, got {type(item).__name__}: "
                                f"{item!r:.80}")
    return check


def _targets(items: Iterable[Target]) -> tuple[Target, ...]:
    return tuple(items)


def _steps(items: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(items)


def _value_texts(items: Iterable[ValueText]) -> tuple[ValueText, ...]:
    return tuple(items)


def _panels(items: Iterable[Panel]) -> tuple[Panel, ...]:
    return tuple(items)


def _rows(items: Iterable[Row]) -> tuple[Row, ...]:
    return tuple(items)


def _variables(items: Iterable[Variable]) -> tuple[Variable, ...]:
    return tuple(items)


def _links(items: Iterable[Link]) -> tuple[Link, ...]:
    return tuple(items)


def _silences(items: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if not items:
        return ()
    silences = tuple((str(rule), str(reason)) for rule, reason in items)
    for rule, reason in silences:
        if not re.fullmatch(r"[a-z0-9-]+", rule):
            raise ValueError(f"silence: {rule!r} is not a lint rule name")
        if len(reason.strip()) < 10:
            raise ValueError(f"silence of {rule!r} needs a written reason (at least 10 characters), got {reason!r}")
    return silences


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _metrics(items: Iterable[Metric]) -> tuple[Metric, ...]:
    return tuple(items)


def _check_key(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not KEY_RE.fullmatch(value):
        raise ValueError(f"key {value!r} must be lowercase letters, digits, '_', '.' or '-' (at most 200), "
                         "starting with a letter or digit")


@attrs.frozen
class Panel:
    """One visualisation: kind, queries, unit and presentation."""

    kind: PanelKind = attrs.field(validator=attrs.validators.in_(PANEL_KINDS))
    title: str = attrs.field(validator=attrs.validators.min_len(1))
    description: str = attrs.field()
    unit: str = attrs.field()
    targets: tuple[Target, ...] = attrs.field(converter=_targets,
                                              validator=[attrs.validators.min_len(1), _each(Target)])
    thresholds: tuple[Step, ...] = attrs.field(default=(Step("green"),), converter=_steps, validator=_check_steps)
    mappings: tuple[ValueText, ...] = attrs.field(default=(), converter=_value_texts)
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    stacked: bool = False
    bars: bool = False
    axis_label: str = ""
    min_interval: str | None = None
    no_value: str | None = None
    width: int | None = attrs.field(default=None)
    height: int | None = attrs.field(default=None)
    overview: bool = False
    silenced: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_silences)
    # Identity (panels/keys.py): an explicit key wins over `origin`, what the helper that made it shows.
    key: str | None = attrs.field(default=None, validator=_check_key)
    origin: str = ""

    @description.validator
    def _check_description(self, _: attrs.Attribute[str], value: str) -> None:
        if not value.strip():
            raise ValueError(f"panel {self.title!r}: description is empty; say what the panel shows and how to read it")

    @unit.validator
    def _check_unit(self, _: attrs.Attribute[str], value: str) -> None:
        if not value.strip():
            raise ValueError(f"panel {self.title!r}: unit is empty; use a Grafana unit id such as 'short' or 'none'")

    @width.validator
    def _check_width(self, _: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and not 1 <= value <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width must be 1..{GRID_WIDTH}, got {value}")

    @height.validator
    def _check_height(self, _: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"panel {self.title!r}: height must be at least 1, got {value}")

    def sized(self, width: int | None = None, height: int | None = None) -> Panel:
        """Return a copy with an explicit grid width (of 24) and/or height."""
        return attrs.evolve(self, width=width if width is not None else self.width,
                            height=height if height is not None else self.height)

    def titled(self, title: str, description: str | None = None) -> Panel:
        """Return a copy with another title (and optionally description)."""
        return attrs.evolve(self, title=title, description=description or self.description)

    def keyed(self, key: str) -> Panel:
        """Return a copy with an explicit key: its identity in reviews and silences, whatever its title or place."""
        return attrs.evolve(self, key=key)

    def in_overview(self) -> Panel:
        """Return a copy marked to appear in this module's section of the overview."""
        return attrs.evolve(self, overview=True)

    def silence(self, rule: str, reason: str) -> Panel:
        """Return a copy on which lint rule `rule` reports nothing; `reason` says why, for reviewers."""
        return attrs.evolve(self, silenced=(*self.silenced, (rule, reason)))

    def with_thresholds(self, *steps: Step) -> Panel:
        """Return a copy with other threshold steps (base step first)."""
        return attrs.evolve(self, thresholds=steps)


@attrs.frozen
class Row:
    """A titled group of panels laid out left to right, wrapping at 24 columns."""

    title: str = attrs.field(validator=attrs.validators.min_len(1))
    panels: tuple[Panel, ...] = attrs.field(converter=_panels, validator=_each(Panel))
    collapsed: bool = False
    key: str | None = attrs.field(default=None, validator=_check_key)


@attrs.frozen
class Variable:
    """A multi-select query template variable, with All selected by default.

    `all_value` is what All stands for (`.*`); None makes All the regex of every value the query
    returns, which is how a hidden variable hands a chosen set of label values to the panels.
    """

    name: str
    label: str
    query: str
    regex: str = ""
    all_value: str | None = ".*"
    hidden: bool = False


@attrs.frozen
class Link:
    """A dashboard-level link to another dashboard by uid."""

    title: str
    uid: str
    tooltip: str = ""


@attrs.frozen
class ModuleDashboard:
    """What a module file declares about its dashboard: rows, variables, description."""

    rows: tuple[Row, ...] = attrs.field(converter=_rows, validator=[attrs.validators.min_len(1), _each(Row)])
    variables: tuple[Variable, ...] = attrs.field(default=(), converter=_variables, validator=_each(Variable))
    description: str = ""
    tags: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # Metrics the dashboard reads that another exporter exposes (node_exporter, kube-state-metrics, ...): known
    # to the build's checks, but not part of the module's contract, so its instrumentation never creates them.
    external_metrics: tuple[Metric, ...] = attrs.field(default=(), converter=_metrics, validator=_each(Metric))

    def overview_panels(self) -> tuple[Panel, ...]:
        """Return the panels this module contributes to the overview, in declaration order."""
        return tuple(p for row in self.rows for p in row.panels if p.overview)


def _check_uid(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not UID_RE.fullmatch(value):
        raise ValueError(f"dashboard uid {value!r} must match [a-z0-9-]{{1,40}}")


@attrs.frozen
class DashboardSpec:
    """A complete dashboard ready to compile: identity, variables, rows and links."""

    uid: str = attrs.field(validator=_check_uid)
    title: str = attrs.field(validator=attrs.validators.min_len(1))
    description: str
    rows: tuple[Row, ...] = attrs.field(converter=_rows)
    variables: tuple[Variable, ...] = attrs.field(default=(), converter=_variables)
    links: tuple[Link, ...] = attrs.field(default=(), converter=_links)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    refresh: str = "30s"
    time_from: str = "now-6h"
