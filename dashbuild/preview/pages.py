"""`python build.py preview`: a page per generated dashboard and an index, from a build in memory, with data
from a Prometheus or from the demo's traffic generated in memory; written atomically, page by page."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import attrs

from dashbuild.files import write_atomic
from dashbuild.preview.data import dashboard_data
from dashbuild.preview.page import PageInfo, document, page_html
from dashbuild.provisioning import DASHBOARDS_DIR
from dashbuild.verify_client import QueryClient
from dashbuild.verify_plan import dashboard_range

INDEX = "index.html"
# The pages the last preview wrote into its folder: a later preview removes those it no longer writes, and
# never anything else of a folder the user chose.
WRITTEN_LIST = ".preview-pages.json"


@attrs.frozen
class DataSource:
    """Where a preview's data comes from, and what its pages say about it."""

    client: QueryClient
    label: str
    note: str = ""


def generated_dashboards(files: Mapping[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    """Return (page name, dashboard JSON) of every generated dashboard among a build's files, by file name."""
    found = []
    for path in sorted(files):
        if path.startswith(f"{DASHBOARDS_DIR}/") and path.endswith(".json"):
            dashboard = json.loads(files[path])
            found.append((Path(path).stem + ".html", dashboard))
    return found


def aligned_end(now: float, step: float = 60.0) -> float:
    """Return `now` rounded down to a whole `step`, so pages made within the same minute show the same range."""
    return math.floor(now / step) * step


def preview_pages(dashboards: Sequence[tuple[str, dict[str, Any]]], source: DataSource, end: float,
                  range_seconds: float | None = None) -> dict[str, bytes]:
    """Return every dashboard's page and the index, by file name. `range_seconds` overrides each dashboard's own
    default time range."""
    pages: dict[str, bytes] = {}
    rows = []
    for name, dashboard in dashboards:
        seconds = range_seconds or dashboard_range(dashboard)
        data = dashboard_data(source.client, dashboard, end, seconds)
        info = PageInfo(source.label, end - seconds, end, source.note)
        pages[name] = page_html(dashboard, data, info).encode()
        errors = sum(len(d.errors) for d in data.values())
        empty = sum(1 for d in data.values() if not any(s.points for s in d.series))
        rows.append(f'<tr><td><a href="{escape(name)}">{escape(str(dashboard.get("title", name)))}</a></td>'
                    f"<td>{len(data)}</td><td>{empty}</td><td>{errors}</td></tr>")
    table = ("<table><thead><tr><th>Dashboard</th><th>Panels</th><th>Panels without data</th><th>Query errors</th>"
             f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    header = f'<div class="top"><h1>Dashboard previews</h1><div class="meta">{escape(source.label)}</div></div>'
    pages[INDEX] = document("Dashboard previews", header + table).encode()
    return pages


def write_pages(out: Path, pages: Mapping[str, bytes]) -> list[str]:
    """Write `pages` into `out` (each atomically), remove the pages an earlier preview wrote there and this one
    does not; return the names removed. Raise OSError when the disk refuses."""
    listed = out / WRITTEN_LIST
    try:
        before = json.loads(listed.read_text())
        earlier = {str(name) for name in before} if isinstance(before, list) else set()
    except (OSError, ValueError):
        earlier = set()
    for name, content in sorted(pages.items()):
        write_atomic(out / name, content)
    write_atomic(listed, json.dumps(sorted(pages), indent=0).encode())
    removed = sorted(name for name in earlier - set(pages) if "/" not in name and name.endswith(".html"))
    for name in removed:
        (out / name).unlink(missing_ok=True)
    return removed
