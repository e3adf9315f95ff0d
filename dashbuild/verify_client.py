"""The parts of Prometheus' HTTP API that `verify` asks, each request bounded (instrumentation/bounded_http).

A request Prometheus answers with a JSON error body (e.g. HTTP 400 or 422 for a bad query) is returned as an
answer with status "error"; anything else that goes wrong raises PrometheusUnavailable with one line naming
the base URL: verify cannot go on without Prometheus.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any, Protocol

from moddash.instrumentation.bounded_http import FetchError, Response, excerpt, one_line, parse_url, request, show

MAX_ANSWER_BYTES = 64 * 1024 * 1024
_RESULT_TYPES = frozenset({"vector", "matrix", "scalar", "string"})
DataCheck = Callable[[Any], "str | None"]


class PrometheusUnavailable(Exception):
    """Prometheus cannot be asked at all (bad URL, no connection, not its API answering): fatal for verify."""


def _query_data_problem(data: Any) -> str | None:
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


def _list_of_objects(data: Any, key: str) -> str | None:
    if not isinstance(data, dict):
        return '"data" is not an object'
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return f'"data.{key}" is not a list of objects'
    return None


def _targets_data_problem(data: Any) -> str | None:
    return _list_of_objects(data, "activeTargets")


def _rules_data_problem(data: Any) -> str | None:
    problem = _list_of_objects(data, "groups")
    if problem is None and not all(isinstance(g.get("rules", []), list) for g in data.get("groups", [])):
        return 'a rule group\'s "rules" is not a list'
    return problem


def _names_data_problem(data: Any) -> str | None:
    if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
        return '"data" is not a list of names'
    return None


class QueryClient(Protocol):
    """What running a dashboard's queries needs of Prometheus: PrometheusClient, or the previews' in-memory one."""

    def query(self, expr: str, at: float) -> dict[str, Any]:
        """Return the API answer of an instant query."""

    def query_range(self, expr: str, start: float, end: float, step: int) -> dict[str, Any]:
        """Return the API answer of a range query."""


class PrometheusClient:
    """Prometheus' query, targets, rules and label-names endpoints.

    Each request is bounded by `timeout` seconds in all and its answer by `max_bytes`; `requests` counts the
    requests made, so callers can check that what they ask stays bounded.
    """

    def __init__(self, base_url: str, timeout: float = 10.0, max_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.base_url = base_url.rstrip("/") or base_url
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.requests = 0
        try:
            parse_url(self.base_url)
        except FetchError as error:
            raise self._unavailable(str(error)) from None

    def _unavailable(self, reason: str) -> PrometheusUnavailable:
        return PrometheusUnavailable(f"cannot query Prometheus at {show(self.base_url)}: {reason}")

    def _call(self, path: str, params: dict[str, str], check: DataCheck, post: bool = True) -> dict[str, Any]:
        encoded = urllib.parse.urlencode(params)
        headers = {"Accept": "application/json"}
        if post:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = f"{self.base_url}{path}" + ("" if post or not encoded else f"?{encoded}")
        self.requests += 1
        try:
            response = request(url, data=encoded.encode() if post else None, headers=headers,
                               timeout=self.timeout, max_bytes=self.max_bytes)
        except FetchError as error:
            raise self._unavailable(str(error)) from None
        answer, problem = prometheus_answer(response, check)
        if answer is None:
            raise self._unavailable(problem)
        if answer["status"] == "error":
            answer.setdefault("error", f"HTTP {response.status}")
        return answer

    def query(self, expr: str, at: float) -> dict[str, Any]:
        """Return the API answer of an instant query."""
        return self._call("/api/v1/query", {"query": expr, "time": f"{at:.3f}"}, _query_data_problem)

    def query_range(self, expr: str, start: float, end: float, step: int) -> dict[str, Any]:
        """Return the API answer of a range query."""
        return self._call("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                  "step": str(step)}, _query_data_problem)

    def targets(self) -> dict[str, Any]:
        """Return the API answer of `/api/v1/targets?state=active` (health, lastError, lastScrape, labels)."""
        return self._call("/api/v1/targets", {"state": "active"}, _targets_data_problem, post=False)

    def rules(self) -> dict[str, Any]:
        """Return the API answer of `/api/v1/rules?type=record` (the loaded recording rules)."""
        return self._call("/api/v1/rules", {"type": "record"}, _rules_data_problem, post=False)

    def label_names(self, selector: str, start: float, end: float) -> dict[str, Any]:
        """Return the API answer of `/api/v1/labels` for the series `selector` matches between start and end."""
        return self._call("/api/v1/labels", {"match[]": selector, "start": f"{start:.3f}", "end": f"{end:.3f}"},
                          _names_data_problem)


def prometheus_answer(response: Response, check: DataCheck = _query_data_problem) -> tuple[dict[str, Any] | None, str]:
    """Return (answer, "") for a Prometheus API answer (success, or an error it reports), else (None, reason).

    `check` returns what is wrong with a successful answer's `data` for the endpoint asked (None if nothing).
    """
    try:
        answer = json.loads(response.body.decode("utf-8"))
    except UnicodeDecodeError as error:
        return None, _failed(response, f"the answer is not UTF-8 (byte 0x{response.body[error.start]:02x} "
                                       f"at offset {error.start})")
    except (ValueError, RecursionError):
        kind = one_line(response.content_type, 60) or "no Content-Type"
        return None, _failed(response, f"the answer is not JSON ({kind}): {excerpt(response.body, kind)}")
    problem = _answer_problem(answer, check)
    if problem:
        return None, _failed(response, f"the answer is JSON but not a Prometheus API answer: {problem}")
    if answer["status"] == "success" and not 200 <= response.status < 300:
        return None, response.describe()
    return answer, ""


def _failed(response: Response, reason: str) -> str:
    if response.status == 404:
        return f"{response.describe()} (is this the Prometheus base URL?)"
    return response.describe() if response.status >= 300 else reason


def _answer_problem(answer: Any, check: DataCheck) -> str | None:
    if not isinstance(answer, dict):
        return f"a JSON {type(answer).__name__}, not an object"
    if answer.get("status") not in ("success", "error"):
        return 'no "status" of "success" or "error"'
    if answer["status"] == "error":
        return None
    return check(answer.get("data"))


def answer_error(answer: dict[str, Any]) -> str:
    """Return the one-line `errorType: error` of an API answer whose status is "error"."""
    return one_line(f"{answer.get('errorType', 'error')}: {answer.get('error')}", 500)
