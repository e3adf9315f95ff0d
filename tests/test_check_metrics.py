"""`python build.py check-metrics`: a module's contract against a real exporter on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

from dashboards.prompt_manager import CONTRACT
from moddash.instrumentation import instrument
from tests.conftest import REPO, BuildRunner


def serve(registry: CollectorRegistry) -> Iterator[str]:
    """Serve `registry` on a random loopback port; yield its /metrics URL; stop it afterwards."""
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    assert isinstance(server, WSGIServer) and isinstance(thread, threading.Thread)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def good_exporter() -> Iterator[str]:
    """Return the URL of an exporter instrumented from the Prompt Manager contract, with traffic."""
    registry = CollectorRegistry()
    metrics = instrument(CONTRACT, registry)
    with metrics.operation("render"):
        metrics.tokens(prompt=10, completion=2)
    with pytest.raises(RuntimeError), metrics.operation("render"):
        raise RuntimeError("boom")
    metrics.count("security_validation_total", result="passed")
    metrics.count("rate_limit_hits_total", operation="render")
    yield from serve(registry)


@pytest.fixture
def drifted_exporter() -> Iterator[str]:
    """Return the URL of a hand-written exporter that drifted from the contract."""
    registry = CollectorRegistry()
    Counter("prompt_manager_operations_total", "Ops.", ["operation"], registry=registry).labels("render").inc()
    Gauge("prompt_manager_cost_total", "Cost.", registry=registry).set(3)
    yield from serve(registry)


def test_matching_exporter_passes(good_exporter: str, build_cli: BuildRunner) -> None:
    result = build_cli(REPO, "check-metrics", "prompt_manager", good_exporter)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "prompt_manager: 9 declared metrics, 0 problem(s), 0 note(s)" in result.stdout


def test_drifted_exporter_fails_naming_each_problem(drifted_exporter: str, build_cli: BuildRunner) -> None:
    result = build_cli(REPO, "check-metrics", "prompt_manager", drifted_exporter)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "problem: prompt_manager_cost_total: wrong type: declared counter, exposed gauge" in lines
    assert "problem: prompt_manager_operations_total: lacks declared label(s) status (exposed: operation)" in lines
    assert "problem: prompt_manager_tokens_total: missing: the exporter does not expose it" in lines
    assert "problem: prompt_manager_operation_duration_seconds: missing: the exporter does not expose it" in lines


def test_fresh_exporter_notes_unverifiable_labels(build_cli: BuildRunner) -> None:
    registry = CollectorRegistry()
    instrument(CONTRACT, registry)
    result = build_cli(REPO, "check-metrics", "prompt_manager", "-", input_text=generate_latest(registry).decode())
    assert result.returncode == 0
    assert "note: prompt_manager_operations_total: no samples yet, so its labels cannot be checked" in result.stdout


def test_unreachable_exporter_and_unknown_module(build_cli: BuildRunner) -> None:
    result = build_cli(REPO, "check-metrics", "prompt_manager", "http://127.0.0.1:9/metrics", "--timeout", "2")
    assert result.returncode == 2 and "cannot read metrics from http://127.0.0.1:9/metrics" in result.stderr
    result = build_cli(REPO, "check-metrics", "billing", "-", input_text="")
    assert result.returncode == 2 and "no module 'billing'" in result.stderr
