"""Panel kinds and each kind's own options (`Panel.style`), as value objects (no Grafana imports).

A kind without a style class (piechart) takes no style; a kind with one gets its defaults when the
panel gives none, except text, whose content is its style.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import attrs

PanelKind = Literal["timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "histogram", "piechart", "text",
                    "state-timeline", "status-history"]
PANEL_KINDS: tuple[PanelKind, ...] = ("timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "histogram",
                                      "piechart", "text", "state-timeline", "status-history")
# Kinds that run no query and show no number: no targets, description optional, no unit.
QUERYLESS_KINDS = frozenset({"text"})

DrawStyle = Literal["line", "bars", "points"]
Stacking = Literal["none", "normal", "percent"]
AxisPlacement = Literal["auto", "left", "right", "hidden"]
Visibility = Literal["auto", "never", "always"]
_percent = [attrs.validators.ge(0), attrs.validators.le(100)]
_share = [attrs.validators.gt(0.0), attrs.validators.le(1.0)]


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"expected a list of reducer ids, got the string {values!r}")
    return tuple(values)


@attrs.frozen
class Legend:
    """A time series legend: shown as a list or a table, below or right of the graph, with per-series values
    (`calcs`: Grafana reducer ids such as `mean`, `max`, `lastNotNull`), sorted by one of them (`sort_by`, e.g.
    `Mean`) when given."""

    show: bool = True
    display: Literal["list", "table"] = attrs.field(default="list", validator=attrs.validators.in_(("list", "table")))
    placement: Literal["bottom", "right"] = attrs.field(default="bottom",
                                                        validator=attrs.validators.in_(("bottom", "right")))
    calcs: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    sort_by: str | None = None
    sort_desc: bool = False


@attrs.frozen
class Graph:
    """Time series drawing: style, fill, stacking, axis side; `fill_opacity` None is 80 for bars, else 10."""

    draw: DrawStyle = attrs.field(default="line", validator=attrs.validators.in_(("line", "bars", "points")))
    fill_opacity: int | None = attrs.field(default=None, validator=attrs.validators.optional(_percent))
    stacking: Stacking = attrs.field(default="none", validator=attrs.validators.in_(("none", "normal", "percent")))
    axis_placement: AxisPlacement | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(("auto", "left", "right", "hidden"))))
    line_width: int = attrs.field(default=1, validator=[attrs.validators.ge(0), attrs.validators.le(10)])
    show_points: Visibility = attrs.field(default="never", validator=attrs.validators.in_(("auto", "never", "always")))
    legend: Legend = attrs.field(factory=Legend, validator=attrs.validators.instance_of(Legend))
    # The hover tooltip: every series sorted by value (`multi`), the one under the cursor (`single`), or none.
    tooltip: Literal["multi", "single", "none"] = attrs.field(
        default="multi", validator=attrs.validators.in_(("multi", "single", "none")))
    # How a `multi` tooltip orders the series; None: highest first for `multi`, as listed otherwise.
    tooltip_sort: Literal["desc", "asc", "none"] | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(("desc", "asc", "none"))))

    @property
    def opacity(self) -> int:
        """Return the fill opacity drawn: the given one, else 80 for bars and 10 for lines and points."""
        if self.fill_opacity is not None:
            return self.fill_opacity
        return 80 if self.draw == "bars" else 10


def _optional_choice(*choices: str) -> Callable[[Any, attrs.Attribute[Any], Any], Any]:
    return attrs.validators.optional(attrs.validators.in_(choices))


@attrs.frozen
class Stat:
    """A big value per series. Each option left None is chosen from the panel: the colour fills the background
    when the panel has value mappings, a sparkline unless every query is instant, names beside values when there
    are several queries."""

    color_mode: Literal["value", "background", "background_solid", "none"] | None = attrs.field(
        default=None, validator=_optional_choice("value", "background", "background_solid", "none"))
    graph_mode: Literal["area", "line", "none"] | None = attrs.field(
        default=None, validator=_optional_choice("area", "line", "none"))
    text_mode: Literal["auto", "value", "value_and_name", "name", "none"] | None = attrs.field(
        default=None, validator=_optional_choice("auto", "value", "value_and_name", "name", "none"))
    orientation: Literal["auto", "horizontal", "vertical"] = attrs.field(
        default="auto", validator=attrs.validators.in_(("auto", "horizontal", "vertical")))
    # Grafana reducer ids: how each series becomes one value (`lastNotNull`, `mean`, `max`, `sum`, ...).
    calcs: tuple[str, ...] = attrs.field(default=("lastNotNull",), converter=_str_tuple)


@attrs.frozen
class Gauge:
    """A radial gauge per value, coloured by the thresholds."""

    show_threshold_markers: bool = True
    show_threshold_labels: bool = False


@attrs.frozen
class BarGauge:
    """One bar per value (per series), e.g. a ratio per operation."""

    display_mode: Literal["basic", "gradient", "lcd"] = attrs.field(
        default="gradient", validator=attrs.validators.in_(("basic", "gradient", "lcd")))
    orientation: Literal["horizontal", "vertical", "auto"] = attrs.field(
        default="horizontal", validator=attrs.validators.in_(("horizontal", "vertical", "auto")))
    show_unfilled: bool = True


@attrs.frozen
class Table:
    """A table, optionally sorted by one column (its display name)."""

    sort_by: str | None = None
    descending: bool = True
    cell_height: Literal["sm", "md", "lg"] = attrs.field(default="sm",
                                                         validator=attrs.validators.in_(("sm", "md", "lg")))


@attrs.frozen
class Heatmap:
    """Pre-bucketed histogram rates over time (the queries' format is `heatmap`); `y_unit` labels the buckets."""

    y_unit: str = "short"
    scheme: str = "Oranges"
    exponential: bool = True


@attrs.frozen
class Histogram:
    """A histogram Grafana computes from every value of the queries' series over the range."""

    bucket_size: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    bucket_count: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    fill_opacity: int = attrs.field(default=80, validator=_percent)


@attrs.frozen
class Text:
    """A text panel's content: Markdown by default."""

    content: str = attrs.field(validator=attrs.validators.min_len(1))
    mode: Literal["markdown", "html", "code"] = attrs.field(default="markdown",
                                                           validator=attrs.validators.in_(("markdown", "html", "code")))


@attrs.frozen
class StateTimeline:
    """One band per series, coloured by value (thresholds or value mappings); equal neighbours merged."""

    merge_values: bool = True
    show_value: Visibility = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "never", "always")))
    row_height: float = attrs.field(default=0.9, validator=_share)
    fill_opacity: int = attrs.field(default=70, validator=_percent)


@attrs.frozen
class StatusHistory:
    """A grid of cells, one per series and time step, coloured by value."""

    show_value: Visibility = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "never", "always")))
    row_height: float = attrs.field(default=0.9, validator=_share)
    column_width: float = attrs.field(default=0.9, validator=_share)
    fill_opacity: int = attrs.field(default=70, validator=_percent)


Style = Graph | Stat | Gauge | BarGauge | Table | Heatmap | Histogram | Text | StateTimeline | StatusHistory
STYLE_OF_KIND: dict[str, type] = {
    "stat": Stat,
    "timeseries": Graph, "gauge": Gauge, "bargauge": BarGauge, "table": Table, "heatmap": Heatmap,
    "histogram": Histogram, "text": Text, "state-timeline": StateTimeline, "status-history": StatusHistory,
}


@attrs.frozen
class Repeat:
    """Repeat a panel for each selected value of a dashboard variable, side by side (`h`) or stacked (`v`)."""

    variable: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-zA-Z_][a-zA-Z0-9_]*$"))
    direction: Literal["h", "v"] = attrs.field(default="h", validator=attrs.validators.in_(("h", "v")))
    max_per_row: int | None = attrs.field(default=None, validator=attrs.validators.optional(
        [attrs.validators.ge(1), attrs.validators.le(24)]))

    def __attrs_post_init__(self) -> None:
        if self.max_per_row is not None and self.direction != "h":
            raise ValueError(f"repeat by ${self.variable}: max_per_row applies to horizontal repeats only")
