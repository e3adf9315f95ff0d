"""`python build.py verify`: run every dashboard target against a Prometheus as Grafana would.

Variables are substituted the way Grafana does for a panel about 1,600 pixels wide: `$__interval` is the
range divided by the width, rounded up to a round interval, never below the panel's min interval or the
datasource's scrape interval; `$__rate_interval` is max(`$__interval` + scrape interval, 4 * scrape interval);
`$__range`/`$__range_s` are the verified range; template variables are "All" (their allValue).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from dashbuild.queries import substitute_variables
from instrumentation.bounded_http import FetchError, Response, excerpt, one_line, parse_url, request, show

SCRAPE_SECONDS = 5
PANEL_WIDTH_PX = 1600
ROUND_INTERVALS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 43200, 86400)
Status = Literal["ok", "no data", "error"]
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7})(\s|$)", re.MULTILINE)
_REGENERATE = "run python build.py to regenerate it"
_RESULT_TYPES = frozenset({"vector", "matrix", "scalar", "string"})


class PrometheusUnavailable(Exception):
    """Prometheus cannot be asked at all (bad URL, no connection, not its API answering): fatal for verify."""


class DashboardFileError(Exception):
    """A dashboard file cannot be read as a dashboard; str() names the file, the reason and the fix."""


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

    Template variables are "All": their allValue, else the value `resolved` gives (see resolve_variables).
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
    return values


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


def resolve_variables(client: PrometheusClient, dashboard: dict[str, Any], end: float,
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
class PanelResult:
    """The outcome of one panel's targets."""

    dashboard: str
    panel: str
    status: Status
    detail: str = ""


class PrometheusClient:
    """The two query endpoints of Prometheus' HTTP API.

    Each request is bounded by `timeout` seconds in all and its answer by `max_bytes`. A query Prometheus
    rejects (a JSON error body, e.g. HTTP 400 or 422) is returned as an answer with status "error"; anything
    else that goes wrong raises PrometheusUnavailable with a one-line message naming the URL.
    """

    def __init__(self, base_url: str, timeout: float = 10.0, max_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.base_url = base_url.rstrip("/") or base_url
        self.timeout = timeout
        self.max_bytes = max_bytes
        try:
            parse_url(self.base_url)
        except FetchError as error:
            raise self._unavailable(str(error)) from None

    def _unavailable(self, reason: str) -> PrometheusUnavailable:
        return PrometheusUnavailable(f"cannot query Prometheus at {show(self.base_url)}: {reason}")

    def _post(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        data = urllib.parse.urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        try:
            response = request(f"{self.base_url}{path}", data=data, headers=headers, timeout=self.timeout,
                               max_bytes=self.max_bytes)
        except FetchError as error:
            raise self._unavailable(str(error)) from None
        answer, problem = prometheus_answer(response)
        if answer is None:
            raise self._unavailable(problem)
        if answer["status"] == "error":
            answer.setdefault("error", f"HTTP {response.status}")
        return answer

    def query(self, expr: str, at: float) -> dict[str, Any]:
        """Return the API answer of an instant query."""
        return self._post("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})

    def query_range(self, expr: str, start: float, end: float, step: int) -> dict[str, Any]:
        """Return the API answer of a range query."""
        return self._post("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                  "step": str(step)})


def prometheus_answer(response: Response) -> tuple[dict[str, Any] | None, str]:
    """Return (answer, "") for a Prometheus API answer (success, or an error it reports), else (None, reason)."""
    try:
        answer = json.loads(response.body.decode("utf-8"))
    except UnicodeDecodeError as error:
        return None, _failed(response, f"the answer is not UTF-8 (byte 0x{response.body[error.start]:02x} "
                                       f"at offset {error.start})")
    except (ValueError, RecursionError):
        kind = one_line(response.content_type, 60) or "no Content-Type"
        return None, _failed(response, f"the answer is not JSON ({kind}): {excerpt(response.body, kind)}")
    problem = _answer_problem(answer)
    if problem:
        return None, _failed(response, f"the answer is JSON but not a Prometheus API answer: {problem}")
    if answer["status"] == "success" and not 200 <= response.status < 300:
        return None, response.describe()
    return answer, ""


def _failed(response: Response, reason: str) -> str:
    if response.status == 404:
        return f"{response.describe()} (is this the Prometheus base URL?)"
    return response.describe() if response.status >= 300 else reason


def _answer_problem(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return f"a JSON {type(answer).__name__}, not an object"
    if answer.get("status") not in ("success", "error"):
        return 'no "status" of "success" or "error"'
    if answer["status"] == "error":
        return None
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") not in _RESULT_TYPES:
        return 'no "data" with a known "resultType"'
    result = data.get("result")
    if not isinstance(result, list):
        return '"data.result" is not a list'
    if data["resultType"] in ("vector", "matrix") and not all(_is_series(series) for series in result):
        return 'an item of "data.result" is not a series'
    return None


def _is_series(series: Any) -> bool:
    return (isinstance(series, dict) and isinstance(series.get("metric", {}), dict)
            and isinstance(series.get("values", []), list)
            and isinstance(series.get("value", [0, ""]), list) and len(series.get("value", [0, ""])) == 2)


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
               scrape_seconds: int = SCRAPE_SECONDS, resolved: Mapping[str, str] | None = None) -> list[PlannedQuery]:
    """Return the panel's targets with every variable substituted and the step Grafana would use."""
    interval = panel_interval(range_seconds, panel.get("interval"), scrape_seconds)
    values = grafana_values(range_seconds, interval, dashboard.get("templating", {}).get("list", []), scrape_seconds,
                            resolved)
    return [PlannedQuery(str(target["refId"]), substitute_variables(target["expr"], values),
                         bool(target.get("instant")), interval) for target in panel.get("targets", [])]


def run_query(client: PrometheusClient, query: PlannedQuery, end: float, range_seconds: float) -> dict[str, Any]:
    """Return Prometheus' answer to one planned query over the range ending at `end`."""
    if query.instant:
        return client.query(query.expr, end)
    return client.query_range(query.expr, end - range_seconds, end, query.step)


def verify_panel(client: PrometheusClient, dashboard: dict[str, Any], panel: dict[str, Any], end: float,
                 range_seconds: float, resolved: Mapping[str, str] | None = None) -> PanelResult:
    """Return ok / no data / error for one panel, with the failing refIds and Prometheus' message."""
    empty, errors = [], []
    for query in plan_panel(dashboard, panel, range_seconds, resolved=resolved):
        answer = run_query(client, query, end, range_seconds)
        if answer.get("status") != "success":
            reason = one_line(f"{answer.get('errorType', 'error')}: {answer.get('error')}", 500)
            errors.append(f"{query.ref_id}: {reason}")
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
    results: list[PanelResult] = []
    for dashboard in dashboards:
        resolved, _count = resolve_variables(client, dashboard, end, range_seconds)
        results.extend(verify_panel(client, dashboard, panel, end, range_seconds, resolved)
                       for panel in flat_panels(dashboard))
    return results
