"""Checks run on every build. Each check takes the compiled dashboards and returns BuildErrors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import promql_parser

from dashbuild.compiled import CompiledDashboard
from dashbuild.errors import BuildError
from dashbuild.schema import validate_dashboard
from panels.spec import UID_RE

Check = Callable[[Sequence[CompiledDashboard]], list[BuildError]]

# Values Grafana would substitute, chosen so that the query still parses the way it runs.
GRAFANA_VARIABLES = {
    "__rate_interval": "1m",
    "__range": "1h",
    "__interval": "1m",
    "__range_s": "3600",
    "__interval_ms": "60000",
}
BUILTIN_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
_VARIABLE_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


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
        if not UID_RE.match(uid):
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


def check_panel_titles(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return errors for panel titles used twice in one dashboard (provenance and links need them unique)."""
    errors = []
    for d in dashboards:
        seen: set[str] = set()
        for panel in d.panels():
            title = panel.get("title", "")
            if title in seen:
                errors.append(BuildError(d.source_of(title), f"{d.filename}: panel title used twice", title))
            seen.add(title)
    return errors


def substitute_variables(expr: str, values: dict[str, str]) -> str:
    """Return `expr` with Grafana's and the dashboard's variables replaced as Grafana would."""
    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return values.get(name, match.group(0))
    return _VARIABLE_RE.sub(replace, expr)


def referenced_variables(expr: str) -> set[str]:
    """Return the names of the variables an expression references."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE_RE.finditer(expr)}


def selected_series(expr: str) -> set[str]:
    """Return the metric names an expression selects; raise ValueError when it does not parse."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), None)
            names.add(name or "")

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def check_queries(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return errors for queries that use unknown variables, do not parse, or select undeclared metrics."""
    errors: list[BuildError] = []
    for d in dashboards:
        variables = {v["name"]: ".*" for v in d.json.get("templating", {}).get("list", []) if v["type"] == "query"}
        values = {**GRAFANA_VARIABLES, **variables}
        for panel in d.panels():
            title = panel.get("title", "")
            file = d.source_of(title)
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                where = f"{d.filename}: query {target.get('refId')}"
                unknown = sorted(referenced_variables(expr) - values.keys())
                if unknown:
                    errors.append(BuildError(file, f"{where} uses variable(s) {', '.join('$' + u for u in unknown)} "
                                                   "that this dashboard does not define", title))
                    continue
                try:
                    series = selected_series(substitute_variables(expr, values))
                except ValueError as error:
                    errors.append(BuildError(file, f"{where} does not parse ({error}): {expr}", title))
                    continue
                undeclared = sorted(series - d.known_series - BUILTIN_SERIES)
                if undeclared:
                    errors.append(BuildError(file, f"{where} selects {', '.join(undeclared) or 'no metric name'}, "
                                                   "which no module contract declares", title))
    return errors


def check_links(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return errors for dashboard links to `/d/<uid>` that no generated dashboard has."""
    uids = {d.json.get("uid") for d in dashboards}
    return [
        BuildError(d.source, f"{d.filename}: link {link.get('title')!r} points to {link['url']}, "
                             "which is not a generated dashboard")
        for d in dashboards for link in d.json.get("links", [])
        if link.get("url", "").startswith("/d/") and link["url"].removeprefix("/d/").split("/")[0] not in uids
    ]


CHECKS: tuple[tuple[str, Check], ...] = (
    ("schema", check_schema),
    ("identity", check_identity),
    ("panel-titles", check_panel_titles),
    ("queries", check_queries),
    ("links", check_links),
)


def run_checks(dashboards: Sequence[CompiledDashboard]) -> list[BuildError]:
    """Return the findings of every check, in check order."""
    return [error for _name, check in CHECKS for error in check(dashboards)]
