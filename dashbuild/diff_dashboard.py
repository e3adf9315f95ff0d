"""How a dashboard changed, panel by panel, for a review.

Panels are matched by id, which the renderer derives from the panel's key (panels/keys.py), so a retitled or
moved panel is the same panel: a retitle is one `title` line, and a retitled row one `row title` line (its
panels are not "moved"). Panels left unmatched (a base built before keys, a hand-made file) are matched by
title. Shifts are not reported: a panel is "moved" only when it
changes row or its order among the panels that stay in its row; sizes follow from the automatic layout, so
`layout=True` adds every gridPos (size too) and id change. Links are compared as a set, so adding a module does not
report every later link as changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dashbuild.compiled import CompiledDashboard, CompiledPanel
from dashbuild.compiled import flatten as panels_of
from dashbuild.diff_model import ARROW, Change, ChangeKind, FileDiff, field_changes, shown

NOISE = frozenset({"id", "gridPos", "targets"})


def _match(old: tuple[CompiledPanel, ...], new: tuple[CompiledPanel, ...]
           ) -> list[tuple[CompiledPanel | None, CompiledPanel | None]]:
    """Pair old and new panels by id, then the rest by title; unpaired ones are removed or added."""
    old_by_id = {p.id: p for p in old if p.id is not None}
    pairs: dict[int, CompiledPanel] = {}  # index in new -> old panel
    used: set[int] = set()
    for index, panel in enumerate(new):
        match = old_by_id.get(panel.id) if panel.id is not None else None
        if match is not None and id(match) not in used:
            pairs[index] = match
            used.add(id(match))
    old_by_title: dict[str, CompiledPanel] = {}
    for panel in old:
        if id(panel) not in used:
            old_by_title.setdefault(panel.title, panel)
    for index, panel in enumerate(new):
        if index in pairs:
            continue
        match = old_by_title.pop(panel.title, None)
        if match is not None and id(match) not in used:
            pairs[index] = match
            used.add(id(match))
    result: list[tuple[CompiledPanel | None, CompiledPanel | None]] = [
        (pairs.get(index), panel) for index, panel in enumerate(new)]
    result.extend((panel, None) for panel in old if id(panel) not in used)
    return result


def _common_order(first: list[int], second: list[int]) -> set[int]:
    """Return the longest subsequence the two orders share (panels that kept their order)."""
    lengths = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i, a in enumerate(first):
        for j, b in enumerate(second):
            lengths[i + 1][j + 1] = lengths[i][j] + 1 if a == b else max(lengths[i][j + 1], lengths[i + 1][j])
    kept: set[int] = set()
    i, j = len(first), len(second)
    while i and j:
        if first[i - 1] == second[j - 1]:
            kept.add(first[i - 1])
            i, j = i - 1, j - 1
        elif lengths[i - 1][j] >= lengths[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return kept


def _retitled_rows(pairs: list[tuple[CompiledPanel | None, CompiledPanel | None]]) -> dict[str, str]:
    """Return old row title -> new title for each row that was retitled: its panels all went to one row that did
    not exist before, from a row that no longer exists (a row has no key of its own but its title)."""
    old_rows = {old.row for old, _new in pairs if old is not None}
    new_rows = {new.row for _old, new in pairs if new is not None}
    targets: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    for old, new in pairs:
        if old is not None and new is not None and old.row != new.row:
            targets.setdefault(old.row, set()).add(new.row)
            sources.setdefault(new.row, set()).add(old.row)
    return {was: next(iter(now)) for was, now in targets.items()
            if len(now) == 1 and was not in new_rows and (target := next(iter(now))) not in old_rows
            and sources[target] == {was}}


def _moved(pairs: list[tuple[CompiledPanel | None, CompiledPanel | None]], retitled: Mapping[str, str]
           ) -> set[int]:
    """Return the panels (by index in `pairs`) that changed row, or order among the panels staying in their row
    (a retitled row is the same row)."""
    moved: set[int] = set()
    rows: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for index, (old, new) in enumerate(pairs):
        if old is None or new is None:
            continue
        if retitled.get(old.row, old.row) != new.row:
            moved.add(index)
            continue
        before, after = rows.setdefault(new.row, ([], []))
        before.append((old.index, index))
        after.append((new.index, index))
    for before, after in rows.values():
        first, second = [i for _, i in sorted(before)], [i for _, i in sorted(after)]
        moved |= set(first) - _common_order(first, second)
    return moved


def _queries(old: CompiledPanel, new: CompiledPanel) -> tuple[list[tuple[str, str | None, str | None]], list[str]]:
    before = {t.ref_id: t for t in old.targets}
    after = {t.ref_id: t for t in new.targets}
    code: list[tuple[str, str | None, str | None]] = []
    details: list[str] = []
    for ref in sorted(before.keys() | after.keys()):
        was, now = before.get(ref), after.get(ref)
        if was is None or now is None or was.expr != now.expr:
            code.append((f"query {ref}", was.expr if was else None, now.expr if now else None))
        if was is not None and now is not None:
            details.extend(f"query {ref} {change}" for change in
                           field_changes(was.json, now.json, frozenset({"expr"})))
    return code, details


def _row(title: str) -> str:
    """Return how a change names a row: by title, or the top of the dashboard for panels above every header."""
    return f"row {title!r}" if title else "the top (no row)"


def _group(panel: CompiledPanel, sections: Mapping[str, str]) -> str:
    module_file = sections.get(panel.row)
    return f"section {panel.row!r} ({module_file})" if module_file else ""


def _variables(dashboard: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(v.get("name")): v for v in dashboard.get("templating", {}).get("list", []) if isinstance(v, Mapping)}


def _links(dashboard: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(link.get("url") or link.get("title")): link for link in dashboard.get("links", [])
            if isinstance(link, Mapping)}


def _dashboard_details(before: Mapping[str, Any], after: Mapping[str, Any], layout: bool) -> list[str]:
    details: list[str] = []
    old_vars, new_vars = _variables(before), _variables(after)
    details += [f"variable ${name} added" for name in new_vars if name not in old_vars]
    details += [f"variable ${name} removed" for name in old_vars if name not in new_vars]
    details += [f"variable ${name} {change}" for name in new_vars if name in old_vars
                for change in field_changes(old_vars[name], new_vars[name])]
    old_links, new_links = _links(before), _links(after)
    details += [f"link added: {shown(link.get('title'))} ({url})" for url, link in new_links.items()
                if url not in old_links]
    details += [f"link removed: {shown(link.get('title'))} ({url})" for url, link in old_links.items()
                if url not in new_links]
    details += [f"link {url} {change}" for url in new_links if url in old_links
                for change in field_changes(old_links[url], new_links[url])]
    if layout and [*old_links] != [*new_links] and old_links.keys() == new_links.keys():
        details.append("links reordered")
    skip = frozenset({"panels", "templating", "links"}) | (frozenset() if layout else frozenset({"version"}))
    details += field_changes(before, after, skip)
    return details


def diff_dashboard(file: str, before: Mapping[str, Any], after: Mapping[str, Any], layout: bool = False,
                   sections: Mapping[str, str] | None = None) -> FileDiff | None:
    """Return how a dashboard changed, or None when nothing a reviewer needs changed.

    `sections` maps a row title to the module file its panels come from (the overview's module sections),
    so their changes are grouped under that module.
    """
    sections = sections or {}
    old_panels, new_panels = panels_of(before), panels_of(after)
    pairs = _match(old_panels, new_panels)
    retitled = _retitled_rows(pairs)
    moved = _moved(pairs, retitled)
    new_rows = {panel.row for panel in new_panels}
    changes: list[Change] = []
    for index, (old, new) in enumerate(pairs):
        if old is None and new is not None:
            added: tuple[tuple[str, str | None, str | None], ...] = tuple(
                (f"query {t.ref_id}", None, t.expr) for t in new.targets)
            changes.append(Change("added", f"panel {new.title!r}", (f"{new.kind} in {_row(new.row)}",), added,
                                  _group(new, sections)))
        elif new is None and old is not None:
            gone = old.row not in new_rows and old.row not in retitled
            group = _group(old, sections) or (f"{_row(old.row)} (removed)" if gone else "")
            changes.append(Change("removed", f"panel {old.title!r}", group=group))
        elif old is not None and new is not None:
            details = field_changes(old.json, new.json, NOISE)
            if index in moved:
                details.append(f"moved: {_row(old.row)} position {old.index + 1} {ARROW} {_row(new.row)} "
                               f"position {new.index + 1}")
            if layout:
                details.extend(field_changes({k: old.json.get(k) for k in ("id", "gridPos")},
                                             {k: new.json.get(k) for k in ("id", "gridPos")}))
            code, query_details = _queries(old, new)
            details.extend(query_details)
            if details or code:
                changes.append(Change("changed", f"panel {new.title!r}", tuple(details), tuple(code),
                                      _group(new, sections)))
    details = [f"row title: {shown(was)} {ARROW} {shown(now)}" for was, now in retitled.items()]
    details += _dashboard_details(before, after, layout)
    if not changes and not details:
        return None
    return FileDiff(file, f"dashboard {str(after.get('title', ''))!r}", "changed", tuple(changes), tuple(details))


def panel_marks(before: Mapping[str, Any], after: Mapping[str, Any]
                ) -> tuple[dict[int, ChangeKind], dict[int, ChangeKind]]:
    """Return, by panel id, the panels of `before` that were removed or changed and those of `after` that were added
    or changed: what a side-by-side review highlights (the same pairing and changes as `diff_dashboard`)."""
    old_marks: dict[int, ChangeKind] = {}
    new_marks: dict[int, ChangeKind] = {}
    for old, new in _match(panels_of(before), panels_of(after)):
        if old is None and new is not None and new.id is not None:
            new_marks[new.id] = "added"
        elif new is None and old is not None and old.id is not None:
            old_marks[old.id] = "removed"
        elif old is not None and new is not None and (field_changes(old.json, new.json, NOISE)
                                                       or any(_queries(old, new))):
            if old.id is not None:
                old_marks[old.id] = "changed"
            if new.id is not None:
                new_marks[new.id] = "changed"
    return old_marks, new_marks


def overview_sections(dashboards: Sequence[CompiledDashboard]) -> dict[str, str]:
    """Return, for the rows holding panels from other files (the overview's module sections), row -> file."""
    return {panel.row: panel.source for d in dashboards for panel in d.panels
            if panel.source and panel.source != d.source}


def added_dashboard(file: str, after: Mapping[str, Any]) -> FileDiff:
    """Return a new dashboard: its panels, one line each."""
    panels = tuple(Change("added", f"panel {p.title!r}") for p in panels_of(after))
    return FileDiff(file, f"dashboard {str(after.get('title', ''))!r}", "added", panels)
