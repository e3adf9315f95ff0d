"""instrument(): timing shared by threads and tasks, strict vs production mode, bounded label values."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from moddash.contract import COUNTER, GAUGE, HISTOGRAM, Metric, ModuleContract, ScrapeTarget, standard_metrics
from moddash.instrumentation import ERROR_KINDS, ContractViolation, ModuleMetrics, instrument, strict_default

BUCKETS = (0.05, 0.1, 0.2, 0.4, 1.0, 2.5)
SAFE = ModuleContract(
    name="safe", title="Safe", target=ScrapeTarget(port=9000),
    metrics=(*(m if m.name != "safe_operation_duration_seconds" else
               Metric(m.name, HISTOGRAM, m.help, m.labels, "s", buckets=BUCKETS)
               for m in standard_metrics("safe", extra_labels={"cost_total": ("provider",)})),
             Metric("safe_rate_limit_hits_total", COUNTER, "Rate limited.", ("client",))),
)
DECLARED = ModuleContract(
    name="declared", title="Declared", target=ScrapeTarget(port=9001), metrics=standard_metrics("declared"),
    label_values={"operation": ("render", "search")},
)
# Durations well inside one bucket each, so that scheduling delays cannot move an observation across a bound.
DURATIONS = (0.01, 0.02, 0.03, 0.06, 0.07, 0.08, 0.12, 0.14, 0.16)
SLACK = 0.03


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """Return a sample's value, 0 when absent."""
    return registry.get_sample_value(name, labels) or 0.0


def series(registry: CollectorRegistry, family: str) -> set[tuple[tuple[str, str], ...]]:
    """Return the label sets of a family's series (histogram buckets folded into one series)."""
    return {tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            for metric in registry.collect() if metric.name == family.removesuffix("_total")
            for sample in metric.samples if not sample.name.endswith("_created")}


def assert_timed(registry: CollectorRegistry, operation: str, durations: list[float]) -> None:
    """Check the duration histogram holds exactly `durations`, each in its bucket, summing to their total."""
    name = "safe_operation_duration_seconds"
    assert value(registry, f"{name}_count", operation=operation) == len(durations)
    total = value(registry, f"{name}_sum", operation=operation)
    assert sum(durations) <= total <= sum(durations) + SLACK * len(durations) / 3
    for bound in BUCKETS:
        expected = sum(1 for d in durations if d <= bound)
        assert value(registry, f"{name}_bucket", operation=operation, le=str(bound)) == expected, bound


@pytest.fixture
def registry() -> CollectorRegistry:
    """Return a fresh registry."""
    return CollectorRegistry()


# --- timing ---------------------------------------------------------------------------------------------------

def test_one_shared_block_times_100_overlapping_tasks(registry: CollectorRegistry) -> None:
    metrics = instrument(SAFE, registry)
    shared = metrics.operation("render")
    rng = random.Random(7)
    plan = [(rng.uniform(0, 0.05), rng.choice(DURATIONS)) for _ in range(100)]

    async def one(delay: float, duration: float) -> None:
        await asyncio.sleep(delay)  # staggered entries: a stack shared by all tasks would pair them wrongly
        with shared:
            await asyncio.sleep(duration)

    async def main() -> None:
        await asyncio.gather(*(one(delay, duration) for delay, duration in plan))

    asyncio.run(main())
    assert_timed(registry, "render", [d for _, d in plan])
    assert value(registry, "safe_operations_total", operation="render", status="success") == 100


def test_one_shared_decorator_times_100_overlapping_calls(registry: CollectorRegistry) -> None:
    metrics = instrument(SAFE, registry)
    rng = random.Random(8)
    plan = [(rng.uniform(0, 0.05), rng.choice(DURATIONS)) for _ in range(100)]

    @metrics.operation("search")
    async def timed(duration: float) -> float:
        await asyncio.sleep(duration)
        return duration

    async def one(delay: float, duration: float) -> float:
        await asyncio.sleep(delay)
        return await timed(duration)

    async def main() -> list[float]:
        return list(await asyncio.gather(*(one(delay, duration) for delay, duration in plan)))

    assert asyncio.run(main()) == [d for _, d in plan]
    assert_timed(registry, "search", [d for _, d in plan])


def test_one_shared_block_times_threads_and_reentry(registry: CollectorRegistry) -> None:
    metrics = instrument(SAFE, registry)
    shared = metrics.operation("update")
    rng = random.Random(9)
    plan = [(rng.uniform(0, 0.05), rng.choice(DURATIONS)) for _ in range(30)]

    def one(delay: float, duration: float) -> None:
        time.sleep(delay)
        with shared:
            time.sleep(duration)

    threads = [threading.Thread(target=one, args=step) for step in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_timed(registry, "update", [d for _, d in plan])

    with shared:  # re-entered while active: the inner and the outer entry are each timed
        time.sleep(0.06)
        with shared:
            time.sleep(0.01)
    assert_timed(registry, "update", [d for _, d in plan] + [0.01, 0.07])


# --- strict and production mode -------------------------------------------------------------------------------

def test_strict_mode_follows_pytest_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSTRUMENTATION_STRICT", raising=False)
    assert strict_default() is True  # under pytest
    monkeypatch.setenv("INSTRUMENTATION_STRICT", "0")
    assert strict_default() is False
    assert instrument(SAFE, CollectorRegistry()).strict is False
    monkeypatch.setenv("INSTRUMENTATION_STRICT", "1")
    assert strict_default() is True
    assert instrument(SAFE, CollectorRegistry(), strict=False).strict is False


def test_production_mode_is_the_default_outside_pytest() -> None:
    probe = ("from prometheus_client import CollectorRegistry\n"
             "from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics\n"
             "from moddash.instrumentation import instrument\n"
             "metrics = instrument(ModuleContract(name='svc', title='Svc', target=ScrapeTarget(port=9000), "
             "metrics=standard_metrics('svc')), CollectorRegistry())\n"
             "metrics.cost(float('nan'))\n"
             "print(metrics.strict)")
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "INSTRUMENTATION_STRICT")}

    def strict_in_a_service(**extra: str) -> str:
        run = subprocess.run([sys.executable, "-c", probe], env={**environment, **extra}, capture_output=True,
                             text=True, timeout=60, check=False)
        return run.stdout.strip() if run.returncode == 0 else f"exit {run.returncode}: {run.stderr[-400:]}"

    assert strict_in_a_service() == "False"  # the NaN was dropped, not raised
    assert strict_in_a_service(INSTRUMENTATION_STRICT="0") == "False"
    assert "ContractViolation" in strict_in_a_service(INSTRUMENTATION_STRICT="1")


BAD_USES: list[tuple[Callable[[ModuleMetrics], object], str]] = [
    (lambda m: m.cost(float("nan"), provider="x"), "invalid_value"),
    (lambda m: m.observe("operation_duration_seconds", math.inf, operation="x"), "invalid_value"),
    (lambda m: m.count("rate_limit_hits_total", -math.inf, client="x"), "invalid_value"),
    (lambda m: m.tokens(prompt=-1), "negative_value"),
    (lambda m: m.cost(-0.5, provider="x"), "negative_value"),
    (lambda m: m.count("nope_total"), "unknown_metric"),
    (lambda m: m.observe("cost_total", 1.0), "wrong_type"),
    (lambda m: m.count("rate_limit_hits_total", client="a", tenant="t"), "unknown_label"),
    (lambda m: m.count("rate_limit_hits_total"), "missing_label"),
]


@pytest.mark.parametrize(("action", "kind"), BAD_USES)
def test_strict_mode_raises(registry: CollectorRegistry, action: Callable[[ModuleMetrics], object],
                            kind: str) -> None:
    metrics = instrument(SAFE, registry, strict=True)
    with pytest.raises(ContractViolation) as raised:
        action(metrics)
    assert raised.value.kind == kind


def test_production_mode_drops_logs_once_and_counts(registry: CollectorRegistry,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    metrics = instrument(SAFE, registry, strict=False)
    caplog.set_level(logging.WARNING, logger="moddash.instrumentation")
    for _ in range(3):
        for action, _kind in BAD_USES:
            action(metrics)
    kinds = [kind for _, kind in BAD_USES]
    for kind in set(kinds):
        assert value(registry, "safe_instrumentation_errors_total", kind=kind) == 3 * kinds.count(kind)
        assert sum(f"({kind})" in r.getMessage() for r in caplog.records) == 1, kind
    assert all(r.name == "moddash.instrumentation" for r in caplog.records)
    assert value(registry, "safe_cost_total", provider="x") == 0
    metrics.tokens(prompt=-1, completion=4)  # the valid part of a call is kept
    assert value(registry, "safe_tokens_total", type="completion") == 4


def test_self_metrics_exist_at_zero_before_the_first_drop(registry: CollectorRegistry) -> None:
    # The alert reads increase(): a series born at 1 on the first drop would show none, and never fire for it.
    metrics = instrument(SAFE, registry, strict=False)
    for kind in ERROR_KINDS:
        assert registry.get_sample_value("safe_instrumentation_errors_total", {"kind": kind}) == 0, kind
    for metric in SAFE.metrics:
        for label in metric.labels:
            labels = {"metric": metric.name, "label": label}
            assert registry.get_sample_value("safe_label_overflow_total", labels) == 0, labels
    metrics.cost(float("nan"), provider="x")
    assert value(registry, "safe_instrumentation_errors_total", kind="invalid_value") == 1


@pytest.mark.parametrize("strict", [True, False])
def test_the_blocks_own_exception_propagates_unchanged(registry: CollectorRegistry, strict: bool) -> None:
    metrics = instrument(SAFE, registry, strict=strict)
    error = LookupError("mine")
    with pytest.raises(LookupError) as raised, metrics.operation("render"):
        raise error
    assert raised.value is error
    assert value(registry, "safe_errors_total", operation="render", error_type="LookupError") == 1


def test_production_mode_runs_a_misdeclared_operation_and_drops_its_records(registry: CollectorRegistry) -> None:
    metrics = instrument(SAFE, registry, strict=False)
    ran = []
    with metrics.operation("render", tenant="t"):
        ran.append(True)
    error = KeyError("k")
    with pytest.raises(KeyError) as raised, metrics.operation("render", tenant="t"):
        raise error
    assert ran == [True] and raised.value is error
    assert value(registry, "safe_instrumentation_errors_total", kind="unknown_label") == 2
    assert value(registry, "safe_operations_total", operation="render", status="success") == 0


# --- cardinality ----------------------------------------------------------------------------------------------

def test_undeclared_label_values_are_capped(registry: CollectorRegistry) -> None:
    metrics = instrument(SAFE, registry, max_label_values=100)
    for i in range(20_000):
        with metrics.operation(f"op{i}"):
            pass
    for family in ("safe_operations_total", "safe_operation_duration_seconds"):
        assert len(series(registry, family)) <= 101
        assert value(registry, "safe_label_overflow_total", metric=family, label="operation") == 19_900
    assert value(registry, "safe_operations_total", operation="op99", status="success") == 1
    assert value(registry, "safe_operations_total", operation="other", status="success") == 19_900
    assert value(registry, "safe_operation_duration_seconds_count", operation="other") == 19_900


def test_declared_label_values_pass_and_others_become_other(registry: CollectorRegistry) -> None:
    metrics = instrument(DECLARED, registry)
    for name in ("render", "search", "bogus", "other", "render"):
        with metrics.operation(name):
            pass
    assert value(registry, "declared_operations_total", operation="render", status="success") == 2
    assert value(registry, "declared_operations_total", operation="search", status="success") == 1
    # `other` is the overflow value even though the declared list lacks it; given as such, it is no overflow.
    assert value(registry, "declared_operations_total", operation="other", status="success") == 2
    assert value(registry, "declared_label_overflow_total", metric="declared_operations_total",
                 label="operation") == 1


def test_library_set_labels_are_capped_too(registry: CollectorRegistry) -> None:
    metrics = instrument(SAFE, registry, max_label_values=3)
    errors = [type(f"Error{i}", (Exception,), {}) for i in range(6)]
    for error in errors:
        with pytest.raises(error), metrics.operation("render"):
            raise error()
    error_types = {dict(labels)["error_type"] for labels in series(registry, "safe_errors_total")}
    assert error_types == {"Error0", "Error1", "Error2", "other"}
    assert value(registry, "safe_label_overflow_total", metric="safe_errors_total", label="error_type") == 3


def test_max_label_values_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_label_values"):
        instrument(SAFE, CollectorRegistry(), max_label_values=0)


GAUGES = ModuleContract(
    name="gauges", title="Gauges", target=ScrapeTarget(port=9002),
    metrics=(Metric("gauges_in_flight", GAUGE, "In flight.", multiprocess_mode="livesum"),
             Metric("gauges_queue_depth", GAUGE, "Queue depth.")),
)


def test_several_workers_need_a_declared_gauge_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ContractViolation, match=r"gauges_queue_depth .*declare no multiprocess_mode"):
        instrument(GAUGES, CollectorRegistry(), strict=True)
    caplog.set_level(logging.WARNING, logger="moddash.instrumentation")
    metrics = instrument(GAUGES, CollectorRegistry(), strict=False)  # production: starts, and says why
    assert [r.getMessage() for r in caplog.records if "gauges_queue_depth" in r.getMessage()]
    assert "gauges_in_flight" not in caplog.records[-1].getMessage().split("gauge(s)")[1].split("of module")[0]
    metrics.set("queue_depth", 3)


def test_one_process_needs_no_gauge_mode(monkeypatch: pytest.MonkeyPatch, registry: CollectorRegistry) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics = instrument(GAUGES, registry, strict=True)
    metrics.set("queue_depth", 3)
    metrics.set("in_flight", 2)
    assert value(registry, "gauges_queue_depth") == 3 and value(registry, "gauges_in_flight") == 2
