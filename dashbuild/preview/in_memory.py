"""An in-memory Prometheus for previews: the query API of dashbuild.verify_client.PrometheusClient over a SeriesStore.

`query` and `query_range` answer exactly the shapes Prometheus' HTTP API answers (`status`, `data.resultType`,
`data.result`, sample values as strings formatted as Go formats floats, "NaN", "+Inf", "-Inf"), or
`{"status": "error", "errorType": "bad_data" | "execution", "error": ...}`; they never raise for a bad query.
`demo_prometheus` fills one from the demo's traffic generator and evaluates the recording rules over it.

Grafana's `label_values(metric, label)` is not PromQL: asked as a query it is a bad_data error, as on Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dashbuild.preview.demo_data import generate
from dashbuild.preview.promql_ast import QueryError, parse
from dashbuild.preview.promql_eval import LOOKBACK_MS, Evaluator, value_type
from dashbuild.preview.promql_values import RangeSeries, Scalar, StringValue, Value, Vector, format_float
from dashbuild.preview.rule_engine import RuleRun, evaluate_groups, load_groups
from dashbuild.preview.series_store import Labels, SeriesStore
from moddash.contract.model import ModuleContract

# The demo generator costs about 25 ms of CPU per 5 s of simulated time for the three real modules (about 18 s per
# simulated hour on a busy 2-core machine): 15 minutes of history keeps a preview to a few seconds.
DEFAULT_HISTORY_SECONDS = 15 * 60
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series


@attrs.frozen
class DemoTimings:
    """Seconds spent building a demo Prometheus: generating and scraping the traffic, evaluating the rules."""

    generate_seconds: float
    rules_seconds: float
    samples: int
    rules: RuleRun


_NO_LABELS: Labels = ()


def _metric(labels: Labels) -> dict[str, str]:
    return dict(labels)


class InMemoryPrometheus:
    """Answers PromQL queries over a SeriesStore like Prometheus 2.42; `requests` counts the queries asked."""

    def __init__(self, store: SeriesStore, lookback_seconds: float = LOOKBACK_MS / 1000) -> None:
        self.store = store
        self.evaluator = Evaluator(store, round(lookback_seconds * 1000))
        self.requests = 0
        self.timings: DemoTimings | None = None

    def query(self, expr: str, at: float) -> dict[str, Any]:
        """Return the API answer of an instant query at `at` (seconds)."""
        self.requests += 1
        try:
            ts = round(at * 1000)
            value = self.evaluator.evaluate(parse(expr), ts)
            return _success(*_instant_data(value, ts))
        except QueryError as error:
            return _error(error.error_type, str(error))
        except Exception as error:
            return _error("execution", f"in-memory evaluator failed on {expr!r}: {type(error).__name__}: {error}")

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict[str, Any]:
        """Return the API answer of a range query from `start` to `end` (seconds) every `step` seconds."""
        self.requests += 1
        try:
            return self._range(expr, start, end, step)
        except QueryError as error:
            return _error(error.error_type, str(error))
        except Exception as error:
            return _error("execution", f"in-memory evaluator failed on {expr!r}: {type(error).__name__}: {error}")

    def _range(self, expr: str, start: float, end: float, step: float) -> dict[str, Any]:
        if end < start:
            raise QueryError("end timestamp must not be before start time", "bad_data")
        if step <= 0:
            raise QueryError("zero or negative query resolution step widths are not accepted. Try a positive "
                             "integer", "bad_data")
        if (end - start) / step > MAX_POINTS:
            raise QueryError("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                             "query resolution (?step=XX)", "bad_data")
        tree = parse(expr)
        kind = value_type(tree)
        if kind not in ("scalar", "vector"):
            raise QueryError(f'invalid expression type "{"range vector" if kind == "matrix" else kind}" for range '
                             "query, must be Scalar or instant Vector", "bad_data")
        start_ms, end_ms, step_ms = round(start * 1000), round(end * 1000), round(step * 1000)
        series: dict[Labels, list[list[Any]]] = {}
        for ts in range(start_ms, end_ms + 1, step_ms):
            value = self.evaluator.evaluate(tree, ts)
            samples: Vector = [(_NO_LABELS, value.value)] if isinstance(value, Scalar) else _vector(value)
            for labels, sample in samples:
                series.setdefault(labels, []).append([ts / 1000, format_float(sample)])
        result = [{"metric": _metric(labels), "values": points} for labels, points in sorted(series.items())]
        return _success("matrix", result)


def _instant_data(value: Value, ts: int) -> tuple[str, Any]:
    seconds = ts / 1000
    if isinstance(value, Scalar):
        return "scalar", [seconds, format_float(value.value)]
    if isinstance(value, StringValue):
        return "string", [seconds, value.value]
    if value and isinstance(value[0], RangeSeries):
        return "matrix", [{"metric": _metric(s.labels), "values": [[t / 1000, format_float(v)] for t, v in
                                                                   zip(s.times, s.values, strict=True)]}
                          for s in value if isinstance(s, RangeSeries)]
    return "vector", [{"metric": _metric(labels), "value": [seconds, format_float(sample)]}
                      for labels, sample in _vector(value)]


def _vector(value: Value) -> Vector:
    if not isinstance(value, list) or any(isinstance(item, RangeSeries) for item in value):
        raise QueryError(f"expected an instant vector, got {type(value).__name__}")
    return [item for item in value if not isinstance(item, RangeSeries)]


def _success(result_type: str, result: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": result_type, "result": result}}


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"status": "error", "errorType": error_type, "error": message}


def demo_prometheus(contracts: Sequence[ModuleContract], rule_files: Mapping[str, bytes], prometheus_yml: bytes,
                    end: float, history_seconds: float, seed: int = 0) -> InMemoryPrometheus:
    """Return an InMemoryPrometheus holding the demo traffic of `contracts` from `end - history_seconds` to `end`
    (seconds; scraped as prometheus.yml configures each job) and the recorded series of the recording rules among
    `rule_files` (path -> bytes, e.g. the build's files; those prometheus.yml's `rule_files` globs name).

    `DEFAULT_HISTORY_SECONDS` (15 minutes) is the suggested history: the generator costs about 18 s per simulated
    hour for the three real modules. Its `timings` tell what building it cost. Raises ValueError for a module
    without a scrape job or a rule the evaluator refuses.
    """
    store = SeriesStore()
    start = end - history_seconds
    started = time.perf_counter()
    samples = generate(store, contracts, prometheus_yml, start, end, seed)
    generated = time.perf_counter()
    run = evaluate_groups(store, load_groups(rule_files, prometheus_yml), start, end)
    prometheus = InMemoryPrometheus(store)
    prometheus.timings = DemoTimings(generated - started, time.perf_counter() - generated, samples, run)
    return prometheus
