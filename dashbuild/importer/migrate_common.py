"""Pieces every migration step shares: notes, data source references, numbers, panel keys."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

Json = dict[str, Any]

MIXED = "-- Mixed --"
GRAFANA = "-- Grafana --"
DASHBOARD = "-- Dashboard --"
# Panel keys every panel type keeps when Grafana changes the panel's plugin (PanelModel's "must keep"
# properties, without its runtime-only ones), plus the repeat settings a module file can express.
PANEL_KEEP = frozenset({
    "id", "gridPos", "type", "title", "description", "datasource", "targets", "links", "repeat",
    "repeatDirection", "maxPerRow", "scopedVars", "timeFrom", "timeShift", "hideTimeOverride", "cacheTimeout",
    "queryCachingTTL", "transparent", "transformations", "fieldConfig", "maxDataPoints", "interval",
    "libraryPanel", "collapsed", "panels",
})
# Keys of the AngularJS graph panel. The singlestat and the old table of many generated dashboards
# (kubernetes-mixin, grafonnet) carry them too although those panels never read them.
GRAPH_ONLY_KEYS = frozenset({
    "aliasColors", "bars", "dashLength", "dashes", "fill", "fillGradient", "legend", "lines", "linewidth",
    "percentage", "pointradius", "points", "renderer", "seriesOverrides", "spaceLength", "stack", "steppedLine",
    "tooltip", "xaxis", "yaxes", "yaxis", "timeRegions", "hiddenSeries", "grid",
})
# Editor and runtime state some old Grafana versions saved into panels; no panel reads it.
UI_STATE_KEYS = frozenset({"error", "isNew", "editable", "span", "height", "$$hashKey", "pluginVersion"})
_VARIABLE_REF = re.compile(r"^\$\{?(\w+)(?::\w+)?\}?$|^\[\[(\w+)\]\]$")


@attrs.frozen
class Note:
    """Something the migration left as it was (or had to guess), with the panel it is about."""

    panel: str | None  # the panel's title (`id N` when it has none); None for the dashboard itself
    text: str

    def __str__(self) -> str:
        return f"{'dashboard' if self.panel is None else f'panel {self.panel!r}'}: {self.text}"


class Notes:
    """The notes of one migration, in the order they were found."""

    def __init__(self) -> None:
        self.items: list[Note] = []

    def add(self, panel: Mapping[str, Any] | None, text: str) -> None:
        """Record a note about `panel` (None: the dashboard)."""
        self.items.append(Note(None if panel is None else panel_label(panel), text))

    def kept(self, panel: Mapping[str, Any], key: str, value: Any, why: str) -> None:
        """Record that `key` stays on the panel as it was, and why it could not be converted."""
        self.add(panel, f"{key} = {short(value)} left as is: {why}")


def obj(value: Any) -> Json:
    """Return `value` when it is a JSON object, else a new empty one."""
    return value if isinstance(value, dict) else {}


def arr(value: Any) -> list[Any]:
    """Return `value` when it is a JSON array, else a new empty one."""
    return value if isinstance(value, list) else []


def panel_label(panel: Mapping[str, Any]) -> str:
    """Return how notes and differences name a panel: its title, else its id."""
    title = panel.get("title")
    return str(title) if isinstance(title, str) and title.strip() else f"id {panel.get('id')}"


def short(value: Any, limit: int = 80) -> str:
    """Return a one-line rendering of a value, cut at `limit` characters."""
    text = repr(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: Any) -> float | int | None:
    """Return a JSON number or a numeric string as a number (ints stay ints), None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return None
        if not math.isfinite(parsed):
            return None
        return int(parsed) if parsed.is_integer() and "." not in value and "e" not in value.lower() else parsed
    return None


def variable_name(reference: str) -> str | None:
    """Return the variable a whole string refers to (`$ds`, `${ds}`, `${ds:raw}`, `[[ds]]`), else None."""
    match = _VARIABLE_REF.match(reference.strip())
    return (match.group(1) or match.group(2)) if match else None


def datasource_ref(value: Any, plugin_of: Mapping[str, str], notes: Notes, panel: Mapping[str, Any] | None,
                   keep_default_null: bool = True) -> Any:
    """Return a data source given by name as a reference object, as Grafana's v33/v36 migrations do.

    Objects stay as they are. `null` and `"default"` stay null (Grafana's default data source; which one
    that is depends on the Grafana instance). A variable (`$datasource`) keeps its syntax as the uid and
    takes the plugin type of the data source variable it names (`plugin_of`), Prometheus when unknown.
    """
    if value is None or not isinstance(value, str):
        return value
    if value == "default":
        return None if keep_default_null else {"uid": "default"}
    special = {MIXED: {"type": "datasource", "uid": MIXED}, DASHBOARD: {"type": "datasource", "uid": DASHBOARD},
               GRAFANA: {"type": "grafana", "uid": GRAFANA}}
    if value in special:
        return special[value]
    name = variable_name(value)
    if name is not None:
        return {"type": plugin_of.get(name, "prometheus"), "uid": value}
    notes.add(panel, f"data source named {value!r} kept as the uid {value!r}: Grafana maps names to uids "
                     "through its own data source list, which an offline import cannot read")
    return {"uid": value}


def walk_panels(panels: Any) -> Iterator[Json]:
    """Yield every panel dict of a `panels` list, the children of (collapsed) rows after their row."""
    for panel in panels if isinstance(panels, list) else []:
        if isinstance(panel, dict):
            yield panel
            yield from walk_panels(panel.get("panels"))


def ref_id(index: int) -> str:
    """Return Grafana's query letter for a 0-based index: A … Z, then AA, AB, …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
