"""Prompt Manager (:8000): stores, renders and serves prompts."""

from moddash.contract import COUNTER, Metric, ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(
    name="prompt_manager",
    title="Prompt Manager",
    target=ScrapeTarget(port=8000),
    metrics=(
        *standard_metrics("prompt_manager"),
        Metric("prompt_manager_security_validation_total", COUNTER,
               "Security validations requested by the prompt manager, by result.", ("result",)),
        Metric("prompt_manager_rate_limit_hits_total", COUNTER,
               "Requests rejected by the rate limiter, by operation.", ("operation",)),
    ),
    objectives=Objectives(error_ratio=0.05, p95_seconds=0.5, cost_per_hour_usd=5,
                          availability=0.995, latency_seconds=1.0, latency_target=0.99),
    label_values={"operation": ("create", "render", "search", "update"), "result": ("passed", "failed")},
)

_ops = CONTRACT.metric("operations_total")
_duration = CONTRACT.metric("operation_duration_seconds")
_by_operation = (variable("operation"),)

DASHBOARD = ModuleDashboard(
    description="Prompt Manager operations, latency, tokens, cost, cache and security checks.",
    variables=(h.label_variable(_ops, "operation"),),
    rows=(
        Row("Summary", (
            h.rate_per_second(_ops, by=("operation",), title="Operations/s").in_overview(),
            h.duration_p95(_duration, by=("operation",), objective_seconds=CONTRACT.objectives.p95_seconds,
                           title="Operation duration P95").in_overview(),
            h.cost_over_range(CONTRACT.metric("cost_total"), title="Cost").in_overview(),
            h.cache_hit_ratio(CONTRACT.metric("cache_hits_total"), CONTRACT.metric("cache_misses_total"))
            .in_overview(),
        )),
        Row("Per operation ($operation)", (
            h.rate_per_second(_ops, by=("operation", "status"), where=_by_operation,
                              title="Operations/s by status"),
            h.duration_quantiles(_duration, by=("operation",), where=_by_operation,
                                 objective_seconds=CONTRACT.objectives.p95_seconds,
                                 title="Operation duration P50/P95/P99"),
            h.error_ratio(CONTRACT.metric("errors_total"), _ops, by=("operation",), where=_by_operation,
                          critical=CONTRACT.objectives.error_ratio),
            h.rate_per_second(CONTRACT.metric("rate_limit_hits_total"), by=("operation",), where=_by_operation,
                              title="Rate limit hits/s"),
        )),
        Row("Tokens, cost and security", (
            h.token_usage(CONTRACT.metric("tokens_total")),
            h.cost_rate(CONTRACT.metric("cost_total")),
            h.rate_per_second(CONTRACT.metric("security_validation_total"), by=("result",),
                              title="Security validations/s"),
        )),
    ),
)
