"""Queries recognised as our helpers only when the helper writes exactly them."""

from __future__ import annotations

import pytest

from dashboards.llm_provider import CONTRACT as LLM
from dashboards.llm_provider import DASHBOARD as LLM_DASHBOARD
from dashboards.prompt_manager import CONTRACT as PM
from dashboards.prompt_manager import DASHBOARD as PM_DASHBOARD
from dashboards.prompt_security import CONTRACT as PS
from dashboards.prompt_security import DASHBOARD as PS_DASHBOARD
from dashbuild.importer.recognise import OriginalTarget, recognise
from moddash.contract import Metric
from panels import Panel
from panels import helpers as h
from panels.promql import variable

METRICS = {m.name: m for contract in (PM, PS, LLM) for m in contract.metrics}
OURS = [p for d in (PM_DASHBOARD, PS_DASHBOARD, LLM_DASHBOARD) for row in d.rows for p in row.panels]


def originals(panel: Panel) -> list[OriginalTarget]:
    """Return a panel's queries as an imported dashboard would hold them."""
    return [OriginalTarget(t.expr, t.legend, t.instant) for t in panel.targets]


@pytest.mark.parametrize("panel", [p for p in OURS if p.origin and not p.origin.startswith("health")],
                         ids=lambda p: p.title)
def test_every_helper_panel_of_the_module_files_is_recognised_as_itself(panel: Panel) -> None:
    found = recognise(originals(panel), METRICS, panel.kind, panel.unit)
    assert found is not None, panel.origin
    assert found.panel.targets == panel.targets
    assert found.panel.origin.split(".")[0] == panel.origin.split(".")[0]


def test_the_call_carries_its_arguments() -> None:
    ops = PM.metric("operations_total")
    panel = h.rate_per_second(ops, by=("operation", "status"), where=(variable("operation"),))
    found = recognise(originals(panel), METRICS, "timeseries", "ops")
    assert found is not None and found.helper == "rate_per_second" and found.metrics == (ops.name,)
    assert dict(found.kwargs) == {"by": ("operation", "status"), "where": (variable("operation"),)}


def test_whitespace_and_spelling_do_not_matter_but_windows_do() -> None:
    spaced = "sum  by(operation)(rate(prompt_manager_operations_total[$__rate_interval]))"
    found = recognise([OriginalTarget(spaced, "{{operation}}")], METRICS, "timeseries", "ops")
    assert found is not None and found.helper == "rate_per_second"
    fixed = "sum by (operation) (rate(prompt_manager_operations_total[5m]))"
    assert recognise([OriginalTarget(fixed, "{{operation}}")], METRICS) is None


def test_unknown_metrics_and_unparsable_queries_stay_explicit() -> None:
    assert recognise([OriginalTarget("sum(rate(other_total[$__rate_interval]))", "total")], METRICS) is None
    assert recognise([OriginalTarget("sum(rate(prompt_manager_operations_total[", "total")], METRICS) is None
    assert recognise([], METRICS) is None


def test_the_panel_kind_chooses_between_helpers_with_the_same_query() -> None:
    tokens = {"x_tokens_total": Metric("x_tokens_total", "counter", "Tokens.", ("type",))}
    query = [OriginalTarget("sum by (type) (rate(x_tokens_total[$__rate_interval]))", "{{type}}")]
    found = recognise(query, tokens, "timeseries", "short")
    assert found is not None and found.helper == "token_usage"  # token_usage is the one in unit short


KIND_DEMO = {m.name: m for m in PM.metrics}
ERRORS, TOTAL = PM.metric("errors_total"), PM.metric("operations_total")
DURATION = PM.metric("operation_duration_seconds")
KIND_PANELS = [
    h.gauge(ERRORS, TOTAL), h.bar_gauge(ERRORS, TOTAL, "operation"), h.table((TOTAL, ERRORS), by=("operation",)),
    h.heatmap(DURATION), h.histogram(TOTAL), h.state_timeline(ERRORS, TOTAL, by=("operation",)),
    h.status_history(TOTAL, by=("operation",)),
]


@pytest.mark.parametrize("panel", KIND_PANELS, ids=lambda p: p.kind)
def test_the_panel_kind_helpers_are_recognised_too(panel: Panel) -> None:
    found = recognise(originals(panel), KIND_DEMO, panel.kind, panel.unit)
    assert found is not None and found.panel.kind == panel.kind and found.panel.targets == panel.targets
