"""Queries compared by meaning: PromQL parsed with Grafana's variables stood in for, targets with defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashbuild.importer.compare_values import ABSENT, clean, datasource_uid
from dashbuild.queries import parse, stand_in_variables


def normalize_expr(expr: Any) -> str:
    """Return a query in one canonical spelling: parsed and printed back when it is PromQL.

    Grafana's variables in all three spellings (`$v`, `${v}`, `[[v]]`) become the same stand-in: a
    duration inside `[...]` and after `offset`, else an identifier (or Grafana's own dummy values for
    `$__rate_interval` and friends). An expression that still does not parse (a variable query such as
    `label_values(...)`) is compared with its whitespace collapsed.
    """
    try:
        return str(parse(stand_in_variables(str(expr or ""))))
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
             "datasourceErrors", "errors", "metric", "queryType",
             "logBase"}  # `logBase`: an axis setting old graph editors saved into targets
    # Other data sources' settings are compared as they are.
    view.update(clean({key: value for key, value in target.items() if key not in known}))
    return view
