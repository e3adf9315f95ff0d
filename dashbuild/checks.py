"""Validation run on every build: Grafana's JSON Schema, provisioning identity (uids, title slugs), and
values JSON cannot hold (non-finite numbers, text that is not valid Unicode)."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dashbuild.compiled import CompiledDashboard
from dashbuild.errors import BuildError
from dashbuild.schema import validate_dashboard
from panels.spec import UID_RE

Check = Callable[[Sequence[CompiledDashboard]], list[BuildError]]


def slugify(title: str) -> str:
    """Return Grafana's URL slug of a dashboard title (lowercase, runs of other characters become '-')."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def check_schema(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return an error per Grafana JSON Schema violation."""
    return [
        BuildError(d.source_of_id(e.panel_id), f"{d.filename}: schema: {e}", e.panel)
        for d in dashboards for e in validate_dashboard(d.json)
    ]


def check_identity(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return errors for invalid or duplicate uids and duplicate title slugs (Grafana would hijack rows)."""
    errors: list[BuildError] = []
    uids: dict[str, str] = {}
    slugs: dict[str, str] = {}
    for d in dashboards:
        uid, title = d.json.get("uid", ""), d.json.get("title", "")
        if not UID_RE.fullmatch(uid):
            errors.append(BuildError(d.source, f"uid {uid!r} must be 1 to 40 letters, digits, '-' or '_'"))
        # Compared without case: the uid names the provisioning file, and two files differing only in case
        # overwrite each other on a case-insensitive file system.
        if uid.lower() in uids:
            errors.append(BuildError(d.source, f"uid {uid!r} is also used by {uids[uid.lower()]}"))
        uids.setdefault(uid.lower(), d.source)
        slug = slugify(title)
        if not slug:
            errors.append(BuildError(d.source, f"title {title!r} has an empty slug"))
        elif slug in slugs:
            errors.append(BuildError(d.source, f"title {title!r} has the same slug {slug!r} as {slugs[slug]}"))
        slugs.setdefault(slug, d.source)
    return errors


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield (JSON path, value) for every number and string in `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(key, f"{path}.<key>")
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _parts(dashboard: CompiledDashboard) -> Iterator[tuple[str | None, str, str, Any]]:
    """Yield (panel title or None, its source file, JSON path, part): each panel and row, then the dashboard
    without its panels. The source is found by panel id (its key), never by title."""
    # Rows too, which the typed view leaves out: a row's own values are written as well.
    for index, panel in enumerate(dashboard.json.get("panels", [])):
        children = panel.get("panels", []) if panel.get("type") == "row" else []
        yield (panel.get("title"), dashboard.source_of_id(panel.get("id")), f"panels[{index}]",
               {k: v for k, v in panel.items() if k != "panels"})
        for child_index, child in enumerate(children):
            yield (child.get("title"), dashboard.source_of_id(child.get("id")),
                   f"panels[{index}].panels[{child_index}]", child)
    yield None, dashboard.source, "", {k: v for k, v in dashboard.json.items() if k != "panels"}


def _value_problem(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number: JSON cannot hold it, and Grafana would skip the dashboard"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"{value!r:.60} is not valid Unicode text ({error.reason}): it cannot be written as UTF-8"
    return None


def _serialisable(data: Any) -> bool:
    """Return True when `data` is JSON without non-finite numbers and its text can be written as UTF-8."""
    try:
        json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except ValueError:  # UnicodeEncodeError is one too
        return False
    return True


def check_json_values(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return an error per panel holding inf or nan (thresholds, min/max, decimals...) or text that is not valid
    Unicode, before serialisation: `dump_json` would refuse it, and Grafana skips a file that is not JSON.

    A panel the overview copied from a module reports nothing more once its module file has an error:
    the copy holds the same values, and the module dashboards are compiled first.
    """
    errors: list[BuildError] = []
    reported: set[str] = set()
    for d in dashboards:
        if _serialisable(d.json):
            continue  # the common case, at the C encoder's speed; the walk below only locates a problem
        for title, source, base, part in _parts(d):
            if source != d.source and source in reported:
                continue
            for path, value in _leaves(part, base):
                message = _value_problem(value)
                if message:
                    errors.append(BuildError(source, f"{d.filename}: {path.lstrip('.')}: {message}", title))
                    reported.add(source)
                    break
    return errors


CHECKS: tuple[tuple[str, Check], ...] = (
    ("schema", check_schema),
    ("identity", check_identity),
    ("json-values", check_json_values),
)


def run_checks(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return the findings of every check, in check order."""
    return [error for _name, check in CHECKS for error in check(dashboards)]
