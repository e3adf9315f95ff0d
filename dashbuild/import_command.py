"""`python build.py import FILE`: an existing dashboard (JSON, or a grafanalib `.dashboard.py`) becomes a module file.

The module is checked in memory with the rest of the project before anything is written: it compiles, passes
Grafana's schema and the build's checks, and lint errors the original dashboard commits on purpose (a fixed
rate window, a repeated title) are silenced on their panels with the rule's own message as the reason, for a
reviewer to fix or keep. The written source is executed once more and must give the same values. A refusal
writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from dashbuild.checks import run_checks
from dashbuild.compiled import CompiledDashboard
from dashbuild.discover import RESERVED, ModuleFile, discover
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import write_module_file
from dashbuild.importer.compare import Difference, compare
from dashbuild.importer.compare_values import ABSENT
from dashbuild.importer.convert import Imported, ImportedPanel, ImportedRow, import_dashboard
from dashbuild.importer.grafanalib_source import GrafanalibError, dashboard_from_grafanalib
from dashbuild.importer.write import built_values, module_source
from dashbuild.lint import lint
from dashbuild.pipeline import check_registry, compile_dashboards
from dashbuild.render import render_dashboard
from dashbuild.schema import validate_dashboard
from dashbuild.settings import load_settings
from panels.keys import keyed_panels
from panels.settings import DATASOURCE_VARIABLE
from panels.spec import DashboardSpec, Panel, Row

FIRST_PORT = 9100
_ROUNDS = 4


@attrs.frozen
class ImportResult:
    """What an import wrote and what a reviewer should know."""

    path: Path
    imported: Imported
    differences: tuple[Difference, ...]  # the rebuilt dashboard against the original, conventions aside
    silenced: int


def read_dashboard(path: Path) -> dict[str, Any]:
    """Return the dashboard JSON in `path` (a grafanalib file is run for it); raise BuildError naming the file."""
    shown = path.as_posix()
    if path.name.endswith(".py"):
        try:
            return dashboard_from_grafanalib(path)
        except GrafanalibError as error:
            raise BuildError(shown, str(error)) from None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
    except OSError as error:
        raise BuildError(shown, f"cannot read it: {error.strerror or error}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BuildError(shown, f"not a JSON dashboard: {str(error).splitlines()[0]}") from None
    if isinstance(data, Mapping) and isinstance(data.get("dashboard"), Mapping):
        data = data["dashboard"]  # the API's and the export's wrapper
    if not isinstance(data, dict) or not isinstance(data.get("panels", data.get("rows", [])), list):
        raise BuildError(shown, "not a Grafana dashboard: expected an object with `panels` (or `rows`)")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _panel_schema_errors(panel: Panel) -> list[str]:
    # Alone in a dashboard of its own: its repeat and data source name variables that one does not have, and
    # neither is a schema matter.
    alone = attrs.evolve(panel, repeat=None, datasource=DATASOURCE_VARIABLE)
    spec = DashboardSpec(uid="import-check", title="Import check", description="d", rows=(Row("r", (alone,)),))
    return [str(error) for error in validate_dashboard(render_dashboard(spec))]


def _free_port(modules: Sequence[ModuleFile]) -> int:
    used = {m.contract.target.port for m in modules}
    return next(port for port in range(FIRST_PORT, 65536) if port not in used)


def _with_silences(imported: Imported, silences: Mapping[tuple[int, int], Sequence[tuple[str, str]]]) -> Imported:
    rows = []
    for r, row in enumerate(imported.rows):
        panels = []
        for p, item in enumerate(row.panels):
            panel = item.panel
            for rule, reason in silences.get((r, p), ()):
                if rule not in dict(panel.silenced):
                    panel = panel.silence(rule, reason)
            panels.append(ImportedPanel(attrs.evolve(item.converted, panel=panel), item.recognised))
        rows.append(attrs.evolve(row, panels=tuple(panels)))
    return attrs.evolve(imported, rows=tuple(rows))


def _places(rows: Sequence[ImportedRow]) -> dict[str, tuple[int, int]]:
    spec_rows = tuple(row.row() for row in rows)
    keys = [key for _panel, key in keyed_panels(spec_rows)]
    places = [(r, p) for r, row in enumerate(rows) for p in range(len(row.panels))]
    return dict(zip(keys, places, strict=True))


def _checked(imported: Imported, others: Sequence[ModuleFile], path: str, root: Path
             ) -> tuple[Imported, CompiledDashboard, int]:
    """Return the import with lint silences added until its module builds clean; raise BuildFailed if it cannot."""
    settings = load_settings(root)
    silenced = 0
    for _round in range(_ROUNDS):
        contract, dashboard = built_values(imported)
        module = ModuleFile(path, contract, dashboard)
        errors = check_registry([*others, module])
        if errors:
            raise BuildFailed(errors)
        try:
            compiled = compile_dashboards([*others, module], settings)
        except BuildError as error:
            raise BuildFailed([error]) from error
        errors = [e for e in run_checks(compiled) if e.file == path]
        if errors:
            raise BuildFailed(errors)
        ours = next(d for d in compiled if d.source == path)
        findings = [f for f in lint(compiled) if f.file == path and f.severity == "error"]
        if not findings:
            return imported, ours, silenced
        places = _places(imported.rows)
        wanted: dict[tuple[int, int], list[tuple[str, str]]] = {}
        whole = dict(imported.silenced)
        for finding in findings:
            place = places.get(finding.panel_key or "")
            if finding.rule == "lint-silence" or (place is None and finding.panel_key):
                raise BuildFailed([BuildError(path, f"[{finding.rule}] {finding.message}", finding.panel)])
            if place is None:  # about the dashboard as a whole: a variable, an annotation
                whole.setdefault(finding.rule, f"imported as it was: {finding.message}")
            else:
                wanted.setdefault(place, []).append((finding.rule, f"imported as it was: {finding.message}"))
            silenced += 1
        imported = attrs.evolve(_with_silences(imported, wanted), silenced=tuple(sorted(whole.items())))
    raise BuildFailed([BuildError(path, "lint findings remain after silencing each imported panel's own")])


def _without_conventions(imported: Imported, original: Mapping[str, Any], rebuilt: Mapping[str, Any]
                         ) -> list[Difference]:
    """Return the differences, without those every module dashboard has by design (see the README)."""
    return [d for d in compare(original, rebuilt, layout="order")
            if not is_convention(d, imported.datasource_variable, imported.datasource_inputs)]


def is_convention(difference: Difference, datasource_variable: str | None = None,
                  datasource_inputs: tuple[str, ...] = ()) -> bool:
    """Return True for what a module dashboard sets by the project's conventions rather than the original's.

    Its title, description (when the original has none), refresh, time range, tooltip and timezone; its tags
    (`generated`, `module` and the module's slug come first); its link to the overview; its `$datasource`
    variable, which replaces the original's Prometheus data source variable (`datasource_variable`) and the
    data source inputs of a dashboard exported for sharing (`datasource_inputs`) and the default data source
    wherever they are named;
    query variables refreshing on time range change.
    """
    where, path = difference.where, difference.path
    if where == "dashboard" and path.split(".")[0].split("[")[0] in (
            "title", "refresh", "time", "graphTooltip", "timezone", "tags", "description"):
        return True
    if where.startswith("link "):
        return True
    names = {"datasource", datasource_variable or "datasource", *datasource_inputs}
    if where in {f"variable {name!r}" for name in names}:
        return True
    if path.endswith("datasource") and difference.after == f"${DATASOURCE_VARIABLE}":
        # None: Grafana's default data source, which a module dashboard names as its `$datasource`.
        return difference.before in (None, ABSENT) or difference.before in {f"${name}" for name in names}
    # Query variables refresh on time range change (lint's template-on-time-change-reload-rule).
    return where.startswith("variable ") and path == "refresh" and difference.after == 2


def import_file(root: Path, source: Path, name: str | None = None, port: int | None = None,
                overwrite: bool = False) -> ImportResult:
    """Import the dashboard in `source` as `dashboards/<name>.py` under `root`; raise BuildError/BuildFailed."""
    original = read_dashboard(source)
    try:
        modules = discover(root)
    except BuildFailed as failure:
        raise BuildError(source.as_posix(), "cannot check the existing modules: "
                         + "; ".join(map(str, failure.errors))) from None
    try:
        imported = import_dashboard(original, name=name, port=port or _free_port(modules), source=source.name,
                                    schema_errors=_panel_schema_errors)
    except ValueError as error:
        raise BuildError(source.as_posix(), str(error)) from None
    if imported.name in RESERVED:
        raise BuildError(source.as_posix(), f"module name {imported.name!r} is reserved; give --module NAME")
    path = root / "dashboards" / f"{imported.name}.py"
    shown = path.relative_to(root).as_posix()
    if path.exists() and not overwrite:
        raise BuildError(shown, "already exists; give --module NAME for another module, or --overwrite")
    others = [m for m in modules if m.path != shown]
    for module in others:
        if imported.uid and (module.dashboard.uid or module.contract.slug).lower() == imported.uid.lower():
            raise BuildError(shown, f"uid {imported.uid!r} is the uid of {module.path}'s dashboard: this dashboard "
                                    "is in the project already; to import a copy, give the JSON another uid")
    replaced = next((m for m in modules if m.path == shown), None)
    if replaced is not None and port is None:
        imported = attrs.evolve(imported, port=replaced.contract.target.port)  # a re-import keeps its port
    for module in others:
        if module.contract.target.port == imported.port:
            raise BuildError(shown, f"port {imported.port} is already used by {module.path}; give --port N")
    try:
        imported, compiled, silenced = _checked(imported, others, shown, root)
        text = module_source(imported)
    except (TypeError, ValueError) as error:  # a value the model refuses that conversion let through
        raise BuildError(shown, f"cannot build the imported module: {error}") from None
    _same_values(text, imported, shown)
    differences = tuple(_without_conventions(imported, original, compiled.json))
    write_module_file(path, text.encode("utf-8"), shown)
    return ImportResult(path, imported, differences, silenced)


def _same_values(text: str, imported: Imported, shown: str) -> None:
    """Execute the written source and require the values it was written from (the writer's own check)."""
    namespace: dict[str, Any] = {"__name__": "imported_module_check"}
    try:
        exec(compile(text, shown, "exec"), namespace)  # our own generated source, checked before writing
    except Exception as error:  # a writer bug: refuse, naming it, rather than write a file that does not load
        raise BuildError(shown, f"the written module does not load ({type(error).__name__}: {error}); "
                                "nothing was written") from None
    contract, dashboard = built_values(imported)
    if namespace.get("CONTRACT") != contract or namespace.get("DASHBOARD") != dashboard:
        raise BuildError(shown, "the written module does not rebuild the imported values; nothing was written")


def summary(result: ImportResult, root: Path) -> list[str]:
    """Return the lines the command prints: what was imported, recognised, escaped and left out."""
    imported = result.imported
    panels = imported.panels
    hatches = sum(len(p.panel.raw) for p in panels)
    with_hatches = sum(1 for p in panels if p.panel.raw)
    recognised = sum(1 for p in panels if p.recognised is not None)
    left_out = [n for n in imported.notes if "not imported" in n]
    lines = [
        f"wrote {result.path.relative_to(root).as_posix()}: module {imported.name!r} (:{imported.port}), "
        f"{len(panels)} panel(s) in {len(imported.rows)} row(s)",
        f"  helpers recognised: {recognised} of {len(panels)} panel(s); the rest are explicit queries",
        f"  escape hatches: {hatches} raw option(s) on {with_hatches} panel(s), each named in a comment",
        f"  contract: {len(imported.contract_metrics)} metric(s) inferred; other exporters: "
        f"{len(imported.external_metrics)} metric(s) in EXTERNAL_METRICS",
        f"  lint silences added: {result.silenced} (reason: the original's own finding)",
    ]
    if left_out:
        lines.append(f"  not imported: {len(left_out)} item(s), listed in the module's docstring")
    if result.differences:
        lines.append(f"  differs from the original in {len(result.differences)} setting(s):")
        lines.extend(f"    {difference}" for difference in result.differences[:20])
        if len(result.differences) > 20:
            lines.append(f"    ... and {len(result.differences) - 20} more")
    else:
        lines.append("  rebuilds the original: no difference beyond the module conventions")
    lines.append("next: review the file, then run `python build.py`")
    return lines
