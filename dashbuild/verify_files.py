"""Reading the generated dashboard files for `verify`: every failure is one line naming the file and the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dashbuild.verify_plan import flat_panels
from moddash.instrumentation.bounded_http import one_line

_CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7})(\s|$)", re.MULTILINE)
_REGENERATE = "run python build.py to regenerate it"


class DashboardFileError(Exception):
    """A dashboard file cannot be read as a dashboard; str() names the file, the reason and the fix."""


def load_dashboards(root: Path, folder: Path | str) -> list[dict[str, Any]]:
    """Return every `*.json` dashboard in root/folder by file name; raise DashboardFileError on a bad file."""
    return [load_dashboard(path, path.relative_to(root).as_posix()) for path in sorted((root / folder).glob("*.json"))]


def load_dashboard(path: Path, shown: str) -> dict[str, Any]:
    """Return one dashboard file's JSON; raise DashboardFileError naming `shown`, the reason and the fix."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise DashboardFileError(f"{shown}: cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise DashboardFileError(f"{shown}: not UTF-8 text (offset {error.start}): {_REGENERATE}") from None
    try:
        dashboard = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DashboardFileError(f"{shown}: {_json_problem(text, error)}") from None
    if not _is_dashboard(dashboard):
        raise DashboardFileError(f"{shown}: not a Grafana dashboard (an object whose panels have titles and "
                                 f"targets with refId and expr): {_REGENERATE}")
    return dict(dashboard)


def _json_problem(text: str, error: ValueError | RecursionError) -> str:
    marker = _CONFLICT_MARKER.search(text)
    if marker:
        line = text.count("\n", 0, marker.start()) + 1
        return f"not valid JSON (merge conflict markers at line {line}): resolve the conflict and run python build.py"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno}): {_REGENERATE}"
    return f"not valid JSON ({one_line(str(error) or 'nested too deeply', 80)}): {_REGENERATE}"


def _is_dashboard(dashboard: Any) -> bool:
    if not isinstance(dashboard, dict) or not isinstance(dashboard.get("panels", []), list):
        return False
    templating = dashboard.get("templating", {})
    if not isinstance(templating, dict) or not isinstance(templating.get("list", []), list):
        return False
    if not all(isinstance(variable, dict) and (variable.get("type") != "query" or isinstance(variable.get("name"), str))
               for variable in templating.get("list", [])):
        return False
    panels = dashboard.get("panels", [])
    if not all(isinstance(panel, dict) and isinstance(panel.get("panels", []), list) for panel in panels):
        return False
    return all(_is_panel(panel) for panel in flat_panels(dashboard))


def _is_panel(panel: Any) -> bool:
    if not isinstance(panel, dict) or not isinstance(panel.get("title"), str):
        return False
    targets = panel.get("targets", [])
    return isinstance(targets, list) and all(
        isinstance(t, dict) and "refId" in t and isinstance(t.get("expr"), str) for t in targets)
