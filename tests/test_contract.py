"""Metric contracts: the naming convention is enforced when a module file is loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from moddash.contract import COUNTER, GAUGE, Metric, ModuleContract, ScrapeTarget, UnknownMetricError, standard_metrics
from tests.conftest import REPO


def test_standard_metrics_follow_the_convention() -> None:
    metrics = {m.name: m for m in standard_metrics("demo", extra_labels={"tokens_total": ("provider",)})}
    assert set(metrics) == {"demo_operations_total", "demo_operation_duration_seconds", "demo_tokens_total",
                            "demo_cost_total", "demo_errors_total", "demo_cache_hits_total", "demo_cache_misses_total"}
    assert metrics["demo_operation_duration_seconds"].type == "histogram"
    assert metrics["demo_tokens_total"].labels == ("type", "provider")


@pytest.mark.parametrize(("name", "kind", "labels", "match"), [
    ("demo_requests", COUNTER, (), "must end in _total"),
    ("demo_queue_total", GAUGE, (), "must not end in _total"),
    ("demo_x_total", COUNTER, ("le",), "reserved"),
    ("demo_x_total", COUNTER, ("a", "a"), "duplicate"),
    ("demo-x_total", COUNTER, (), "not a valid Prometheus metric name"),
])
def test_invalid_metrics_are_refused(name: str, kind: str, labels: tuple[str, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Metric(name, kind, "help", labels)  # type: ignore[arg-type]


def test_contract_checks_prefix_names_and_lookups() -> None:
    with pytest.raises(ValueError, match="module prefix"):
        ModuleContract("demo", "Demo", ScrapeTarget(1), standard_metrics("other"))
    with pytest.raises(ValueError, match="snake_case"):
        ModuleContract("Demo-Mod", "Demo", ScrapeTarget(1), ())
    contract = ModuleContract("demo", "Demo", ScrapeTarget(8000), standard_metrics("demo"))
    assert contract.metric("cost_total").name == "demo_cost_total"
    assert contract.slug == "demo" and contract.job == "demo"
    with pytest.raises(UnknownMetricError, match="demo_costs_total"):
        contract.metric("costs_total")


def test_module_contract_imports_no_grafana_library() -> None:
    code = ("import sys; from dashboards.prompt_manager import CONTRACT; "
            "assert CONTRACT.name == 'prompt_manager'; "
            "print(sorted(m for m in sys.modules if m.startswith(('grafana', 'jsonschema', 'promql'))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["demo\n", "demo_x_total\n"])
def test_trailing_newlines_are_not_valid_names(name: str) -> None:
    with pytest.raises(ValueError):
        if name.endswith("_total\n"):
            Metric(name, COUNTER, "help")
        else:
            ModuleContract(name, "Demo", ScrapeTarget(1), ())


@pytest.mark.parametrize(("kind", "mode", "match"), [
    (COUNTER, "livesum", "only gauges"),
    ("histogram", "max", "only gauges"),
    (GAUGE, "all", "not one of"),
    (GAUGE, "liveall", "not one of"),
    (GAUGE, "average", "not one of"),
])
def test_multiprocess_mode_is_for_gauges_and_never_adds_a_pid_label(kind: str, mode: str, match: str) -> None:
    name = "demo_x_total" if kind == COUNTER else "demo_x"
    with pytest.raises(ValueError, match=match):
        Metric(name, kind, "help", multiprocess_mode=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["livesum", "sum", "livemax", "max", "livemin", "min", "livemostrecent",
                                  "mostrecent"])
def test_gauges_declare_how_workers_combine(mode: str) -> None:
    metric = Metric("demo_in_flight", GAUGE, "In flight.", multiprocess_mode=mode)  # type: ignore[arg-type]
    assert metric.multiprocess_mode == mode
