"""Value objects describing dashboards, independent of any Grafana library.

Helpers return these; the build pipeline compiles them to Grafana JSON with
grafana-foundation-sdk. Keeping them plain lets a module file be imported
without Grafana, lets the overview copy panels, and lets checks inspect them.
Field-level objects (mappings, overrides, links, transformations, the `raw` escape hatch) are in
panels/fields.py, each kind's own options in panels/kinds.py, variables and annotations in panels/variables.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from moddash.contract.model import Metric
from panels.fields import DataLink, Override, Pairs, Transformation, ValueText, raw_options
from panels.kinds import PANEL_KINDS, QUERYLESS_KINDS, STYLE_OF_KIND, Graph, PanelKind, Repeat, Style
from panels.settings import DATASOURCE_VARIABLE
from panels.variables import (
    VARIABLE_TYPES,
    AdhocVariable,
    Annotation,
    AnyVariable,
    DatasourceVariable,
    Variable,
)

__all__ = ["PANEL_KINDS", "DashboardSpec", "Link", "ModuleDashboard", "Panel", "PanelKind", "Row", "Step", "TagLink",
           "Target", "ValueText", "Variable"]

GRID_WIDTH = 24
# Grafana's rule for a dashboard uid (util.IsValidShortUID and its length limit).
UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
# A panel or row key (panels/keys.py): what identifies it in reviews, lint silences and the JSON's panel ids.
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,199}$")
QueryFormat = Literal["time_series", "table", "heatmap"]


def ref_id(index: int) -> str:
    """Return the ref id of a panel's query at `index`: A..Z, then Q26, Q27..."""
    return chr(ord("A") + index) if index < 26 else f"Q{index}"


@attrs.frozen
class Target:
    """One Prometheus query of a panel; `format` is how Grafana shapes its result (`heatmap` sorts and
    de-accumulates histogram buckets by `le`, `table` gives one row per series).

    Without a `legend`, Grafana names series automatically (`__auto`); `auto_legend=False` leaves the legend
    empty, which shows each series' full name and labels. `step` is the query's minimum step (Grafana's "Min
    step", e.g. `1m`), `interval_factor` its legacy resolution divisor, `hide` keeps it from being drawn, and
    `exemplar` asks for exemplars too.
    """

    expr: str = attrs.field(validator=attrs.validators.min_len(1))
    legend: str = ""
    instant: bool = False
    format: QueryFormat = attrs.field(default="time_series",
                                      validator=attrs.validators.in_(("time_series", "table", "heatmap")))
    auto_legend: bool = True
    step: str = attrs.field(default="", validator=attrs.validators.matches_re(r"^$|^\$?[a-zA-Z0-9_{}]+$"))
    interval_factor: int = attrs.field(default=1, validator=[attrs.validators.ge(1), attrs.validators.le(10)])
    hide: bool = False
    exemplar: bool = False

    def __attrs_post_init__(self) -> None:
        if self.legend and not self.auto_legend:
            raise ValueError(f"query {self.expr!r:.60}: auto_legend=False is for queries without a legend")


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


def _each(kind: type | tuple[type, ...]) -> Callable[[object, attrs.Attribute[Any], tuple[object, ...]], None]:
    """Return a validator refusing any item that is not a `kind`, naming what was given instead."""
    names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))

    def check(_: object, attribute: attrs.Attribute[Any], items: tuple[object, ...]) -> None:
        for item in items:
            if not isinstance(item, kind):
                raise TypeError(f"{attribute.name} must hold {names} values, got {type(item).__name__}: "
                                f"{item!r:.80}")
    return check


def _tuple(items: Iterable[Any]) -> tuple[Any, ...]:
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


def _check_key(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and not KEY_RE.fullmatch(value):
        raise ValueError(f"key {value!r} must be lowercase letters, digits, '_', '.' or '-' (at most 200), "
                         "starting with a letter or digit")


def _raw(items: Mapping[str, object] | Iterable[tuple[str, object]]) -> Pairs:
    return raw_options(items)


@attrs.frozen
class Panel:
    """One visualisation: kind, queries, unit and presentation.

    `style` holds the kind's own options (panels/kinds.py); `raw` sets JSON options the model does not cover,
    by dotted path, after rendering, and the result is validated like the rest (see `escape_hatches`).
    """

    kind: PanelKind = attrs.field(validator=attrs.validators.in_(PANEL_KINDS))
    # Only a text panel may go without a title (a heading or a note between panels).
    title: str = attrs.field(validator=attrs.validators.instance_of(str))
    # Required in practice: lint's panel-title-description-rule fails the build on a blank one (silenceable with
    # a reason, as an imported dashboard's undescribed panels are until someone describes them).
    description: str = attrs.field(validator=attrs.validators.instance_of(str))
    unit: str = attrs.field()
    targets: tuple[Target, ...] = attrs.field(converter=_tuple, validator=_each(Target))
    thresholds: tuple[Step, ...] = attrs.field(default=(Step("green"),), converter=_tuple, validator=_check_steps)
    mappings: tuple[ValueText, ...] = attrs.field(default=(), converter=_tuple, validator=_each(ValueText))
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
    style: Style | None = None
    overrides: tuple[Override, ...] = attrs.field(default=(), converter=_tuple, validator=_each(Override))
    data_links: tuple[DataLink, ...] = attrs.field(default=(), converter=_tuple, validator=_each(DataLink))
    links: tuple[DataLink, ...] = attrs.field(default=(), converter=_tuple, validator=_each(DataLink))
    transformations: tuple[Transformation, ...] = attrs.field(default=(), converter=_tuple,
                                                              validator=_each(Transformation))
    repeat: Repeat | None = attrs.field(default=None,
                                        validator=attrs.validators.optional(attrs.validators.instance_of(Repeat)))
    datasource: str = DATASOURCE_VARIABLE
    raw: Pairs = attrs.field(default=(), converter=_raw)

    @title.validator
    def _check_title(self, _: attrs.Attribute[str], value: str) -> None:
        if not value and self.kind not in QUERYLESS_KINDS:
            raise ValueError(f"a {self.kind} panel needs a title")

    @unit.validator
    def _check_unit(self, _: attrs.Attribute[str], value: str) -> None:
        if self.kind in QUERYLESS_KINDS:
            if value:
                raise ValueError(f"panel {self.title!r}: a {self.kind} panel shows no number and takes no unit")
        elif not value.strip():
            raise ValueError(f"panel {self.title!r}: unit is empty; use a Grafana unit id such as 'short' or 'none'")

    @targets.validator
    def _check_targets(self, _: attrs.Attribute[tuple[Target, ...]], value: tuple[Target, ...]) -> None:
        if self.kind in QUERYLESS_KINDS:
            if value:
                raise ValueError(f"panel {self.title!r}: a {self.kind} panel runs no query")
        elif not value:
            raise ValueError(f"panel {self.title!r}: a {self.kind} panel needs at least one target")

    @width.validator
    def _check_width(self, _: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and not 1 <= value <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width must be 1..{GRID_WIDTH}, got {value}")

    @height.validator
    def _check_height(self, _: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"panel {self.title!r}: height must be at least 1, got {value}")

    def __attrs_post_init__(self) -> None:
        expected = STYLE_OF_KIND.get(self.kind)
        if self.style is not None and (expected is None or not isinstance(self.style, expected)):
            wanted = f"a {expected.__name__} style" if expected else "no style"
            raise ValueError(f"panel {self.title!r}: a {self.kind} panel takes {wanted}, got "
                             f"{type(self.style).__name__}")
        if self.kind == "text" and self.style is None:
            raise ValueError(f"panel {self.title!r}: a text panel needs its content, style=Text('...')")
        if (self.stacked or self.bars) and (self.kind != "timeseries" or self.style is not None):
            raise ValueError(f"panel {self.title!r}: `stacked` and `bars` are time series shorthands; give "
                             "style=Graph(draw=..., stacking=...) instead")
        refs = {ref_id(index) for index in range(len(self.targets))}
        for override in self.overrides:
            if override.matcher == "byFrameRefID" and override.pattern not in refs:
                raise ValueError(f"panel {self.title!r}: override of query {override.pattern!r}, but the panel's "
                                 f"queries are {', '.join(sorted(refs)) or 'none'}")
        if self.repeat is not None and self.overview:
            raise ValueError(f"panel {self.title!r}: a repeated panel cannot be in the overview, which has no "
                             f"${self.repeat.variable}")
        if self.datasource != DATASOURCE_VARIABLE and self.overview:
            raise ValueError(f"panel {self.title!r}: a panel reading ${self.datasource} cannot be in the overview")

    @property
    def graph(self) -> Graph:
        """Return how a time series is drawn: its style, or the one `stacked` and `bars` stand for."""
        if isinstance(self.style, Graph):
            return self.style
        return Graph(draw="bars" if self.bars else "line", stacking="normal" if self.stacked else "none")

    @property
    def escape_hatches(self) -> int:
        """Return how many JSON options this panel sets through `raw`, the reviewed escape hatch."""
        return len(self.raw)

    def evolve(self, **changes: Any) -> Panel:
        """Return a copy with these fields changed (validated like a new panel), e.g. a helper's panel with the
        title, description and unit of the dashboard it was imported from."""
        return attrs.evolve(self, **changes)

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

    def with_overrides(self, *overrides: Override) -> Panel:
        """Return a copy with these field overrides added after its own."""
        return attrs.evolve(self, overrides=(*self.overrides, *overrides))

    def with_links(self, *links: DataLink, per_value: bool = False) -> Panel:
        """Return a copy with links added: on the panel's header, or with `per_value` on each value it shows."""
        if per_value:
            return attrs.evolve(self, data_links=(*self.data_links, *links))
        return attrs.evolve(self, links=(*self.links, *links))

    def repeated(self, variable: str, direction: Literal["h", "v"] = "h", max_per_row: int | None = None) -> Panel:
        """Return a copy Grafana repeats for each selected value of `$variable`."""
        return attrs.evolve(self, repeat=Repeat(variable, direction, max_per_row))

    def with_raw(self, options: Mapping[str, object] | Iterable[tuple[str, object]]) -> Panel:
        """Return a copy setting JSON options the model does not cover (dotted path -> value), validated like the
        rest of the panel; each is an escape hatch a reviewer should question."""
        added = raw_options(options)
        return attrs.evolve(self, raw=(*self.raw, *added))


@attrs.frozen
class Row:
    """A titled group of panels laid out left to right, wrapping at 24 columns; `repeat` repeats the whole row
    for each selected value of a dashboard variable (its title should name it, e.g. `$operation`).

    A dashboard's first row may be headerless, `Row("", panels)`: its panels sit at the top of the dashboard,
    above the first row header (or on a dashboard without any), and it has no header to collapse or repeat.
    Its hand-made panels are keyed `top.1`, `top.2`, ... unless it has a `key` (panels/keys.py).
    """

    title: str
    panels: tuple[Panel, ...] = attrs.field(converter=_tuple, validator=_each(Panel))
    collapsed: bool = False
    key: str | None = attrs.field(default=None, validator=_check_key)
    repeat: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(r"^[a-zA-Z_][a-zA-Z0-9_]*$")))

    def __attrs_post_init__(self) -> None:
        if self.headerless and (self.collapsed or self.repeat):
            what = "collapsed" if self.collapsed else f"repeated by ${self.repeat}"
            raise ValueError(f"{self.label}: a row without a title has no header, so it cannot be {what}; "
                             "give it a title")

    @property
    def headerless(self) -> bool:
        """Return whether the row has no header: its panels sit at the top of the dashboard."""
        return not self.title

    @property
    def label(self) -> str:
        """Return how errors name the row: its title, or what its first panel is for a headerless row."""
        if not self.headerless:
            return f"row {self.title!r}"
        first = f" (first panel {self.panels[0].title!r})" if self.panels else ""
        return f"the row without a title{first}"


@attrs.frozen
class Link:
    """A dashboard-level link to another dashboard by uid."""

    title: str
    uid: str
    tooltip: str = ""


@attrs.frozen
class TagLink:
    """A dashboard-level link listing every dashboard that carries all `tags` (one dropdown with `as_dropdown`)."""

    title: str
    tags: tuple[str, ...] = attrs.field(converter=_tuple, validator=attrs.validators.min_len(1))
    tooltip: str = ""
    as_dropdown: bool = True


def check_references(rows: Sequence[Row], variables: Sequence[AnyVariable], annotations: Sequence[Annotation]) -> None:
    """Raise ValueError when a variable name repeats, or a repeat or datasource names a variable that is missing."""
    names = [DATASOURCE_VARIABLE, *(v.name for v in variables)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"variable {repeated[0]!r} is defined twice (`{DATASOURCE_VARIABLE}` is always defined)")
    sources = {DATASOURCE_VARIABLE, *(v.name for v in variables if isinstance(v, DatasourceVariable))}

    def need(name: str, what: str, kinds: str, among: Iterable[str]) -> None:
        if name not in among:
            raise ValueError(f"{what} uses ${name}, which is not one of this dashboard's {kinds} "
                             f"({', '.join(sorted(among)) or 'none'})")

    for row in rows:
        if row.repeat:
            need(row.repeat, f"row {row.title!r} repeat", "variables", names)
        for panel in row.panels:
            if panel.repeat:
                need(panel.repeat.variable, f"panel {panel.title!r} repeat", "variables", names)
            need(panel.datasource, f"panel {panel.title!r}", "datasource variables", sources)
    for annotation in annotations:
        need(annotation.datasource, f"annotation {annotation.name!r}", "datasource variables", sources)
    for variable in variables:
        if isinstance(variable, Variable | AdhocVariable):
            need(variable.datasource, f"variable {variable.name!r}", "datasource variables", sources)


def check_rows(rows: Sequence[Row]) -> None:
    """Raise ValueError when a row other than the first has no title (only the top of a dashboard has no header)."""
    for number, row in enumerate(rows, start=1):
        if row.headerless and number > 1:
            after = rows[number - 2]
            raise ValueError(f"{row.label} is row {number}, after {after.label}: only the first row may be "
                             "without a title (its panels sit above every row header); give it a title")


@attrs.frozen
class ModuleDashboard:
    """What a module file declares about its dashboard: rows, variables, annotations, description."""

    rows: tuple[Row, ...] = attrs.field(converter=_tuple, validator=[attrs.validators.min_len(1), _each(Row)])
    variables: tuple[AnyVariable, ...] = attrs.field(default=(), converter=_tuple, validator=_each(VARIABLE_TYPES))
    description: str = ""
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    annotations: tuple[Annotation, ...] = attrs.field(default=(), converter=_tuple, validator=_each(Annotation))
    # Metrics the dashboard reads that another exporter exposes (node_exporter, kube-state-metrics, ...): known
    # to the build's checks, but not part of the module's contract, so its instrumentation never creates them.
    external_metrics: tuple[Metric, ...] = attrs.field(default=(), converter=_tuple, validator=_each(Metric))
    # The dashboard's uid when it is not the module's slug: an imported dashboard keeps its own, so that links
    # and bookmarks to it keep working.
    uid: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(UID_RE)))
    # Lint rules silenced for findings about the dashboard as a whole (a variable, an annotation), with reasons.
    silenced: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_silences)

    def __attrs_post_init__(self) -> None:
        check_rows(self.rows)
        check_references(self.rows, self.variables, self.annotations)

    def overview_panels(self) -> tuple[Panel, ...]:
        """Return the panels this module contributes to the overview, in declaration order."""
        return tuple(p for row in self.rows for p in row.panels if p.overview)


def _check_uid(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not UID_RE.fullmatch(value):
        raise ValueError(f"dashboard uid {value!r} must be 1 to 40 letters, digits, '-' or '_'")


@attrs.frozen
class DashboardSpec:
    """A complete dashboard ready to compile: identity, variables, annotations, rows and links."""

    uid: str = attrs.field(validator=_check_uid)
    title: str = attrs.field(validator=attrs.validators.min_len(1))
    description: str
    rows: tuple[Row, ...] = attrs.field(converter=_tuple)
    variables: tuple[AnyVariable, ...] = attrs.field(default=(), converter=_tuple, validator=_each(VARIABLE_TYPES))
    links: tuple[Link | TagLink, ...] = attrs.field(default=(), converter=_tuple)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    refresh: str = "30s"
    time_from: str = "now-6h"
    annotations: tuple[Annotation, ...] = attrs.field(default=(), converter=_tuple, validator=_each(Annotation))
    # Lint rules silenced for findings about the dashboard as a whole (its variables, annotations, links): (rule,
    # reason) as `Panel.silence` takes them.
    silenced: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_silences)

    def __attrs_post_init__(self) -> None:
        check_rows(self.rows)
        check_references(self.rows, self.variables, self.annotations)

    @property
    def escape_hatches(self) -> int:
        """Return how many raw JSON options (escape hatches) the dashboard's panels set."""
        return sum(panel.escape_hatches for row in self.rows for panel in row.panels)
