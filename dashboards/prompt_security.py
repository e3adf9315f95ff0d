"""Prompt Security (:8001): validates prompts, detects injections, rate-limits callers."""

from moddash.contract import COUNTER, Metric, ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h
from panels.promql import eq

CONTRACT = ModuleContract(
    name="prompt_security",
    title="Prompt Security",
    target=ScrapeTarget(port=8001),
    metrics=(
        *standard_metrics("prompt_security"),
        Metric("prompt_security_validations_total", COUNTER, "Prompt validations, by result (passed/failed).",
               ("result",)),
        Metric("prompt_security_injections_detected_total", COUNTER, "Prompt injections detected, by technique.",
               ("technique",)),
        Metric("prompt_security_rate_limit_hits_total", COUNTER, "Requests rejected by the rate limiter.",
               ("client",)),
        Metric("prompt_security_events_total", COUNTER, "Security events, by event type and severity.",
               ("event_type", "severity")),
    ),
    objectives=Objectives(error_ratio=0.05, p95_seconds=0.25, cost_per_hour_usd=2,
                          availability=0.999, latency_seconds=0.5, latency_target=0.99),
    label_values={
        "operation": ("validate", "detect_injection", "redact"), "result": ("passed", "failed"),
        "technique": ("jailbreak", "prompt_leak", "role_play"), "client": ("web", "batch", "partner"),
        "event_type": ("injection_blocked", "pii_redacted", "policy_violation", "rate_limited"),
        "severity": ("low", "medium", "high"),
    },
)

_validations = CONTRACT.metric("validations_total")
_injections = CONTRACT.metric("injections_detected_total")

DASHBOARD = ModuleDashboard(
    description="Prompt Security validations, injections, rate limiting and security events.",
    rows=(
        Row("Validation", (
            h.rate_per_second(_validations, by=("result",), title="Security validations/s").in_overview(),
            h.success_ratio(_validations, eq("result", "passed"), title="Validation success rate").in_overview(),
            h.count_over_range(_injections, title="Injections detected", warning=1).in_overview(),
            h.count_over_range(CONTRACT.metric("rate_limit_hits_total"), title="Rate limit hits"),
        )),
        Row("Events", (
            h.event_timeline(CONTRACT.metric("events_total"), by=("event_type",),
                             title="Security event timeline").sized(width=16),
            h.distribution(_injections, "technique", title="Injections by technique").sized(width=8),
            h.rate_per_second(CONTRACT.metric("rate_limit_hits_total"), by=("client",),
                              title="Rate limit hits/s by client"),
            h.error_ratio(CONTRACT.metric("errors_total"), CONTRACT.metric("operations_total"),
                          critical=CONTRACT.objectives.error_ratio),
        )),
    ),
)
