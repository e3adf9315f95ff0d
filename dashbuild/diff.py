"""`python build.py diff`: what a change does to the dashboards, panel by panel, for a PR comment.

Dashboards are compared as parsed JSON (key order never matters), panels by title, queries by refId.
Positions that only shift because something above changed are layout noise: by default a panel is
reported as moved only when it changes row or order within its row, and as resized when its width or
height changes; `layout=True` reports every gridPos and id change.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from dashbuild.provisioning import DASHBOARDS_DIR

Format = Literal["text", "markdown"]
NOISE = frozenset({"id", "gridPos"})


@attrs.frozen
class PanelDiff:
    """How one panel changed."""

    title: str
    kind: Literal["added", "removed", "changed"]
    details: tuple[str, ...] = ()
    queries: tuple[tuple[str, str | None, str | None], ...] = ()  # (refId, before, after)


@attrs.frozen
class DashboardDiff:
    """How one dashboard file changed."""

    file: str
    title: str
    kind: Literal["added", "removed", "changed"]
    panels: tuple[PanelDiff, ...] = ()
    details: tuple[str, ...] = ()


def git_files(root: Path, ref: str, folder: str) -> dict[str, bytes]:
    """Return the files under `folder` at git revision `ref`; raise ValueError when git cannot tell."""
    def git(*args: str) -> bytes:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False, timeout=60)
        if result.returncode != 0:
            raise ValueError(result.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed")
        return result.stdout

    git("rev-parse", "--verify", f"{ref}^{{commit}}")
    names = git("ls-tree", "-r", "--name-only", ref, "--", folder).decode().splitlines()
    return {name: git("show", f"{ref}:{name}") for name in names}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key in sorted(value):
            flat.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def _field_changes(before: Mapping[str, Any], after: Mapping[str, Any], skip: frozenset[str]) -> list[str]:
    old = _flatten({k: v for k, v in before.items() if k not in skip})
    new = _flatten({k: v for k, v in after.items() if k not in skip})
    changes = []
    for path in sorted(old.keys() | new.keys()):
        if old.get(path, ...) != new.get(path, ...):
            was = json.dumps(old[path], ensure_ascii=False) if path in old else "(none)"
            now = json.dumps(new[path], ensure_ascii=False) if path in new else "(none)"
            changes.append(f"{path}: {was} -> {now}")
    return changes


def _placed_panels(dashboard: Mapping[str, Any]) -> dict[str, tuple[str, int, dict[str, Any]]]:
    """Return title -> (row title, index within the row, panel)."""
    placed: dict[str, tuple[str, int, dict[str, Any]]] = {}
    row, index = "", 0
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            row, index = str(panel.get("title", "")), 0
            for child_index, child in enumerate(panel.get("panels", [])):
                placed[str(child.get("title", ""))] = (row, child_index, child)
            continue
        placed[str(panel.get("title", ""))] = (row, index, panel)
        index += 1
    return placed


def _query_changes(before: Mapping[str, Any], after: Mapping[str, Any]
                   ) -> tuple[list[tuple[str, str | None, str | None]], list[str]]:
    old = {t.get("refId"): t for t in before.get("targets", [])}
    new = {t.get("refId"): t for t in after.get("targets", [])}
    queries: list[tuple[str, str | None, str | None]] = []
    details: list[str] = []
    for ref in sorted(old.keys() | new.keys(), key=str):
        was, now = old.get(ref), new.get(ref)
        if was is None or now is None or was.get("expr") != now.get("expr"):
            queries.append((str(ref), was.get("expr") if was else None, now.get("expr") if now else None))
        if was is not None and now is not None:
            details.extend(f"query {ref} {change}" for change in _field_changes(was, now, frozenset({"expr"})))
    return queries, details


def _panel_diff(title: str, before: tuple[str, int, dict[str, Any]], after: tuple[str, int, dict[str, Any]],
                layout: bool) -> PanelDiff | None:
    (old_row, old_index, old), (new_row, new_index, new) = before, after
    details = _field_changes(old, new, NOISE | {"targets"})
    if (old_row, old_index) != (new_row, new_index):
        details.append(f"moved: row {old_row!r} position {old_index + 1} -> row {new_row!r} position {new_index + 1}")
    old_pos, new_pos = old.get("gridPos", {}), new.get("gridPos", {})
    if (old_pos.get("w"), old_pos.get("h")) != (new_pos.get("w"), new_pos.get("h")):
        details.append(f"resized: {old_pos.get('w')}x{old_pos.get('h')} -> {new_pos.get('w')}x{new_pos.get('h')}")
    if layout:
        details.extend(_field_changes({k: old.get(k) for k in NOISE}, {k: new.get(k) for k in NOISE}, frozenset()))
    queries, query_details = _query_changes(old, new)
    details.extend(query_details)
    if not details and not queries:
        return None
    return PanelDiff(title, "changed", tuple(details), tuple(queries))


def diff_dashboard(file: str, before: Mapping[str, Any], after: Mapping[str, Any], layout: bool = False
                   ) -> DashboardDiff | None:
    """Return how a dashboard changed, or None when only noise changed."""
    old_panels, new_panels = _placed_panels(before), _placed_panels(after)
    panels: list[PanelDiff] = []
    for title in new_panels:
        if title not in old_panels:
            panel = new_panels[title][2]
            queries = tuple((str(t.get("refId")), None, t.get("expr")) for t in panel.get("targets", []))
            panels.append(PanelDiff(title, "added", (f"{panel.get('type')} in row {new_panels[title][0]!r}",),
                                    queries))
        elif (change := _panel_diff(title, old_panels[title], new_panels[title], layout)) is not None:
            panels.append(change)
    panels.extend(PanelDiff(title, "removed") for title in old_panels if title not in new_panels)
    old_vars = {v.get("name"): v for v in before.get("templating", {}).get("list", [])}
    new_vars = {v.get("name"): v for v in after.get("templating", {}).get("list", [])}
    details = [f"variable ${name} added" for name in new_vars if name not in old_vars]
    details += [f"variable ${name} removed" for name in old_vars if name not in new_vars]
    details += [f"variable ${name} {change}" for name in new_vars if name in old_vars
                for change in _field_changes(old_vars[name], new_vars[name], frozenset())]
    skip = frozenset({"panels", "templating"}) | (frozenset() if layout else frozenset({"version"}))
    details += _field_changes(before, after, skip)
    if not panels and not details:
        return None
    return DashboardDiff(file, str(after.get("title", "")), "changed", tuple(panels), tuple(details))


def diff_files(before: Mapping[str, bytes], after: Mapping[str, bytes], layout: bool = False
               ) -> list[DashboardDiff]:
    """Return the dashboard changes between two sets of generated files (only dashboard JSON is compared)."""
    def dashboards(files: Mapping[str, bytes]) -> dict[str, dict[str, Any]]:
        return {path: json.loads(content) for path, content in files.items()
                if path.startswith(DASHBOARDS_DIR + "/") and path.endswith(".json")}

    old, new = dashboards(before), dashboards(after)
    result: list[DashboardDiff] = []
    for path in sorted(old.keys() | new.keys()):
        name = path.rsplit("/", 1)[-1]
        if path not in old:
            titles = tuple(PanelDiff(t, "added") for t in _placed_panels(new[path]))
            result.append(DashboardDiff(name, str(new[path].get("title", "")), "added", titles))
        elif path not in new:
            result.append(DashboardDiff(name, str(old[path].get("title", "")), "removed"))
        elif (change := diff_dashboard(name, old[path], new[path], layout)) is not None:
            result.append(change)
    return result


_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def render_text(diffs: list[DashboardDiff]) -> str:
    """Return the changes as plain text."""
    if not diffs:
        return "no dashboard changes\n"
    lines: list[str] = []
    for dash in diffs:
        suffix = f" ({len(dash.panels)} panels)" if dash.kind == "added" else ""
        lines.append(f"{_SIGN[dash.kind]} dashboard {dash.file} {dash.title!r}{suffix}")
        if dash.kind == "added":
            continue
        lines.extend(f"    {detail}" for detail in dash.details)
        for panel in dash.panels:
            lines.append(f"  {_SIGN[panel.kind]} panel {panel.title!r}")
            lines.extend(f"      {detail}" for detail in panel.details)
            for ref, was, now in panel.queries:
                lines.append(f"      query {ref}:")
                lines.extend(line for line in (f"        - {was}" if was else "", f"        + {now}" if now else "")
                             if line)
    return "\n".join(lines) + "\n"


def render_markdown(diffs: list[DashboardDiff]) -> str:
    """Return the changes as Markdown for a pull-request comment."""
    if not diffs:
        return "No dashboard changes.\n"
    out: list[str] = ["## Dashboard changes", ""]
    for dash in diffs:
        out.append(f"### {dash.kind.capitalize()}: `{dash.file}` ({dash.title})")
        out.append("")
        if dash.kind == "added":
            out.extend(f"- panel **{p.title}**" for p in dash.panels)
            out.append("")
            continue
        out.extend(f"- {detail}" for detail in dash.details)
        for panel in dash.panels:
            out.append(f"- {panel.kind} panel **{panel.title}**")
            out.extend(f"  - {detail}" for detail in panel.details)
            for ref, was, now in panel.queries:
                out.extend(["", f"  Query {ref}:", "", "  ```diff"])
                out.extend(line for line in (f"  - {was}" if was else "", f"  + {now}" if now else "") if line)
                out.append("  ```")
        out.append("")
    return "\n".join(out) + "\n"


def iter_lines(diffs: list[DashboardDiff], fmt: Format) -> Iterator[str]:
    """Yield the rendered report line by line."""
    yield from (render_markdown(diffs) if fmt == "markdown" else render_text(diffs)).splitlines()
