"""A migrated dashboard as a module's values: contract, external metrics, rows of panels, variables, annotations.

`import_dashboard` chains the importer's stages: `migrate`, `infer` (the contract), `convert_panel` (each
panel, escape hatches for what the model does not say), `recognise` (a helper where one writes the same
queries). Notes say what was guessed and what could not be carried over; nothing is dropped without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from dashbuild.importer.compare_values import mapping
from dashbuild.importer.convert_panel import ConvertedPanel, PanelContext, SchemaCheck, convert_panel
from dashbuild.importer.convert_variables import annotations_of, primary_datasource, variables_of
from dashbuild.importer.infer import Inference, InferredMetric, Query, infer
from dashbuild.importer.migrate import migrate_with_notes
from dashbuild.importer.migrate_common import arr, short
from dashbuild.importer.recognise import OriginalTarget, Recognised, recognise
from moddash.contract import ModuleContract, ScrapeTarget
from moddash.contract.model import MODULE_NAME_RE, Metric
from panels.kinds import PANEL_KINDS
from panels.settings import DATASOURCE_VARIABLE, SELF_JOB
from panels.spec import UID_RE, Panel, Row
from panels.variables import Annotation, AnyVariable

Json = dict[str, Any]


@attrs.frozen
class ImportedPanel:
    """A converted panel and, when one writes its queries, the helper call."""

    converted: ConvertedPanel
    recognised: Recognised | None = None

    @property
    def panel(self) -> Panel:
        """Return the panel value the module file builds."""
        return self.converted.panel


@attrs.frozen
class ImportedRow:
    """A row of imported panels (title "" for the panels above the first row header)."""

    title: str
    panels: tuple[ImportedPanel, ...]
    collapsed: bool = False
    repeat: str | None = None

    def row(self) -> Row:
        """Return the row value."""
        return Row(self.title, tuple(p.panel for p in self.panels), collapsed=self.collapsed, repeat=self.repeat)


@attrs.frozen
class ImportedMetric:
    """A metric the dashboard reads, declared in the contract or as another exporter's."""

    metric: Metric
    notes: tuple[str, ...] = ()


@attrs.frozen
class Imported:
    """Everything the module file declares, with the notes its comments carry."""

    name: str
    title: str
    port: int
    source: str  # the file imported, for the module's docstring
    uid: str  # the original's ("" when it has none), kept so that links and bookmarks keep working
    contract_metrics: tuple[ImportedMetric, ...]
    external_metrics: tuple[ImportedMetric, ...]
    rows: tuple[ImportedRow, ...]
    variables: tuple[AnyVariable, ...]
    annotations: tuple[Annotation, ...]
    description: str
    tags: tuple[str, ...]
    notes: tuple[str, ...]  # about the dashboard as a whole
    datasource_variable: str | None = None  # the original's Prometheus data source variable, now `datasource`
    datasource_inputs: tuple[str, ...] = ()  # its `__inputs` for a Prometheus data source, now `datasource` too
    silenced: tuple[tuple[str, str], ...] = ()  # lint rules silenced for the dashboard as a whole, with reasons

    def contract(self) -> ModuleContract:
        """Return the module's contract."""
        return ModuleContract(self.name, self.title, ScrapeTarget(port=self.port),
                              tuple(m.metric for m in self.contract_metrics))

    @property
    def panels(self) -> tuple[ImportedPanel, ...]:
        """Return every imported panel in order."""
        return tuple(p for row in self.rows for p in row.panels)


def module_name(wanted: str | None, inference: Inference, title: str) -> str:
    """Return the module name: as given, else the metrics' common prefix, else the title in snake_case."""
    if wanted:
        return wanted
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    first_word = slug.split("_")[0]
    # The title's first word when metrics carry it (`Thanos / Query` reads thanos_* beside go_*), else the most
    # common prefix of the metric names, else the title.
    named = first_word if any(m.name.startswith(f"{first_word}_") for m in inference.metrics) else ""
    for candidate in (named, inference.prefix() or "", slug):
        candidate = re.sub(r"^[^a-z]+", "", candidate)[:40].rstrip("_")
        if candidate == SELF_JOB:  # Prometheus' own scrape job
            candidate = f"{candidate}_server"
        if MODULE_NAME_RE.fullmatch(candidate) and "__" not in candidate:
            return candidate
    return "imported"


def _queries(panels: Iterable[Mapping[str, Any]], annotations: Iterable[Annotation]) -> list[Query]:
    found = [Query(str(t.get("expr") or ""), str(t.get("legendFormat") or ""))
             for p in panels for t in arr(p.get("targets")) if isinstance(t, Mapping) and t.get("expr")]
    return [*found, *(Query(a.expr) for a in annotations)]


def _metric(inferred: InferredMetric, dashboard_title: str) -> ImportedMetric:
    help_text = f"Read by the imported dashboard {dashboard_title!r}; describe what it counts."
    return ImportedMetric(Metric(inferred.name, inferred.kind, help_text, inferred.labels), inferred.notes)


def _split_rows(panels: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]]:
    """Return (row panel or None for the panels above the first row, its panels in reading order)."""
    rows: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]] = [(None, [])]
    for panel in panels:
        if panel.get("type") == "row":
            rows.append((panel, [c for c in arr(panel.get("panels")) if isinstance(c, Mapping)]))
        else:
            rows[-1][1].append(panel)
    if not rows[0][1]:
        rows.pop(0)

    def place(panel: Mapping[str, Any]) -> tuple[int, int]:
        grid = mapping(panel.get("gridPos"))
        y, x = grid.get("y"), grid.get("x")
        return (y if isinstance(y, int) else 0, x if isinstance(x, int) else 0)

    return [(row, sorted(children, key=place)) for row, children in rows]


def import_dashboard(original: Mapping[str, Any], *, name: str | None = None, port: int = 9100,
                     source: str = "dashboard.json", schema_errors: SchemaCheck | None = None) -> Imported:
    """Return the module an existing dashboard becomes (raise ValueError when it holds no importable panel)."""
    migration = migrate_with_notes(original)
    dashboard = migration.dashboard
    notes = [f"migration: {note}" for note in map(str, migration.notes)]
    title = str(dashboard.get("title") or "").strip() or "Imported dashboard"
    templating = [v for v in arr(mapping(dashboard.get("templating")).get("list")) if isinstance(v, Mapping)]
    primary = primary_datasource(templating)
    variables, datasources, variable_notes = variables_of(templating, primary)
    notes.extend(variable_notes)
    # A dashboard exported "for sharing externally" names its data source by an input (`${DS_PROMETHEUS}`) that
    # Grafana asks for on import: here it is the module's `$datasource`.
    inputs = tuple(str(i.get("name")) for i in arr(original.get("__inputs")) if isinstance(i, Mapping)
                   and i.get("type") == "datasource" and i.get("pluginId") == "prometheus" and i.get("name"))
    datasources = {**dict.fromkeys(inputs, DATASOURCE_VARIABLE), **datasources}
    annotations, annotation_notes = annotations_of(
        [a for a in arr(mapping(dashboard.get("annotations")).get("list")) if isinstance(a, Mapping)], datasources)
    notes.extend(annotation_notes)
    layout = _split_rows([p for p in arr(dashboard.get("panels")) if isinstance(p, Mapping)])
    every_panel = [p for _row, children in layout for p in children]
    variable_queries = [str(mapping(v.get("query")).get("query", "")) if isinstance(v.get("query"), Mapping)
                        else str(v.get("query") or "") for v in templating if v.get("type") == "query"]
    inference = infer(_queries(every_panel, annotations), variable_queries)
    module = module_name(name, inference, title)
    own: list[ImportedMetric] = []
    external: list[ImportedMetric] = []
    for inferred in inference.metrics:
        try:
            imported = _metric(inferred, title)
        except ValueError as error:
            notes.append(f"metric {inferred.name} is not declared: {error}")
            continue
        (own if inferred.name.startswith(f"{module}_") else external).append(imported)
    for recorded in inference.recorded:
        external.append(ImportedMetric(Metric(recorded, "gauge", f"Recorded by a rule outside this project, read by "
                                              f"the imported dashboard {title!r}."),
                                       ("a recording rule's series: this project does not define the rule",)))
    for query in inference.unparsed:
        notes.append(f"a query does not parse as PromQL, so its metrics are not declared: {short(query, 80)}")
    known = {m.metric.name: m.metric for m in (*own, *external)}
    rows: list[ImportedRow] = []
    number = 0
    for row, children in layout:
        panels: list[ImportedPanel] = []
        for child in children:
            number += 1
            kind = str(child.get("type"))
            if kind not in PANEL_KINDS:
                notes.append(f"panel {child.get('title')!r} ({kind}) is not imported: the model has no {kind} panels")
                continue
            try:
                converted = convert_panel(child, PanelContext(datasources, number), schema_errors)
            except ValueError as error:  # one panel the model refuses (no query left, ...) does not stop the rest
                notes.append(f"panel {child.get('title')!r} ({kind}) is not imported: {error}")
                continue
            panels.append(_recognised(converted, known))
        if not panels and row is None:
            continue
        row_title = str(mapping(row).get("title") or "").strip() if row is not None else ""
        if row is not None and not row_title:
            row_title = f"Row {len(rows) + 1}"
            notes.append(f"an untitled row is named {row_title!r}")
        repeat = mapping(row).get("repeat") if row is not None else None
        rows.append(ImportedRow(row_title, tuple(panels), bool(mapping(row).get("collapsed")),
                                repeat if isinstance(repeat, str) and repeat else None))
    if not any(r.panels for r in rows):
        raise ValueError("the dashboard has no panel the model can express")
    rows = _known_repeats(rows, {v.name for v in variables}, notes)
    tags = tuple(str(t) for t in arr(dashboard.get("tags")) if isinstance(t, str) and t)
    for link in arr(dashboard.get("links")):
        notes.append(f"dashboard link not imported (module dashboards link to the overview): {short(link, 100)}")
    uid = str(dashboard.get("uid") or "")
    if uid and not UID_RE.fullmatch(uid):
        notes.append(f"uid {uid!r} is not a valid Grafana uid: the dashboard gets the module's")
        uid = ""
    return Imported(module, title, port, source, uid, tuple(own), tuple(external),
                    tuple(rows), variables, annotations, str(dashboard.get("description") or ""), tags, tuple(notes),
                    primary, inputs)


def _known_repeats(rows: Sequence[ImportedRow], names: set[str], notes: list[str]) -> list[ImportedRow]:
    """Return the rows without repeats by a variable that was not imported (Grafana would not repeat them)."""
    kept = []
    for row in rows:
        if row.repeat and row.repeat not in names:
            notes.append(f"row {row.title!r}: repeat by ${row.repeat} is not imported: that variable is not")
            row = attrs.evolve(row, repeat=None)
        panels = []
        for item in row.panels:
            repeat = item.panel.repeat
            if repeat is not None and repeat.variable not in names:
                panel = attrs.evolve(item.panel, repeat=None)
                note = f"repeat by ${repeat.variable} is not imported: that variable is not"
                item = ImportedPanel(ConvertedPanel(panel, (*item.converted.notes, note)), item.recognised)
            panels.append(item)
        kept.append(attrs.evolve(row, panels=tuple(panels)))
    return kept


def _recognised(converted: ConvertedPanel, known: Mapping[str, Metric]) -> ImportedPanel:
    panel = converted.panel
    if not panel.targets:
        return ImportedPanel(converted)
    targets = [OriginalTarget(t.expr, t.legend, t.instant) for t in panel.targets]
    found = recognise(targets, known, panel.kind, panel.unit)
    if found is None or found.panel.targets != panel.targets:
        return ImportedPanel(converted)
    keyed = attrs.evolve(panel, origin=found.panel.origin)
    return ImportedPanel(ConvertedPanel(keyed, converted.notes), found)
