"""How Grafana runs a panel's targets: durations, `$__interval`, `$__rate_interval`, variables, the step.

Variables are substituted the way Grafana does for a panel about 1,600 pixels wide: `$__interval` is the
range divided by the width, rounded up to a round interval, never below the panel's min interval or the
datasource's scrape interval; `$__rate_interval` is max(`$__interval` + scrape interval, 4 * scrape interval);
`$__range`/`$__range_s` are the dashboard's range; template variables are "All" (their allValue), and
`query_result(...)` variables are run as Grafana runs them on load (resolve_variables).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

import attrs

from dashbuild.compiled import flatten
from dashbuild.queries import substitute_variables
from dashbuild.verify_client import QueryClient
from panels.settings import SCRAPE_SECONDS

PANEL_WIDTH_PX = 1600
DEFAULT_RANGE_SECONDS = 6 * 3600  # Grafana's default time range, for a dashboard that sets none
ROUND_INTERVALS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 43200, 86400)
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_NOW_MINUS = re.compile(r"^now-(\d+[smhd])$")


def parse_duration(text: str) -> float:
    """Return seconds of a Prometheus/Grafana duration like `15s`, `5m`, `1h`; raise ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m or 1h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    """Return the shortest exact Prometheus duration for whole seconds (`90` -> `90s`, `300` -> `5m`)."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def panel_interval(range_seconds: float, min_interval: str | None, scrape_seconds: int = SCRAPE_SECONDS) -> int:
    """Return Grafana's `$__interval` in seconds for this range and panel."""
    raw = range_seconds / PANEL_WIDTH_PX
    rounded = next((i for i in ROUND_INTERVALS if i >= raw), ROUND_INTERVALS[-1])
    floor = parse_duration(min_interval) if min_interval else scrape_seconds
    return int(max(rounded, floor, scrape_seconds))


def grafana_values(range_seconds: float, interval: int, variables: Iterable[dict[str, Any]],
                   scrape_seconds: int = SCRAPE_SECONDS, resolved: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return every variable's value for one panel, as Grafana substitutes them.

    Query variables are "All": their allValue, else the value `resolved` gives (see resolve_variables); custom,
    interval, constant and text box variables are their current value ("All" of a custom one: its values).
    """
    rate_interval = max(interval + scrape_seconds, 4 * scrape_seconds)
    values = {
        "__interval": format_duration(interval),
        "__interval_ms": str(interval * 1000),
        "__rate_interval": format_duration(rate_interval),
        "__range": format_duration(range_seconds),
        "__range_s": str(int(range_seconds)),
        "__range_ms": str(int(range_seconds * 1000)),
    }
    for variable in variables:
        if variable.get("type") == "query":
            values[variable["name"]] = variable.get("allValue") or (resolved or {}).get(variable["name"], ".*")
        elif variable.get("type") in ("custom", "interval", "constant", "textbox"):
            values[variable["name"]] = _current_value(variable)
    return values


def _current_value(variable: dict[str, Any]) -> str:
    """Return what a custom, interval, constant or text box variable interpolates to on load."""
    query = str(variable.get("query", ""))
    if variable.get("type") == "constant":
        return query
    current = variable.get("current", {}).get("value")
    if current == "$__all":
        choices = [re.escape(choice.strip()) for choice in query.split(",")]
        return str(variable.get("allValue") or f"({'|'.join(choices)})")
    if isinstance(current, str):
        return current
    return query.split(",")[0].strip()


_QUERY_RESULT = re.compile(r"^query_result\((.*)\)$", re.DOTALL)
_JS_REGEX = re.compile(r"^/(.*)/[a-z]*$", re.DOTALL)


def variable_query(variable: dict[str, Any], range_seconds: float) -> str | None:
    """Return the PromQL a `query_result(...)` variable without allValue runs, or None for other variables."""
    match = _QUERY_RESULT.fullmatch(str(variable.get("query", "")).strip())
    if variable.get("type") != "query" or variable.get("allValue") or not match:
        return None
    return substitute_variables(match.group(1), {"__range": format_duration(range_seconds),
                                                 "__range_s": str(int(range_seconds))})


def variable_value(variable: dict[str, Any], answer: dict[str, Any]) -> str:
    """Return what "All" of a `query_result` variable interpolates to: the regex of its extracted values."""
    pattern = _JS_REGEX.fullmatch(str(variable.get("regex", "")))
    options = set()
    for series in answer.get("data", {}).get("result", []):
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(series.get("metric", {}).items()))
        text = f"{{{labels}}} {series.get('value', [0, ''])[1]}"
        found = re.search(pattern.group(1), text) if pattern else None
        options.add(found.group(1) if found and found.groups() else (found.group(0) if found else text))
    return "(" + "|".join(grafana_regex_escape(option) for option in sorted(options)) + ")"


def grafana_regex_escape(value: str) -> str:
    """Return a value escaped the way Grafana's Prometheus datasource escapes multi-value regex options.

    Regex metacharacters get two backslashes in the query text (one survives the PromQL string), so a
    module named `prompt-manager` stays `prompt-manager` and `b.x` becomes `b\\\\.x`.
    """
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(), value.replace("\\", "\\" * 4))


def resolve_variables(client: QueryClient, dashboard: dict[str, Any], end: float,
                      range_seconds: float) -> tuple[dict[str, str], int]:
    """Run the dashboard's `query_result` variables as Grafana does on load; return values and query count."""
    resolved, count = {}, 0
    for variable in dashboard.get("templating", {}).get("list", []):
        expr = variable_query(variable, range_seconds)
        if expr is not None:
            resolved[variable["name"]] = variable_value(variable, client.query(expr, end))
            count += 1
    return resolved, count


@attrs.frozen
class PlannedQuery:
    """One target as Grafana would send it."""

    ref_id: str
    expr: str
    instant: bool
    step: int


def plan_panel(dashboard: dict[str, Any], panel: dict[str, Any], range_seconds: float,
               scrape_seconds: int = SCRAPE_SECONDS, resolved: Mapping[str, str] | None = None) -> list[PlannedQuery]:
    """Return the panel's targets with every variable substituted and the step Grafana would use."""
    interval = panel_interval(range_seconds, panel.get("interval"), scrape_seconds)
    values = grafana_values(range_seconds, interval, dashboard.get("templating", {}).get("list", []), scrape_seconds,
                            resolved)
    return [PlannedQuery(str(target["refId"]), substitute_variables(target["expr"], values),
                         bool(target.get("instant")), interval) for target in panel.get("targets", [])]


def run_query(client: QueryClient, query: PlannedQuery, end: float, range_seconds: float) -> dict[str, Any]:
    """Return Prometheus' answer to one planned query over the range ending at `end`."""
    if query.instant:
        return client.query(query.expr, end)
    return client.query_range(query.expr, end - range_seconds, end, query.step)


def flat_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every non-row panel's JSON, including those in collapsed rows (the view lint and diff walk)."""
    return [cast(dict[str, Any], panel.json) for panel in flatten(dashboard)]




def dashboard_range(dashboard: dict[str, Any]) -> float:
    """Return the seconds of the dashboard's default time range (`now-6h` to `now`), as it opens."""
    time_range = dashboard.get("time")
    if isinstance(time_range, dict) and time_range.get("to", "now") == "now":
        match = _NOW_MINUS.fullmatch(str(time_range.get("from", "")))
        if match:
            return parse_duration(match.group(1))
    return DEFAULT_RANGE_SECONDS
