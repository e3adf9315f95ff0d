"""instrument(contract): real prometheus_client metrics, checked against the contract on every use."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry

from moddash.contract import COUNTER, HISTOGRAM, Metric, ModuleContract, ScrapeTarget, standard_metrics
from moddash.instrumentation import ContractViolation, instrument
from tests.conftest import REPO

DEMO = ModuleContract(
    name="demo", title="Demo", target=ScrapeTarget(port=9000),
    metrics=(*standard_metrics("demo", extra_labels={"cost_total": ("provider",)}),
             Metric("demo_rate_limit_hits_total", COUNTER, "Rate limited.", ("client",)),
             Metric("demo_queue_seconds", HISTOGRAM, "Queue wait.", (), "s", buckets=(0.1, 1, 10))),
)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """Return a sample's value, 0 when absent."""
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def registry() -> CollectorRegistry:
    """Return a fresh registry."""
    return CollectorRegistry()


def test_operation_block_times_and_counts(registry: CollectorRegistry) -> None:
    metrics = instrument(DEMO, registry)
    with metrics.operation("render"):
        pass
    assert value(registry, "demo_operations_total", operation="render", status="success") == 1
    assert value(registry, "demo_operation_duration_seconds_count", operation="render") == 1
    assert value(registry, "demo_operation_duration_seconds_sum", operation="render") > 0
    assert value(registry, "demo_errors_total", operation="render", error_type="TimeoutError") == 0


def test_operation_block_counts_the_error_and_reraises(registry: CollectorRegistry) -> None:
    metrics = instrument(DEMO, registry)
    with pytest.raises(TimeoutError), metrics.operation("render"):
        raise TimeoutError("upstream")
    assert value(registry, "demo_operations_total", operation="render", status="error") == 1
    assert value(registry, "demo_errors_total", operation="render", error_type="TimeoutError") == 1
    assert value(registry, "demo_operation_duration_seconds_count", operation="render") == 1


def test_operation_decorates_sync_and_async_functions(registry: CollectorRegistry) -> None:
    metrics = instrument(DEMO, registry)

    @metrics.operation("sync")
    def double(x: int) -> int:
        return 2 * x

    @metrics.operation("async")
    async def fail() -> None:
        await asyncio.sleep(0.01)
        raise KeyError("k")

    assert double(21) == 42 and double.__name__ == "double"
    with pytest.raises(KeyError):
        asyncio.run(fail())
    assert value(registry, "demo_operations_total", operation="sync", status="success") == 1
    assert value(registry, "demo_operations_total", operation="async", status="error") == 1
    assert value(registry, "demo_errors_total", operation="async", error_type="KeyError") == 1
    # The coroutine was timed while awaited, not just created.
    assert value(registry, "demo_operation_duration_seconds_sum", operation="async") >= 0.01


def test_tokens_cost_cache_and_declared_extras(registry: CollectorRegistry) -> None:
    metrics = instrument(DEMO, registry)
    metrics.tokens(prompt=120, completion=30)
    metrics.tokens(prompt=5)
    metrics.cost(0.25, provider="openai")
    metrics.cache_hit()
    metrics.cache_hit()
    metrics.cache_miss()
    metrics.count("rate_limit_hits_total", client="batch")
    metrics.observe("queue_seconds", 0.5)
    assert value(registry, "demo_tokens_total", type="prompt") == 125
    assert value(registry, "demo_tokens_total", type="completion") == 30
    assert value(registry, "demo_cost_total", provider="openai") == 0.25
    assert value(registry, "demo_cache_hits_total") == 2 and value(registry, "demo_cache_misses_total") == 1
    assert value(registry, "demo_rate_limit_hits_total", client="batch") == 1
    assert value(registry, "demo_queue_seconds_bucket", le="1.0") == 1
    assert value(registry, "demo_queue_seconds_bucket", le="0.1") == 0


@pytest.mark.parametrize(("action", "message"), [
    (lambda m: m.count("rate_limit_total"), "declares no metric 'demo_rate_limit_total'"),
    (lambda m: m.count("rate_limit_hits_total", client="a", tenant="t"), "declares no label(s) tenant"),
    (lambda m: m.count("rate_limit_hits_total"), "needs label(s) client"),
    (lambda m: m.cost(1.0), "needs label(s) provider"),
    (lambda m: m.observe("cost_total", 1.0), "is a counter, not a histogram"),
    (lambda m: m.operation("x", tenant="t"), "are declared by none of"),
])
def test_undeclared_use_is_refused(registry: CollectorRegistry, action: object, message: str) -> None:
    metrics = instrument(DEMO, registry)
    with pytest.raises(ContractViolation, match=message.replace("(", r"\(").replace(")", r"\)")):
        action(metrics)  # type: ignore[operator]


def test_missing_operation_label_is_refused_before_the_block_runs(registry: CollectorRegistry) -> None:
    contract = ModuleContract("shop", "Shop", ScrapeTarget(1), standard_metrics("shop", {"errors_total": ("shard",)}))
    metrics = instrument(contract, registry)
    ran = []
    with pytest.raises(ContractViolation, match="needs label"), metrics.operation("buy"):
        ran.append(True)
    assert not ran
    with metrics.operation("buy", shard="eu"):
        pass
    assert value(registry, "shop_operations_total", operation="buy", status="success") == 1


def test_instrumenting_twice_into_one_registry_is_a_clear_error(registry: CollectorRegistry) -> None:
    instrument(DEMO, registry)
    with pytest.raises(ContractViolation, match="instrument each contract once per registry"):
        instrument(DEMO, registry)
    instrument(DEMO, CollectorRegistry())  # another registry is fine


def test_negative_amounts_are_refused(registry: CollectorRegistry) -> None:
    metrics = instrument(DEMO, registry)
    with pytest.raises(ValueError, match="negative"):
        metrics.cost(-1, provider="x")
    with pytest.raises(ValueError, match="negative"):
        metrics.tokens(prompt=-3)


def test_instrumentation_imports_no_grafana_library() -> None:
    code = ("import sys; from dashboards.llm_provider import CONTRACT; from moddash.instrumentation import instrument; "
            "instrument(CONTRACT); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'grafana_foundation_sdk', 'jsonschema', 'promql_parser', 'yaml', 'click', 'fastapi', 'flask'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
