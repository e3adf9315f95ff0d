"""LLM Provider (:8002): routes completions to upstream LLM providers."""

from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from moddash.contract.model import COUNTER, HISTOGRAM, Metric
from panels import ModuleDashboard, Row
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(
    name="llm_provider",
    title="LLM Provider",
    target=ScrapeTarget(port=8002),
    metrics=(
        *standard_metrics("llm_provider", extra_labels={
            "tokens_total": ("provider",),
            "cost_total": ("provider",),
            "errors_total": ("provider",),
        }),
        Metric("llm_provider_requests_total", COUNTER, "Requests sent to LLM providers, by provider, model "
               "and status.", ("provider", "model", "status")),
        Metric("llm_provider_request_duration_seconds", HISTOGRAM, "LLM provider request duration in seconds.",
               ("provider",), "s", buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)),
    ),
    objectives=Objectives(error_ratio=0.02, p95_seconds=5, cost_per_hour_usd=50,
                          availability=0.99, latency_seconds=10, latency_target=0.99, slo_window="28d"),
    label_values={
        "operation": ("complete", "embed", "moderate"), "provider": ("openai", "anthropic", "mistral"),
        "model": ("gpt-4o", "claude-sonnet", "mistral-large"), "status": ("success", "error"),
    },
)

_requests = CONTRACT.metric("requests_total")
_by_provider = (variable("provider"),)

DASHBOARD = ModuleDashboard(
    description="LLM Provider requests, latency, tokens, cost and errors per upstream provider.",
    variables=(h.label_variable(_requests, "provider"),),
    rows=(
        Row("Usage summary", (
            h.rate_per_second(_requests, by=("provider",), unit="reqps", title="Requests/s by provider")
            .in_overview(),
            h.token_usage(CONTRACT.metric("tokens_total")).in_overview(),
            h.cost_over_range(CONTRACT.metric("cost_total"), by=("provider",), title="Cost per provider")
            .in_overview(),
            h.distribution(_requests, "provider", title="Provider distribution"),
        )),
        Row("Per provider ($provider)", (
            h.duration_quantiles(CONTRACT.metric("request_duration_seconds"), by=("provider",),
                                 where=_by_provider, objective_seconds=CONTRACT.objectives.p95_seconds,
                                 title="Request duration"),
            h.error_ratio(CONTRACT.metric("errors_total"), _requests, by=("provider",), where=_by_provider,
                          warning=0.005, critical=CONTRACT.objectives.error_ratio),
            h.cost_rate(CONTRACT.metric("cost_total"), by=("provider",), where=_by_provider,
                        title="Cost per hour by provider"),
            h.token_usage(CONTRACT.metric("tokens_total"), by=("provider", "type"), where=_by_provider,
                          title="Tokens by provider"),
            # Provider latency is often bimodal (cached and uncached, short and long completions): the P95 above
            # hides a second mode that the bucket heatmap shows.
            h.heatmap(CONTRACT.metric("request_duration_seconds"), where=_by_provider,
                      title="Request duration distribution").sized(width=24),
        )),
    ),
)
