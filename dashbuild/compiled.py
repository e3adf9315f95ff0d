"""The typed view of compiled dashboards: dashboards, panels and targets, each linked to where it came from.

Rows are flattened once here (collapsed rows' children included); lint, checks, verify and diff walk these
objects instead of the JSON. A panel's identity is its key (panels/keys.py), found through the panel id the
renderer derived from it; a dashboard read back from a file, without its spec, keys panels by id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from dashbuild.queries import GRAFANA_VARIABLES
from moddash.contract import ModuleContract
from panels.keys import keyed_panels, panel_ids, row_keys
from panels.spec import DashboardSpec, Panel, Target


@attrs.frozen(eq=False)
class CompiledTarget:
    """One query of a panel, as Grafana will run it."""

    ref_id: str
    expr: str
    legend: str
    json: Mapping[str, Any]
    spec: Target | None = None  # the spec's query it was rendered from, when the panel's spec is known


@attrs.frozen(eq=False)
class CompiledPanel:
    """One panel (never a row), with its key, its row and, when known, its spec and source file."""

    key: str
    id: int | None
    title: str
    kind: str
    row: str  # the title of the row it sits in ("" above the first row)
    index: int  # its place within that row, from 0
    json: Mapping[str, Any]
    targets: tuple[CompiledTarget, ...]
    spec: Panel | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        """Return how findings name the panel: its title, or its key when it has none."""
        return self.title or self.key


def _targets(panel: Mapping[str, Any], spec: Panel | None) -> tuple[CompiledTarget, ...]:
    targets = [t for t in panel.get("targets") or [] if isinstance(t, Mapping)]
    linked = spec is not None and len(spec.targets) == len(targets)
    specs: list[Target | None] = list(spec.targets) if spec is not None and linked else [None] * len(targets)
    return tuple(CompiledTarget(str(t.get("refId", "?")), str(t.get("expr", "")), str(t.get("legendFormat", "")), t,
                                target_spec) for t, target_spec in zip(targets, specs, strict=True))


def flatten(dashboard: Mapping[str, Any], known: Mapping[int, tuple[str, Panel | None, str | None]] | None = None
            ) -> tuple[CompiledPanel, ...]:
    """Return every panel of a dashboard's JSON in order, collapsed rows' children included.

    `known` maps panel ids to (key, spec, source file); a panel it does not know is keyed `#<id>` (or by its
    position when it has no id).
    """
    known = known or {}
    found: list[CompiledPanel] = []
    row, index = "", 0

    def view(panel: Mapping[str, Any], row: str, index: int) -> CompiledPanel:
        panel_id = panel.get("id") if isinstance(panel.get("id"), int) else None
        key, spec, source = known.get(panel_id, (None, None, None)) if panel_id is not None else (None, None, None)
        fallback = f"#{panel_id}" if panel_id is not None else f"@{row}/{index}"
        return CompiledPanel(key or fallback, panel_id, str(panel.get("title", "")), str(panel.get("type", "")),
                             row, index, panel, _targets(panel, spec), spec, source)

    for panel in dashboard.get("panels") or []:
        if not isinstance(panel, Mapping):
            continue
        if panel.get("type") == "row":
            row, index = str(panel.get("title", "")), 0
            children = panel.get("panels") or []
            found.extend(view(child, row, i) for i, child in enumerate(children) if isinstance(child, Mapping))
            continue
        found.append(view(panel, row, index))
        index += 1
    return tuple(found)


def spec_panels(spec: DashboardSpec, sources: Mapping[str, str], default_source: str
                ) -> dict[int, tuple[str, Panel | None, str | None]]:
    """Return panel id -> (key, spec panel, source file) for a spec, with ids as the renderer assigns them."""
    keyed = list(keyed_panels(spec.rows))
    ids = panel_ids([*(key for key in row_keys(spec.rows) if key), *(key for _panel, key in keyed)])
    return {ids[key]: (key, panel, sources.get(key, default_source)) for panel, key in keyed}


def variable_value(variable: Mapping[str, Any]) -> str | None:
    """Return what a template variable stands for when a query using it is parsed (None: not in queries).

    A query variable's values are unknown, so it matches anything (`.*`); custom, interval and constant
    variables are their first value and a text box its default (`.*` when empty), since those may be written
    where PromQL wants a literal (a range, a number). Ad hoc filters and datasource variables stand for nothing
    in a query (Grafana adds ad hoc filters to each query's selectors itself).
    """
    kind, query = variable.get("type"), variable.get("query")
    if kind == "query":
        return ".*"
    if kind in ("custom", "interval") and isinstance(query, str):
        return query.split(",")[0].strip()
    if kind == "constant" and isinstance(query, str):
        return query
    if kind == "textbox":
        return query if isinstance(query, str) and query else ".*"
    return None


@attrs.frozen
class DashboardIdentity:
    """What names a generated dashboard: its uid and title (Grafana's keys), its file and the source that made it."""

    uid: str
    title: str
    filename: str
    source: str


@attrs.frozen(eq=False)
class CompiledDashboard:
    """A dashboard's spec and JSON, its panels as typed objects, and the provenance every finding names."""

    spec: DashboardSpec
    json: dict[str, Any]
    source: str
    panel_sources: dict[str, str] = attrs.field(factory=dict)  # panel key -> module file, when not `source`
    known_series: frozenset[str] = frozenset()
    # Series of other exporters the dashboard reads (`ModuleDashboard.external_metrics`): known, not ours to name.
    external_series: frozenset[str] = frozenset()
    # The modules whose metrics it reads: their names are their owners' words, not units (`a0_ms` is no `_ms`).
    module_names: frozenset[str] = frozenset()
    # The module's contract for a module dashboard; None for the overview.
    contract: ModuleContract | None = None
    panels: tuple[CompiledPanel, ...] = attrs.field(
        default=attrs.Factory(lambda self: flatten(self.json, spec_panels(self.spec, self.panel_sources,
                                                                           self.source)), takes_self=True))
    # What each variable (Grafana's own and the dashboard's, see `variable_value`) stands for when a query is
    # parsed.
    variable_values: dict[str, str] = attrs.field(
        default=attrs.Factory(lambda self: {**GRAFANA_VARIABLES, **{
            str(v["name"]): value for v in self.variables() if (value := variable_value(v)) is not None}},
            takes_self=True))

    @property
    def filename(self) -> str:
        """Return the provisioning file name, `<uid>.json`."""
        return f"{self.spec.uid}.json"

    @property
    def identity(self) -> DashboardIdentity:
        """Return the dashboard's uid, title, file and source."""
        return DashboardIdentity(str(self.json.get("uid", "")), str(self.json.get("title", "")), self.filename,
                                 self.source)

    def source_of(self, panel_key: str | None) -> str:
        """Return the source file that declared the panel with this key (the dashboard's file by default)."""
        return self.panel_sources.get(panel_key or "", self.source)

    def source_of_id(self, panel_id: int | None) -> str:
        """Return the source file of the panel with this JSON id (the dashboard's file by default, e.g. a row)."""
        found = next((p for p in self.panels if p.id == panel_id), None) if panel_id is not None else None
        return found.source or self.source if found else self.source

    @property
    def escape_hatches(self) -> int:
        """Return how many raw JSON options (`Panel.raw`, the reviewed escape hatch) its panels set."""
        return sum(panel.spec.escape_hatches for panel in self.panels if panel.spec is not None)

    def panel(self, key: str) -> CompiledPanel | None:
        """Return the panel with this key, if any."""
        return next((p for p in self.panels if p.key == key), None)

    @property
    def silences(self) -> dict[str, dict[str, str]]:
        """Return, per panel key, the lint rules the module file silenced there and why."""
        return {key: dict(panel.silenced) for panel, key in keyed_panels(self.spec.rows) if panel.silenced}

    def variables(self) -> list[dict[str, Any]]:
        """Return the dashboard's template variables."""
        variables: list[dict[str, Any]] = self.json.get("templating", {}).get("list", [])
        return variables

    def targets(self) -> Iterator[tuple[CompiledPanel, CompiledTarget]]:
        """Yield every target with its panel."""
        for panel in self.panels:
            for target in panel.targets:
                yield panel, target
