"""`instrument(contract)`: one prometheus_client collector per declared metric, with typed helpers."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from contract.model import COUNTER, GAUGE, HISTOGRAM, Metric, ModuleContract, UnknownMetricError
from instrumentation.errors import ContractViolation

SUCCESS = "success"
FAILURE = "error"
P = ParamSpec("P")
R = TypeVar("R")


def _collector(metric: Metric, registry: CollectorRegistry) -> MetricWrapperBase:
    labels = list(metric.labels)
    if metric.type == COUNTER:
        return Counter(metric.name, metric.help, labels, registry=registry)
    if metric.type == HISTOGRAM:
        if metric.buckets is not None:
            return Histogram(metric.name, metric.help, labels, registry=registry, buckets=metric.buckets)
        return Histogram(metric.name, metric.help, labels, registry=registry)
    if metric.type == GAUGE:
        return Gauge(metric.name, metric.help, labels, registry=registry)
    raise ContractViolation(f"{metric.name}: unsupported metric type {metric.type!r}")


class ModuleMetrics:
    """The live metrics of one module, created from its contract and checked against it on every use."""

    def __init__(self, contract: ModuleContract, registry: CollectorRegistry = REGISTRY) -> None:
        self.contract = contract
        self.registry = registry
        self._collectors: dict[str, MetricWrapperBase] = {}
        for metric in contract.metrics:
            try:
                self._collectors[metric.name] = _collector(metric, registry)
            except ValueError as error:  # prometheus_client: "Duplicated timeseries in CollectorRegistry"
                raise ContractViolation(f"cannot register {metric.name} for module {contract.name!r}: {error} "
                                        "(instrument each contract once per registry)") from error

    def _metric(self, short_name: str, kind: str | None) -> tuple[Metric, MetricWrapperBase]:
        try:
            metric = self.contract.metric(short_name)
        except UnknownMetricError as error:
            raise ContractViolation(str(error)) from None
        if kind is not None and metric.type != kind:
            raise ContractViolation(f"{metric.name} is a {metric.type}, not a {kind}")
        return metric, self._collectors[metric.name]

    @staticmethod
    def _labelled(metric: Metric, collector: MetricWrapperBase, labels: Mapping[str, str]) -> Any:
        given, declared = set(labels), set(metric.labels)
        if given - declared:
            raise ContractViolation(f"{metric.name} declares no label(s) {', '.join(sorted(given - declared))} "
                                    f"(declared: {', '.join(metric.labels) or 'none'})")
        if declared - given:
            raise ContractViolation(f"{metric.name} needs label(s) {', '.join(sorted(declared - given))}")
        return collector.labels(**{k: str(v) for k, v in labels.items()}) if labels else collector

    def prime(self, short_name: str, **labels: str) -> None:
        """Create the series `{module}_{short_name}{labels}` at zero, so rates exist before the first event."""
        metric = self._metric(short_name, None)[0]
        self._labelled(metric, self._collectors[metric.name], labels)

    def count(self, short_name: str, amount: float = 1, /, **labels: str) -> None:
        """Increase the counter `{module}_{short_name}` by `amount` with exactly its declared labels."""
        metric, collector = self._metric(short_name, COUNTER)
        self._labelled(metric, collector, labels).inc(amount)

    def observe(self, short_name: str, value: float, /, **labels: str) -> None:
        """Record `value` in the histogram `{module}_{short_name}` with exactly its declared labels."""
        metric, collector = self._metric(short_name, HISTOGRAM)
        self._labelled(metric, collector, labels).observe(value)

    def set(self, short_name: str, value: float, /, **labels: str) -> None:
        """Set the gauge `{module}_{short_name}` to `value` with exactly its declared labels."""
        metric, collector = self._metric(short_name, GAUGE)
        self._labelled(metric, collector, labels).set(value)

    def tokens(self, prompt: int = 0, completion: int = 0, **labels: str) -> None:
        """Count prompt and completion tokens in `{module}_tokens_total{type=…}`."""
        for kind, amount in (("prompt", prompt), ("completion", completion)):
            if amount < 0:
                raise ValueError(f"{kind} tokens cannot be negative: {amount}")
            if amount:
                self.count("tokens_total", amount, type=kind, **labels)

    def cost(self, usd: float, **labels: str) -> None:
        """Add `usd` US dollars to `{module}_cost_total`."""
        if usd < 0:
            raise ValueError(f"cost cannot be negative: {usd}")
        self.count("cost_total", usd, **labels)

    def cache_hit(self, **labels: str) -> None:
        """Count one cache hit."""
        self.count("cache_hits_total", **labels)

    def cache_miss(self, **labels: str) -> None:
        """Count one cache miss."""
        self.count("cache_misses_total", **labels)

    def operation(self, name: str, **labels: str) -> Operation:
        """Return a timer for operation `name`, usable as `with` block or decorator (sync or async).

        It records `{module}_operation_duration_seconds`, counts `{module}_operations_total` with
        status "success" or "error", and when the block raises, counts `{module}_errors_total` with
        the exception's class name as `error_type` (the exception propagates). Extra labels go to each
        of the three metrics that declares them.
        """
        return Operation(self, name, labels)


def _only(metric: Metric, labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k in metric.labels}


class Operation:
    """Times one operation; see `ModuleMetrics.operation`."""

    def __init__(self, metrics: ModuleMetrics, name: str, labels: Mapping[str, str]) -> None:
        self.metrics = metrics
        self.name = name
        self.labels = dict(labels)
        contract = metrics.contract
        used = [contract.metric(m) for m in ("operations_total", "operation_duration_seconds", "errors_total")
                if contract.has_metric(m)]
        filled_in = {"operation", "status", "error_type"}
        accepted = {label for metric in used for label in metric.labels} - filled_in
        unknown = set(self.labels) - accepted
        if unknown:
            raise ContractViolation(f"operation labels {', '.join(sorted(unknown))} are declared by none of "
                                    f"{', '.join(m.name for m in used)}")
        # Checked now, so that a missing label cannot surface later and mask the block's own exception.
        missing = accepted - set(self.labels)
        if missing:
            raise ContractViolation(f"operation {name!r} needs label(s) {', '.join(sorted(missing))} "
                                    f"(declared by {', '.join(m.name for m in used if set(m.labels) & missing)})")
        self._started: list[float] = []

    def _record(self, started: float, error: BaseException | None) -> None:
        elapsed = time.perf_counter() - started
        contract, labels = self.metrics.contract, {"operation": self.name, **self.labels}
        if contract.has_metric("operation_duration_seconds"):
            duration = contract.metric("operation_duration_seconds")
            self.metrics.observe("operation_duration_seconds", elapsed, **_only(duration, labels))
        if contract.has_metric("operations_total"):
            total = contract.metric("operations_total")
            status = {"status": FAILURE if error else SUCCESS}
            self.metrics.count("operations_total", **_only(total, {**labels, **status}))
        if error is not None and contract.has_metric("errors_total"):
            errors = contract.metric("errors_total")
            self.metrics.count("errors_total", **_only(errors, {**labels, "error_type": type(error).__name__}))

    def __enter__(self) -> Operation:
        self._started.append(time.perf_counter())
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._record(self._started.pop(), error)

    @contextmanager
    def _timing(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except BaseException as error:
            self._record(started, error)
            raise
        self._record(started, None)

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        """Return `function` wrapped so that every call is timed and counted (coroutines when awaited)."""
        if inspect.iscoroutinefunction(function):
            async_function: Callable[P, Awaitable[Any]] = function

            @functools.wraps(function)
            async def timed_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                with self._timing():
                    return await async_function(*args, **kwargs)

            return timed_async  # type: ignore[return-value]

        @functools.wraps(function)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._timing():
                return function(*args, **kwargs)

        return timed


def instrument(contract: ModuleContract, registry: CollectorRegistry = REGISTRY) -> ModuleMetrics:
    """Return the module's metrics, registered in `registry` (the process-wide default unless given)."""
    return ModuleMetrics(contract, registry)
