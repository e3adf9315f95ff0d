"""`instrument(contract)`: one prometheus_client collector per declared metric, with typed helpers.

Two modes (see `strict_default`): strict mode raises `ContractViolation` on any use the contract does not
allow and on bad values; production mode drops that one record, logs the first of each kind and counts it in
`{module}_instrumentation_errors_total{kind}`, so that instrumentation never breaks the request it measures.
Label values are bounded in both modes: see `ModuleMetrics`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import numbers
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from moddash.contract.model import COUNTER, GAUGE, HISTOGRAM, Metric, ModuleContract, UnknownMetricError
from moddash.instrumentation.errors import (
    ERROR_KINDS,
    INTERNAL,
    INVALID_VALUE,
    MISSING_LABEL,
    NEGATIVE_VALUE,
    UNKNOWN_LABEL,
    UNKNOWN_METRIC,
    WRONG_TYPE,
    ContractViolation,
)
from moddash.instrumentation.exposition import MULTIPROC_ENV

SUCCESS = "success"
FAILURE = "error"
OVERFLOW = "other"
DEFAULT_MAX_LABEL_VALUES = 100
STRICT_ENV = "INSTRUMENTATION_STRICT"
ERRORS_HELP = "Records dropped by the instrumentation, by kind."
OVERFLOW_HELP = "Label values recorded as 'other', by metric and label."
P = ParamSpec("P")
R = TypeVar("R")
logger = logging.getLogger("moddash.instrumentation")

# The operations entered with `with` in the current thread or asyncio task, innermost last, with their start
# times: one Operation object may be shared by many threads and tasks, so its start times cannot live on it.
_ACTIVE: ContextVar[tuple[tuple[Operation, float], ...]] = ContextVar("instrumentation_active_operations",
                                                                     default=())


def strict_default() -> bool:
    """Return whether `instrument(..., strict=None)` is strict.

    `INSTRUMENTATION_STRICT=1` forces strict mode and `INSTRUMENTATION_STRICT=0` production mode; otherwise
    strict mode is on when running under pytest.
    """
    setting = os.environ.get(STRICT_ENV, "").strip()
    if setting == "1":
        return True
    if setting == "0":
        return False
    return "pytest" in sys.modules or "PYTEST_CURRENT_TEST" in os.environ


def self_metric_names(module: str) -> tuple[str, str]:
    """Return the names of `instrument()`'s own counters for `module`: dropped records, overflowed label values."""
    return f"{module}_instrumentation_errors_total", f"{module}_label_overflow_total"


def _collector(metric: Metric, registry: CollectorRegistry) -> MetricWrapperBase:
    labels = list(metric.labels)
    if metric.type == COUNTER:
        return Counter(metric.name, metric.help, labels, registry=registry)
    if metric.type == HISTOGRAM:
        if metric.buckets is not None:
            return Histogram(metric.name, metric.help, labels, registry=registry, buckets=metric.buckets)
        return Histogram(metric.name, metric.help, labels, registry=registry)
    if metric.type == GAUGE:
        # Without a declared mode prometheus_client keeps one series per worker, told apart by a `pid` label.
        return Gauge(metric.name, metric.help, labels, registry=registry,
                     multiprocess_mode=metric.multiprocess_mode or "all")
    raise ContractViolation(f"{metric.name}: unsupported metric type {metric.type!r}", WRONG_TYPE)


def _checked_number(what: str, value: object, *, counter: bool) -> float:
    if not isinstance(value, numbers.Real):
        raise ContractViolation(f"{what}: {value!r} is not a number", INVALID_VALUE)
    if not math.isfinite(value):
        raise ContractViolation(f"{what}: {value} is not a finite number", INVALID_VALUE)
    if counter and value < 0:
        raise ContractViolation(f"{what} cannot be negative: {value} (a counter only goes up)", NEGATIVE_VALUE)
    return float(value)


class ModuleMetrics:
    """The live metrics of one module, created from its contract and checked against it on every use.

    `strict` (None: see `strict_default`) chooses between raising `ContractViolation` and dropping the
    record (logged once per kind, counted in `{module}_instrumentation_errors_total{kind}`).

    Label values are bounded: a label whose values the contract declares (`label_values`) keeps only those,
    and a label without declared values keeps its first `max_label_values` distinct values. Any other value
    is recorded as `other` (even when a declared list lacks `other`) and counted in
    `{module}_label_overflow_total{metric,label}`. Every series of both self-metrics exists from the start, at
    zero (every kind; every metric and label of the contract).
    """

    def __init__(self, contract: ModuleContract, registry: CollectorRegistry = REGISTRY, *,
                 strict: bool | None = None, max_label_values: int = DEFAULT_MAX_LABEL_VALUES) -> None:
        if isinstance(max_label_values, bool) or not isinstance(max_label_values, int) or max_label_values < 1:
            raise ValueError(f"max_label_values must be a positive integer, got {max_label_values!r}")
        self.contract = contract
        self.registry = registry
        self.strict = strict_default() if strict is None else strict
        self.max_label_values = max_label_values
        self.errors_metric, self.overflow_metric = self_metric_names(contract.name)
        for reserved in (self.errors_metric, self.overflow_metric):
            if any(metric.name == reserved for metric in contract.metrics):
                raise ContractViolation(f"{reserved} is reserved for instrument()'s own metrics: "
                                        "remove it from the contract", UNKNOWN_METRIC)
        self._known = {label: frozenset(values) for label, values in contract.label_values}
        self._seen: dict[str, set[str]] = {label: set() for metric in contract.metrics for label in metric.labels
                                           if label not in self._known}
        self._seen_lock = threading.Lock()
        self._self_lock = threading.Lock()
        self._self_metrics: dict[str, Counter | None] = {}
        self._logged: set[str] = set()
        self._collectors: dict[str, MetricWrapperBase] = {}
        # The contract is immutable: its metrics by full name, looked up on every record instead of scanned.
        self._declared = {metric.name: metric for metric in contract.metrics}
        self._check_gauge_modes()
        for metric in contract.metrics:
            try:
                self._collectors[metric.name] = _collector(metric, registry)
            except ValueError as error:  # prometheus_client: "Duplicated timeseries in CollectorRegistry"
                raise ContractViolation(f"cannot register {metric.name} for module {contract.name!r}: {error} "
                                        "(instrument each contract once per registry)") from error
        self._prime_self_metrics()

    def _prime_self_metrics(self) -> None:
        """Create every series of the two self-metrics at zero.

        A counter series that appears at its first increment shows Prometheus no increase(), so the first drop
        of a kind, or a label's first overflow, would never fire the InstrumentationDropping alert.
        """
        errors = self._self_counter(self.errors_metric, ERRORS_HELP, ("kind",))
        if errors is not None:
            for kind in ERROR_KINDS:
                errors.labels(kind=kind)
        overflow = self._self_counter(self.overflow_metric, OVERFLOW_HELP, ("metric", "label"))
        if overflow is not None:
            for metric in self.contract.metrics:
                for label in metric.labels:
                    overflow.labels(metric=metric.name, label=label)

    def _check_gauge_modes(self) -> None:
        """Under several workers a gauge without a declared multiprocess_mode would gain a `pid` label."""
        if not os.environ.get(MULTIPROC_ENV):
            return
        undeclared = [m.name for m in self.contract.metrics if m.type == GAUGE and m.multiprocess_mode is None]
        if not undeclared:
            return
        message = (f"{MULTIPROC_ENV} is set and gauge(s) {', '.join(undeclared)} of module {self.contract.name!r} "
                   "declare no multiprocess_mode: declare one in the contract (e.g. Metric(..., "
                   'multiprocess_mode="livesum")), or each worker is exposed as its own series with a `pid` label')
        if self.strict:
            raise ContractViolation(message, WRONG_TYPE)
        logger.warning("%s", message)

    # --- production mode: drop, log once, count ---------------------------------------------------------

    def _self_counter(self, name: str, help_text: str, labels: tuple[str, ...]) -> Counter | None:
        counter = self._self_metrics.get(name)
        if counter is not None or name in self._self_metrics:
            return counter
        with self._self_lock:
            if name not in self._self_metrics:
                try:
                    self._self_metrics[name] = Counter(name, help_text, labels, registry=self.registry)
                except ValueError as error:  # already registered by something else: keep going uncounted
                    logger.error("instrumentation of %r cannot register %s: %s", self.contract.name, name, error)
                    self._self_metrics[name] = None
            return self._self_metrics[name]

    def _log_once(self, key: str, message: str, *args: object) -> None:
        with self._self_lock:
            if key in self._logged:
                return
            self._logged.add(key)
        logger.warning(message, *args)

    def _drop(self, violation: ContractViolation) -> None:
        counter = self._self_counter(self.errors_metric, ERRORS_HELP, ("kind",))
        if counter is not None:
            counter.labels(kind=violation.kind).inc()
        self._log_once(f"error:{violation.kind}", "instrumentation of %r dropped a record (%s): %s; further %s "
                       "drops are counted in %s, not logged", self.contract.name, violation.kind, violation,
                       violation.kind, self.errors_metric)

    @contextmanager
    def _guarded(self, strict: bool | None = None) -> Iterator[None]:
        """Raise violations in strict mode; otherwise drop the record instead of failing the caller."""
        try:
            yield
        except ContractViolation as violation:
            if self.strict if strict is None else strict:
                raise
            self._drop(violation)
        except Exception as error:
            if self.strict if strict is None else strict:
                raise
            self._drop(ContractViolation(f"{type(error).__name__}: {error}", INTERNAL))

    # --- cardinality --------------------------------------------------------------------------------------

    def _bounded(self, metric: Metric, label: str, value: str) -> str:
        if value == OVERFLOW:
            return value
        known = self._known.get(label)
        if known is not None:
            if value in known:
                return value
        else:
            seen = self._seen[label]
            # Set membership is atomic, so the common case (a value already admitted) takes no lock.
            if value in seen:
                return value
            with self._seen_lock:
                if value in seen:
                    return value
                if len(seen) < self.max_label_values:
                    seen.add(value)
                    return value
        counter = self._self_counter(self.overflow_metric, OVERFLOW_HELP, ("metric", "label"))
        if counter is not None:
            counter.labels(metric=metric.name, label=label).inc()
        limit = "is not among its declared values" if known is not None else \
            f"is beyond its first {self.max_label_values} distinct values"
        self._log_once(f"overflow:{label}", "instrumentation of %r: value %r of label %r (%s) %s, recorded as %r; "
                       "further overflows are counted in %s, not logged", self.contract.name, value, label,
                       metric.name, limit, OVERFLOW, self.overflow_metric)
        return OVERFLOW

    # --- checks ---------------------------------------------------------------------------------------------

    def _metric(self, short_name: str, kind: str | None) -> tuple[Metric, MetricWrapperBase]:
        prefix = self.contract.name + "_"
        metric = self._declared.get(short_name if short_name.startswith(prefix) else prefix + short_name)
        if metric is None:
            try:
                metric = self.contract.metric(short_name)  # raises, saying which metrics are declared
            except UnknownMetricError as error:
                raise ContractViolation(str(error), UNKNOWN_METRIC) from None
        if kind is not None and metric.type != kind:
            raise ContractViolation(f"{metric.name} is a {metric.type}, not a {kind}", WRONG_TYPE)
        return metric, self._collectors[metric.name]

    def _labelled(self, metric: Metric, collector: MetricWrapperBase, labels: Mapping[str, object]) -> Any:
        given, declared = set(labels), set(metric.labels)
        if given - declared:
            raise ContractViolation(f"{metric.name} declares no label(s) {', '.join(sorted(given - declared))} "
                                    f"(declared: {', '.join(metric.labels) or 'none'})", UNKNOWN_LABEL)
        if declared - given:
            raise ContractViolation(f"{metric.name} needs label(s) {', '.join(sorted(declared - given))}",
                                    MISSING_LABEL)
        if not labels:
            return collector
        return collector.labels(**{k: self._bounded(metric, k, str(v)) for k, v in labels.items()})

    def _count(self, short_name: str, amount: object, labels: Mapping[str, object], what: str | None = None) -> None:
        metric, collector = self._metric(short_name, COUNTER)
        number = _checked_number(what or f"increment of {metric.name}", amount, counter=True)
        self._labelled(metric, collector, labels).inc(number)

    def _observe(self, short_name: str, value: object, labels: Mapping[str, object]) -> None:
        metric, collector = self._metric(short_name, HISTOGRAM)
        number = _checked_number(f"observation of {metric.name}", value, counter=False)
        self._labelled(metric, collector, labels).observe(number)

    # --- public API -------------------------------------------------------------------------------------------

    def prime(self, short_name: str, **labels: str) -> None:
        """Create the series `{module}_{short_name}{labels}` at zero, so rates exist before the first event."""
        with self._guarded():
            metric, collector = self._metric(short_name, None)
            self._labelled(metric, collector, labels)

    def count(self, short_name: str, amount: float = 1, /, **labels: str) -> None:
        """Increase the counter `{module}_{short_name}` by `amount` with exactly its declared labels."""
        with self._guarded():
            self._count(short_name, amount, labels)

    def observe(self, short_name: str, value: float, /, **labels: str) -> None:
        """Record `value` in the histogram `{module}_{short_name}` with exactly its declared labels."""
        with self._guarded():
            self._observe(short_name, value, labels)

    def set(self, short_name: str, value: float, /, **labels: str) -> None:
        """Set the gauge `{module}_{short_name}` to `value` with exactly its declared labels."""
        with self._guarded():
            metric, collector = self._metric(short_name, GAUGE)
            number = _checked_number(f"value of {metric.name}", value, counter=False)
            self._labelled(metric, collector, labels).set(number)

    def tokens(self, prompt: int = 0, completion: int = 0, **labels: str) -> None:
        """Count prompt and completion tokens in `{module}_tokens_total{type=…}`."""
        for kind, amount in (("prompt", prompt), ("completion", completion)):
            with self._guarded():
                if "type" in labels:
                    raise ContractViolation("tokens() sets the label type itself", UNKNOWN_LABEL)
                _checked_number(f"{kind} tokens", amount, counter=True)
                if amount:
                    self._count("tokens_total", amount, {**labels, "type": kind}, f"{kind} tokens")

    def cost(self, usd: float, **labels: str) -> None:
        """Add `usd` US dollars to `{module}_cost_total`."""
        with self._guarded():
            self._count("cost_total", usd, labels, "cost")

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
        of the three metrics that declares them. One timer may be shared by threads and asyncio tasks,
        and entered again while active: each entry is timed on its own.
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
        self._violation: ContractViolation | None = None
        try:
            self._check_labels()
        except ContractViolation as violation:
            if metrics.strict:
                raise
            # Production mode: the block still runs; each of its records is dropped and counted.
            self._violation = violation

    def _check_labels(self) -> None:
        contract = self.metrics.contract
        used = [contract.metric(m) for m in ("operations_total", "operation_duration_seconds", "errors_total")
                if contract.has_metric(m)]
        filled_in = {"operation", "status", "error_type"}
        accepted = {label for metric in used for label in metric.labels} - filled_in
        unknown = set(self.labels) - accepted
        if unknown:
            raise ContractViolation(f"operation labels {', '.join(sorted(unknown))} are declared by none of "
                                    f"{', '.join(m.name for m in used)}", UNKNOWN_LABEL)
        # Checked now, so that a missing label cannot surface later and mask the block's own exception.
        missing = accepted - set(self.labels)
        if missing:
            raise ContractViolation(f"operation {self.name!r} needs label(s) {', '.join(sorted(missing))} "
                                    f"(declared by {', '.join(m.name for m in used if set(m.labels) & missing)})",
                                    MISSING_LABEL)

    def _record(self, started: float, error: BaseException | None) -> None:
        elapsed = time.perf_counter() - started
        metrics = self.metrics
        # While the block's own exception propagates, nothing may replace it, even in strict mode.
        with metrics._guarded(strict=metrics.strict and error is None):
            if self._violation is not None:
                raise self._violation
            contract, labels = metrics.contract, {"operation": self.name, **self.labels}
            if contract.has_metric("operation_duration_seconds"):
                duration = contract.metric("operation_duration_seconds")
                metrics._observe("operation_duration_seconds", elapsed, _only(duration, labels))
            if contract.has_metric("operations_total"):
                total = contract.metric("operations_total")
                status = {"status": FAILURE if error else SUCCESS}
                metrics._count("operations_total", 1, _only(total, {**labels, **status}))
            if error is not None and contract.has_metric("errors_total"):
                errors = contract.metric("errors_total")
                metrics._count("errors_total", 1, _only(errors, {**labels, "error_type": type(error).__name__}))

    def __enter__(self) -> Operation:
        _ACTIVE.set((*_ACTIVE.get(), (self, time.perf_counter())))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        active = _ACTIVE.get()
        for index in range(len(active) - 1, -1, -1):
            if active[index][0] is self:
                _ACTIVE.set(active[:index] + active[index + 1:])
                self._record(active[index][1], error)
                return
        # Left in another thread or task than it was entered in: there is no start time to measure from.
        with self.metrics._guarded(strict=self.metrics.strict and error is None):
            raise ContractViolation(f"operation {self.name!r} was exited in another thread or task than it was "
                                    "entered in; use it as a decorator, or enter and exit it in one task", INTERNAL)

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


def instrument(contract: ModuleContract, registry: CollectorRegistry = REGISTRY, *, strict: bool | None = None,
               max_label_values: int = DEFAULT_MAX_LABEL_VALUES) -> ModuleMetrics:
    """Return the module's metrics, registered in `registry` (the process-wide default unless given).

    `strict=None` is strict under pytest or with `INSTRUMENTATION_STRICT=1`, production mode otherwise
    (`INSTRUMENTATION_STRICT=0` forces it); `max_label_values` caps the distinct values of each label whose
    values the contract does not declare. See `ModuleMetrics`.
    """
    return ModuleMetrics(contract, registry, strict=strict, max_label_values=max_label_values)
