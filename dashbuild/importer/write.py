"""The module file an import writes: the contract, the other exporters' metrics and the dashboard, as Python.

Recognised panels are written as the helper call (`h.rate_per_second(...)`) and `.evolve(...)` with what the
original sets differently; the others as `Panel(...)`. Every note (a guessed metric type, an escape hatch,
what could not be carried over) is a comment beside what it is about, so a reviewer reads them in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from dashbuild.importer.convert import Imported, ImportedMetric, ImportedPanel
from dashbuild.importer.source import Call, Code, Commented, module_file
from moddash.contract import ModuleContract, ScrapeTarget
from moddash.contract.model import Metric
from panels.spec import ModuleDashboard, Panel

HELPERS = ("panels", "helpers as h")


_SKIPPED_FIELDS = frozenset({"targets", "origin"})


def _metric_reference(metric: Metric, contract_names: frozenset[str]) -> object:
    if metric.name in contract_names:
        return Call("CONTRACT.metric", (metric.name,))
    return metric  # another exporter's metric, as declared in EXTERNAL_METRICS


def _helperCall(imported: ImportedPanel, metrics: Mapping[str, Metric], contract_names: frozenset[str]) -> object:
    found = imported.recognised
    assert found is not None
    args: list[object] = [_metric_reference(metrics[name], contract_names) if name in metrics else name
                          for name in found.metrics]
    call = Call(f"h.{found.helper}", tuple(args), found.kwargs, (HELPERS,))
    final = imported.panel
    changes = tuple((field.name, dict(final.raw) if field.name == "raw" else getattr(final, field.name))
                    for field in attrs.fields(Panel) if field.name not in _SKIPPED_FIELDS
                    and getattr(final, field.name) != getattr(found.panel, field.name))
    return Call("evolve", (), changes, receiver=call) if changes else call


def _escape_hatch_note(panel: Panel) -> str:
    if not panel.raw:
        return ""
    return ("escape hatches (options the model does not cover, kept as in the original): "
            + ", ".join(path for path, _value in panel.raw))


def _panel(imported: ImportedPanel, metrics: Mapping[str, Metric], contract_names: frozenset[str]) -> object:
    value: object = (_helperCall(imported, metrics, contract_names) if imported.recognised is not None
                     else imported.panel)
    comment = "\n".join(note for note in (*imported.converted.notes, _escape_hatch_note(imported.panel)) if note)
    return Commented(value, comment) if comment else value


def _metric(imported: ImportedMetric) -> object:
    if not imported.notes:
        return imported.metric
    return Commented(imported.metric, "guess: " + "; ".join(imported.notes))


def module_source(imported: Imported) -> str:
    """Return the Python source of the module file for an imported dashboard."""
    contract = imported.contract()
    metrics = {m.metric.name: m.metric for m in (*imported.contract_metrics, *imported.external_metrics)}
    contract_names = frozenset(m.metric.name for m in imported.contract_metrics)
    rows = tuple(Call("Row", (row.title, tuple(_panel(p, metrics, contract_names) for p in row.panels)),
                      tuple((name, value) for name, value, default in (
                          ("collapsed", row.collapsed, False), ("repeat", row.repeat, None)) if value != default),
                      (("panels", "Row"),))
                 for row in imported.rows)
    dashboard_fields: list[tuple[str, Any]] = [("rows", rows)]
    for name, value in (("variables", imported.variables), ("description", imported.description),
                        ("tags", imported.tags), ("annotations", imported.annotations), ("uid", imported.uid),
                        ("silenced", imported.silenced)):
        if value:
            dashboard_fields.append((name, value))
    assignments: list[tuple[str, object]] = [("CONTRACT", Call(
        "ModuleContract", (), (("name", contract.name), ("title", contract.title),
                               ("target", ScrapeTarget(port=imported.port)),
                               ("metrics", tuple(_metric(m) for m in imported.contract_metrics))),
        (("moddash.contract", "ModuleContract"),)))]
    if imported.external_metrics:
        assignments.append(("EXTERNAL_METRICS", tuple(_metric(m) for m in imported.external_metrics)))
        dashboard_fields.append(("external_metrics", Code("EXTERNAL_METRICS")))
    assignments.append(("DASHBOARD", Call("ModuleDashboard", (), tuple(dashboard_fields),
                                          (("panels", "ModuleDashboard"),))))
    return module_file(_docstring(imported), assignments)


def _docstring(imported: Imported) -> str:
    lines = [f"{imported.title} (:{imported.port}): imported from {imported.source}",
             "by `python build.py import`.",
             "",
             "Review before relying on it: the contract was inferred from the queries (help texts to write,",
             "guesses marked), metrics of other exporters are declared in EXTERNAL_METRICS, and comments name",
             "every escape hatch and whatever could not be carried over."]
    if imported.notes:
        lines += ["", "Import notes:"] + [f"- {note}" for note in imported.notes]
    return "\n".join(lines)


def built_values(imported: Imported) -> tuple[ModuleContract, ModuleDashboard]:
    """Return the contract and dashboard the written file declares (for checking before writing)."""
    contract = imported.contract()
    dashboard = ModuleDashboard(
        rows=tuple(row.row() for row in imported.rows),
        variables=imported.variables, description=imported.description, tags=imported.tags,
        annotations=imported.annotations, external_metrics=tuple(m.metric for m in imported.external_metrics),
        uid=imported.uid or None, silenced=imported.silenced)
    return contract, dashboard
