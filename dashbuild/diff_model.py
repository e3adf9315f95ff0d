"""What `python build.py diff` reports: per generated file, the items that changed and how."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

ChangeKind = Literal["added", "removed", "changed"]
ARROW = "→"


@attrs.frozen
class Change:
    """One item of a file that changed: a panel, a variable, a rule, a scrape job..."""

    kind: ChangeKind
    what: str  # e.g. "panel 'Operations/s'", "alert PromptManagerDown"
    details: tuple[str, ...] = ()
    code: tuple[tuple[str, str | None, str | None], ...] = ()  # (label, before, after): queries, rule expressions
    group: str = ""  # the part of the file it belongs to, e.g. an overview section and its module file


@attrs.frozen
class FileDiff:
    """How one generated file changed."""

    file: str
    title: str  # what the file is, e.g. "dashboard 'Prompt Manager Dashboard'", "alerting rules"
    kind: ChangeKind
    changes: tuple[Change, ...] = ()
    details: tuple[str, ...] = ()


def shown(value: Any) -> str:
    """Return a value as a reviewer reads it: JSON, Unicode kept."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Return the leaves of nested dicts and lists of dicts by path (`a.b[0].c`)."""
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key in sorted(value, key=str):
            flat.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any], skip: frozenset[str] = frozenset()
                  ) -> list[str]:
    """Return one line `path: before → after` per leaf that differs, `skip` top-level keys left out."""
    old = flatten({k: v for k, v in before.items() if k not in skip})
    new = flatten({k: v for k, v in after.items() if k not in skip})
    changes = []
    for path in sorted(old.keys() | new.keys()):
        if old.get(path, ...) != new.get(path, ...):
            was = shown(old[path]) if path in old else "(none)"
            now = shown(new[path]) if path in new else "(none)"
            changes.append(f"{path}: {was} {ARROW} {now}")
    return changes
