"""`python build.py verify`: run every dashboard target against a Prometheus as Grafana would.

Variables are substituted the way Grafana does for a panel about 1,600 pixels wide: `$__interval` is the
range divided by the width, rounded up to a round interval, never below the panel's min interval or the
datasource's scrape interval; `$__rate_interval` is max(`$__interval` + scrape interval, 4 * scrape interval);
`$__range`/`$__range_s` are the verified range; template variables are "All" (their allValue).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

from dashbuild.queries import substitute_variables

SCRAPE_SECONDS = 5
PANEL_WIDTH_PX = 1600
ROUND_INTERVALS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 43200, 86400)
Status = Literal["ok", "no data", "error"]
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
                   scrape_seconds: int = SCRAPE_SECONDS) -> dict[str, str]:
    """Return every variable's value for one panel, as Grafana substitutes them."""
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
            values[variable["name"]] = variable.get("allValue") or ".*"
    return values


@attrs.frozen
class PanelResult:
    """The outcome of one panel's targets."""

    dashboard: str
    panel: str
    status: Status
    detail: str = ""


class PrometheusClient:
    """The two query endpoints of Prometheus' HTTP API."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:  # Prometheus answers 400/422 with a JSON error body
            body = json.loads(error.read() or b"{}")
            body.setdefault("error", f"HTTP {error.code}")
            body["status"] = "error"
        return body

    def query(self, expr: str, at: float) -> dict[str, Any]:
        """Return the API answer of an instant query."""
        return self._post("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})

    def query_range(self, expr: str, start: float, end: float, step: int) -> dict[str, Any]:
        """Return the API answer of a range query."""
        return self._post("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                  "step": str(step)})


def _has_data(answer: dict[str, Any]) -> bool:
    result = answer.get("data", {}).get("result", [])
    if answer.get("data", {}).get("resultType") == "scalar":
        return True
    return any(series.get("values") or series.get("value") for series in result)


@attrs.frozen
class PlannedQuery:
    """One target as Grafana would send it."""

    ref_id: str
    expr: str
    instant: bool
    step: int


def plan_panel(dashboard: dict[str, Any], panel: dict[str, Any], range_seconds: float,
               scrape_seconds: int = SCRAPE_SECONDS) -> list[PlannedQuery]:
    """Return the panel's targets with every variable substituted and the step Grafana would use."""
    interval = panel_interval(range_seconds, panel.get("interval"), scrape_seconds)
    values = grafana_values(range_seconds, interval, dashboard.get("templating", {}).get("list", []), scrape_seconds)
    return [PlannedQuery(str(target["refId"]), substitute_variables(target["expr"], values),
                         bool(target.get("instant")), interval) for target in panel.get("targets", [])]


def run_query(client: PrometheusClient, query: PlannedQuery, end: float, range_seconds: float) -> dict[str, Any]:
    """Return Prometheus' answer to one planned query over the range ending at `end`."""
    if query.instant:
        return client.query(query.expr, end)
    return client.query_range(query.expr, end - range_seconds, end, query.step)


def verify_panel(client: PrometheusClient, dashboard: dict[str, Any], panel: dict[str, Any], end: float,
                 range_seconds: float) -> PanelResult:
    """Return ok / no data / error for one panel, with the failing refIds and Prometheus' message."""
    empty, errors = [], []
    for query in plan_panel(dashboard, panel, range_seconds):
        answer = run_query(client, query, end, range_seconds)
        if answer.get("status") != "success":
            errors.append(f"{query.ref_id}: {answer.get('errorType', 'error')}: {answer.get('error')}")
        elif not _has_data(answer):
            empty.append(query.ref_id)
    title = dashboard.get("title", "?")
    if errors:
        return PanelResult(title, panel["title"], "error", "; ".join(errors))
    if empty:
        return PanelResult(title, panel["title"], "no data", f"no series for {', '.join(empty)}")
    return PanelResult(title, panel["title"], "ok")


def flat_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every non-row panel, including those in collapsed rows."""
    panels = []
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            panels.extend(panel.get("panels", []))
        else:
            panels.append(panel)
    return panels


def verify(client: PrometheusClient, dashboards: Sequence[dict[str, Any]], end: float,
           range_seconds: float) -> list[PanelResult]:
    """Return one result per panel of every dashboard, in dashboard and panel order."""
    return [verify_panel(client, dashboard, panel, end, range_seconds)
            for dashboard in dashboards for panel in flat_panels(dashboard)]
