"""Queries compared by meaning: PromQL parsed with Grafana's variables stood in for, targets with defaults."""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from typing import Any

from dashbuild.importer.compare_values import ABSENT, clean, datasource_uid
from dashbuild.queries import GRAFANA_VARIABLES, parse, substitute_variables

_LEGACY_VARIABLE = re.compile(r"\[\[(\w+)(?::\w+)?\]\]")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_OFFSET = re.compile(r"(\boffset\s+-?)(\$\{\w+(?::\w+)?\}|\$\w+)")
_NAME = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def _duration(name: str) -> str:
    # A duration of its own for each variable, so `[$a]` and `[$b]` still differ once parsed.
    builtin = GRAFANA_VARIABLES.get(name, "")
    return builtin if builtin.endswith("s") else f"{10_000 + zlib.crc32(name.encode()) % 80_000}s"


def _durations(text: str) -> str:
    return _NAME.sub(lambda m: _duration(m.group(1) or m.group(2)), text)


def normalize_expr(expr: Any) -> str:
    """Return a query in one canonical spelling: parsed and printed back when it is PromQL.

    Grafana's variables in all three spellings (`$v`, `${v}`, `[[v]]`) become the same stand-in: a
    duration inside `[...]` and after `offset`, else an identifier (or Grafana's own dummy values for
    `$__rate_interval` and friends). An expression that still does not parse (a variable query such as
    `label_values(...)`) is compared with its whitespace collapsed.
    """
    text = _LEGACY_VARIABLE.sub(lambda m: "${" + m.group(1) + "}", str(expr or ""))
    text = _RANGE.sub(lambda m: _durations(m.group(0)), text)
    text = _OFFSET.sub(lambda m: m.group(1) + _durations(m.group(2)), text)
    names = {m.group(1) or m.group(2) for m in _NAME.finditer(text)}
    stand_ins = {name: GRAFANA_VARIABLES.get(name, f"__var_{name}") for name in names}
    text = substitute_variables(text, stand_ins)
    try:
        return str(parse(text))
    except ValueError:
        return " ".join(str(expr or "").split())


def target_view(target: Mapping[str, Any], panel_datasource: Any) -> dict[str, Any]:
    """Return what a Prometheus target asks for, with Grafana's defaults and without its refId.

    A target without a data source uses the panel's; without `instant` or `range` it is a range query
    (`type` says which Grafana runs: range, instant or both);
    `format` defaults to `time_series` and `intervalFactor` to 1.
    """
    instant = bool(target.get("instant"))
    ranged = bool(target.get("range", not instant))
    view: dict[str, Any] = {
        "expr": normalize_expr(target.get("expr")) if "expr" in target else ABSENT,
        "legendFormat": target.get("legendFormat") or "",
        "type": "range+instant" if ranged and instant else "instant" if instant else "range",
        "format": target.get("format") or "time_series",
        "interval": target.get("interval") or "",
        "intervalFactor": target.get("intervalFactor") or 1,
        "hide": bool(target.get("hide")),
        "exemplar": bool(target.get("exemplar")),
        "datasource": datasource_uid(target.get("datasource")) or panel_datasource,
    }
    # Beside the above: the refId (a name), the editor's mode, and what old editors saved that nothing reads.
    known = {*view, "instant", "range", "refId", "editorMode", "step", "legendLink", "calculatedInterval",
             "datasourceErrors", "errors", "metric", "queryType"}
    # Other data sources' settings are compared as they are.
    view.update(clean({key: value for key, value in target.items() if key not in known}))
    return view
