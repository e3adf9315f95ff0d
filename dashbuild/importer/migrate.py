"""`migrate`: any classic Grafana dashboard JSON in the model Grafana 11 saves (schemaVersion 41).

The steps are Grafana's own (DashboardMigrator's schema versions, then the AngularJS panels' plugin
changes), applied to a copy. The rule for what is not converted: keys Grafana itself discards or never
reads are removed (`style`, `hideControls`, editor state, a graph's settings left on a singlestat);
settings that mean something but have no modern equivalent stay where they were and get a `Note`.
Running `migrate` on its own output changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs

from dashbuild.importer.migrate_common import Json, Note, Notes, arr, number, obj
from dashbuild.importer.migrate_layout import assign_ids, finish_layout, rows_to_grid
from dashbuild.importer.migrate_panels import migrate_panel
from dashbuild.importer.migrate_templating import datasource_plugins, migrate_annotation, migrate_variable

__all__ = ["TARGET_SCHEMA_VERSION", "MigrationResult", "Note", "migrate", "migrate_with_notes"]

TARGET_SCHEMA_VERSION = 41
_DASHBOARD_KEYS = frozenset({
    "id", "uid", "title", "description", "revision", "gnetId", "tags", "timezone", "editable", "graphTooltip", "time",
    "timepicker", "fiscalYearStartMonth", "liveNow", "weekStart", "refresh", "schemaVersion", "version", "panels",
    "templating", "annotations", "links", "snapshot", "preload",
})
# Top-level keys of old dashboards that Grafana converts below or no longer reads at all.
_OBSOLETE = ("rows", "style", "hideControls", "sharedCrosshair", "nav", "pulldowns", "services")
_EXPORT_KEYS = ("__inputs", "__requires", "__elements")
_OLD_TIMEPICKER = ("collapse", "enable", "notice", "now", "status", "type")


@attrs.frozen
class MigrationResult:
    """A migrated dashboard and the notes on what was left as it was."""

    dashboard: dict[str, Any]
    notes: tuple[Note, ...]


def _version(dashboard: Mapping[str, Any]) -> int:
    version = number(dashboard.get("schemaVersion"))
    return int(version) if version is not None else 0


def _dashboard_steps(dashboard: Json, old_version: int, notes: Notes) -> None:
    if old_version < 2 and isinstance(dashboard.get("services"), dict):
        filters = obj(dashboard["services"].get("filter"))
        dashboard.setdefault("time", filters.get("time"))
        dashboard.setdefault("templating", {"list": arr(filters.get("list"))})
    if old_version < 6:
        pulldowns = arr(dashboard.get("pulldowns"))
        annotations = next((p for p in pulldowns if isinstance(p, dict) and p.get("type") == "annotations"), None)
        if annotations is not None:
            dashboard["annotations"] = {"list": arr(annotations.get("annotations"))}
    if old_version < 7 and isinstance(dashboard.get("nav"), list) and dashboard["nav"]:
        dashboard.setdefault("timepicker", dashboard["nav"][0])
    if old_version < 14 and "graphTooltip" not in dashboard:
        dashboard["graphTooltip"] = 1 if dashboard.get("sharedCrosshair") else 0
    for key in ("templating", "annotations"):
        if not isinstance(dashboard.get(key), dict):
            dashboard[key] = {"list": []}
        if not isinstance(dashboard[key].get("list"), list):
            dashboard[key]["list"] = []
    if isinstance(dashboard.get("timepicker"), dict):
        for key in ("time_options", *_OLD_TIMEPICKER):  # unused since Grafana 5 (schema 41 removes time_options)
            dashboard["timepicker"].pop(key, None)
    if "refresh" in dashboard and not isinstance(dashboard["refresh"], str):
        dashboard["refresh"] = ""  # schema 40
    for key in ("id", "gnetId"):
        if key in dashboard and dashboard[key] is None:
            del dashboard[key]
    for key in _EXPORT_KEYS:
        if dashboard.get(key):
            notes.add(None, f"{key} left as is: export metadata for Grafana's import dialog "
                            "(its ${DS_…} placeholders are filled in there)")
    for key in sorted(set(dashboard) - _DASHBOARD_KEYS - set(_OBSOLETE) - set(_EXPORT_KEYS)):
        notes.add(None, f"{key} = {dashboard[key]!r:.60} left as is: not part of the dashboard model")


def _remove_repeat_copies(panels: list[Json], notes: Notes) -> list[Json]:
    # Schema 27: copies made by repeating a panel or row were saved by old versions; Grafana makes them again.
    kept = []
    for panel in panels:
        if panel.get("repeatPanelId") or panel.get("repeatByRow"):
            notes.add(panel, "a repeated copy saved by an old Grafana; removed (the repeat makes it again)")
            continue
        if panel.get("type") == "row" and isinstance(panel.get("panels"), list):
            panel["panels"] = [p for p in panel["panels"] if not (isinstance(p, dict) and p.get("repeatPanelId"))]
        kept.append(panel)
    return kept


def migrate_with_notes(dashboard: Mapping[str, Any]) -> MigrationResult:
    """Return a migrated copy of `dashboard` and the notes on what it left as it was."""
    result: Json = copy.deepcopy(dict(dashboard))
    old_version = _version(result)
    notes = Notes()
    _dashboard_steps(result, old_version, notes)
    plugin_of = datasource_plugins(result["templating"])
    if "panels" in result and not isinstance(result["panels"], list):
        notes.add(None, f"panels = {result['panels']!r:.60} replaced: not a list of panels")
    everything = arr(result.get("panels"))
    panels = [p for p in everything if isinstance(p, dict)]
    odd = [p for p in everything if not isinstance(p, dict)]
    for item in odd:
        notes.add(None, f"panels entry {item!r:.60} left as is (after the panels): not a panel object")
    if "rows" in result and old_version < 16:
        panels += rows_to_grid(result, notes)
    elif result.get("rows"):
        notes.add(None, f"rows left as is: schemaVersion {old_version} dashboards lay panels out with gridPos")
    if old_version < 27:
        panels = _remove_repeat_copies(panels, notes)
    assign_ids(panels, notes)
    migrated = []
    for panel in panels:
        panel = migrate_panel(panel, old_version, plugin_of, notes)
        if panel.get("type") == "row" and isinstance(panel.get("panels"), list):
            panel["panels"] = [migrate_panel(child, old_version, plugin_of, notes)
                               for child in panel["panels"] if isinstance(child, dict)]
        migrated.append(panel)
    result["panels"] = [*finish_layout(migrated, notes), *odd]
    result["templating"]["list"] = [migrate_variable(v, old_version, plugin_of, notes) if isinstance(v, dict) else v
                                    for v in result["templating"]["list"]]
    result["annotations"]["list"] = [migrate_annotation(a, plugin_of, notes) if isinstance(a, dict) else a
                                     for a in result["annotations"]["list"]]
    for key in _OBSOLETE:
        if key != "rows" or old_version < 16:
            result.pop(key, None)
    result["schemaVersion"] = max(old_version, TARGET_SCHEMA_VERSION)
    return MigrationResult(result, tuple(notes.items))


def migrate(dashboard: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of `dashboard` in today's classic model (see `migrate_with_notes` for the notes)."""
    return migrate_with_notes(dashboard).dashboard

