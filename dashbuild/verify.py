"""`python build.py verify`: is every dashboard target showing fresh data, and if not, why?

First the target health (`/api/v1/targets`): each module that Prometheus cannot scrape, with its error. Then
every target (refId) of every panel is run as Grafana runs it (verify_plan) and judged:

- mode "now" (the default): the dashboard is evaluated as it opens at `end`, over its own time range; a
  target is `stale` when the newest sample of a series it selects is older than `stale_after` (or Prometheus
  has marked the series stale): what a module that is down or a renamed metric look like.
- mode "range" (`range_seconds` given): a target is ok when it has data somewhere in the range.

A target that is not ok gets its cause from small, cached follow-up questions (verify_causes). The parts:
verify_client (HTTP API), verify_plan (Grafana's variables), verify_files (dashboard files), verify_health,
verify_shape (selectors of a query), verify_causes, verify_report (text, JSON, exit code).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dashbuild.verify_causes import EMPTY_RESULT, OK, Finding, ProbeError, Prober
from dashbuild.verify_client import MAX_ANSWER_BYTES, PrometheusClient, PrometheusUnavailable, answer_error
from dashbuild.verify_files import DashboardFileError, load_dashboard, load_dashboards
from dashbuild.verify_health import module_slugs, read_health
from dashbuild.verify_plan import (
    PANEL_WIDTH_PX,
    PlannedQuery,
    dashboard_range,
    flat_panels,
    format_duration,
    grafana_regex_escape,
    grafana_values,
    panel_interval,
    parse_duration,
    plan_panel,
    resolve_variables,
    run_query,
    variable_query,
    variable_value,
)
from dashbuild.verify_report import DashboardReport, Report, TargetResult, counts, exit_code, text_lines, to_json
from dashbuild.verify_shape import QueryShape, query_shape
from panels.settings import SCRAPE_SECONDS

STALE_SCRAPES = 3
STALE_AFTER_SECONDS = STALE_SCRAPES * SCRAPE_SECONDS

__all__ = [
    "MAX_ANSWER_BYTES", "PANEL_WIDTH_PX", "SCRAPE_SECONDS", "STALE_AFTER_SECONDS", "DashboardFileError",
    "DashboardReport", "PlannedQuery", "PrometheusClient", "PrometheusUnavailable", "Report", "TargetResult",
    "classify", "counts", "dashboard_range", "exit_code", "flat_panels", "format_duration", "grafana_regex_escape",
    "grafana_values", "load_dashboard", "load_dashboards", "panel_interval", "parse_duration", "plan_panel",
    "resolve_variables", "run_query", "text_lines", "to_json", "variable_query", "variable_value", "verify",
]


def verify(client: PrometheusClient, dashboards: Sequence[dict[str, Any]], end: float,
           range_seconds: float | None = None, stale_after: float = STALE_AFTER_SECONDS) -> Report:
    """Return target health and the status of every panel target of every dashboard, in order.

    Without `range_seconds` each dashboard is judged now, over its own time range; with it, over that range.
    """
    health = read_health(client, module_slugs(dashboards))
    prober = Prober(client, end, SCRAPE_SECONDS, stale_after, health.job_health())
    reports = tuple(_verify_dashboard(client, prober, dashboard, end, range_seconds) for dashboard in dashboards)
    return Report(health, reports, "now" if range_seconds is None else "range", end, stale_after)


def _verify_dashboard(client: PrometheusClient, prober: Prober, dashboard: dict[str, Any], end: float,
                      range_seconds: float | None) -> DashboardReport:
    seconds = range_seconds or dashboard_range(dashboard)
    resolved, _count = resolve_variables(client, dashboard, end, seconds)
    title = str(dashboard.get("title", "?"))
    results = []
    for panel in flat_panels(dashboard):
        for query in plan_panel(dashboard, panel, seconds, resolved=resolved):
            answer = run_query(client, query, end, seconds)
            finding = classify(prober, query.expr, answer, seconds, fresh=range_seconds is None)
            results.append(TargetResult(title, str(panel["title"]), query.ref_id, finding.status, finding.detail,
                                        finding.cause, query.expr))
    return DashboardReport(title, str(dashboard.get("uid", "")), seconds, tuple(results))


def classify(prober: Prober, expr: str, answer: dict[str, Any], window: float, fresh: bool) -> Finding:
    """Return one target's status from its answer and, when needed, follow-up questions about its selectors.

    Order: query error, no series (a metric, label value or label missing), stale, no series (the query
    itself returns nothing), NaN/Inf, ok.
    """
    if answer.get("status") != "success":
        return Finding("query error", "query-error", answer_error(answer))
    has_data = _has_data(answer)
    try:
        shape = query_shape(expr)
    except ValueError:
        shape = QueryShape()
    try:
        problem = _selector_problem(prober, shape, window, fresh, has_data)
    except ProbeError as error:
        problem = None if has_data else Finding("no series", "unknown", f"no series; finding why failed: {error}")
    if problem is not None:
        return problem
    if not has_data:
        return EMPTY_RESULT
    if _only_non_finite(answer):
        return Finding("NaN/Inf", "nan-inf", "every value is NaN or ±Inf (e.g. 0/0: no traffic in the window)")
    return OK


def _selector_problem(prober: Prober, shape: QueryShape, window: float, fresh: bool,
                      has_data: bool) -> Finding | None:
    if fresh:
        findings = [prober.freshness(selector, window) for selector in shape.selectors]
    elif not has_data:
        findings = [prober.presence(selector, window) for selector in shape.selectors]
    else:
        findings = []
    missing = next((f for f in findings if f.status == "no series"), None)
    if missing is not None:
        return missing
    grouping = next((g for g in (prober.grouping(g, window) for g in shape.groupings) if g is not None), None)
    if grouping is not None:
        return grouping
    stale = [f.detail for f in findings if f.status == "stale"]
    if stale:
        more = f" (and {len(stale) - 2} more)" if len(stale) > 2 else ""
        return Finding("stale", "stale", "; ".join(stale[:2]) + more)
    return None


def _values(answer: dict[str, Any]) -> list[Any]:
    data = answer.get("data", {})
    if data.get("resultType") in ("scalar", "string"):
        return [data.get("result", [0, "NaN"])[1]]
    values: list[Any] = []
    for series in data.get("result", []):
        values += [point[1] for point in series.get("values", []) if isinstance(point, list) and len(point) == 2]
        if series.get("value"):
            values.append(series["value"][1])
    return values


def _has_data(answer: dict[str, Any]) -> bool:
    return bool(_values(answer))


def _only_non_finite(answer: dict[str, Any]) -> bool:
    values = _values(answer)
    try:
        return bool(values) and not any(math.isfinite(float(value)) for value in values)
    except (TypeError, ValueError):
        return False
