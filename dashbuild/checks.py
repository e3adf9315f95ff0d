"""Validation run on every build: Grafana's JSON Schema and provisioning identity (uids, title slugs)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

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
        BuildError(d.source_of(e.panel), f"{d.filename}: schema: {e}", e.panel)
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
            errors.append(BuildError(d.source, f"uid {uid!r} must match [a-z0-9-]{{1,40}}"))
        if uid in uids:
            errors.append(BuildError(d.source, f"uid {uid!r} is also used by {uids[uid]}"))
        uids.setdefault(uid, d.source)
        slug = slugify(title)
        if not slug:
            errors.append(BuildError(d.source, f"title {title!r} has an empty slug"))
        elif slug in slugs:
            errors.append(BuildError(d.source, f"title {title!r} has the same slug {slug!r} as {slugs[slug]}"))
        slugs.setdefault(slug, d.source)
    return errors


CHECKS: tuple[tuple[str, Check], ...] = (
    ("schema", check_schema),
    ("identity", check_identity),
)


def run_checks(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return the findings of every check, in check order."""
    return [error for _name, check in CHECKS for error in check(dashboards)]
