"""The names and texts of a scaffolded module's dashboard, shared by the hand-written bare-SDK and grafanalib
versions. They import nothing of this project (their baselines run without it); tests/test_bench.py checks that
the titles below are the project's defaults."""

from __future__ import annotations

from typing import NamedTuple


class ScaffoldText(NamedTuple):
    """Metric names, descriptions and query pieces of a `new-module` dashboard."""

    slug: str
    ops: str
    dur: str
    errs: str
    cost: str
    hits: str
    misses: str
    tokens: str
    ops_help: str
    dur_help: str
    by_op: str
    ratio_desc: str
    rate: str
    quantile: str


DEFAULT_MODULE_TITLE = "{title} Dashboard"
DEFAULT_OVERVIEW_TITLE = "Trainer Modules Overview"
RATIO_STEPS: tuple[tuple[str, float | None], ...] = (("green", None), ("yellow", 0.01), ("red", 0.05))


def scaffold_text(name: str) -> ScaffoldText:
    """Return the texts of module `name`'s scaffolded dashboard."""
    ops, dur, errs = f"{name}_operations_total", f"{name}_operation_duration_seconds", f"{name}_errors_total"
    by_op, rate = 'operation=~"$operation"', "[$__rate_interval]"
    return ScaffoldText(
        slug=name.replace("_", "-"), ops=ops, dur=dur, errs=errs, cost=f"{name}_cost_total",
        hits=f"{name}_cache_hits_total", misses=f"{name}_cache_misses_total", tokens=f"{name}_tokens_total",
        ops_help=f"{ops} (Operations handled, by operation and status.)",
        dur_help=f"{dur} (Operation duration in seconds.)",
        by_op=by_op,
        ratio_desc=(f"Share of operations that failed: rate of {errs} divided by rate of {ops}; 0 when none "
                    "failed, empty when there is no traffic. Yellow above 1%, red above 5%."),
        rate=rate,
        quantile=f"sum by (le, operation) (rate({dur}_bucket{{{by_op}}}{rate}))",
    )


class SloPanel(NamedTuple):
    """One stat of a scaffolded module's SLO row: title, description, unit, (query, legend)s, steps, decimals."""

    title: str
    description: str
    unit: str
    queries: tuple[tuple[str, str], ...]
    steps: tuple[tuple[str, float | None], ...]
    decimals: int


SLO_ROW = "Service level objectives (30d)"


def slo_panels(name: str) -> tuple[SloPanel, ...]:
    """Return the SLO row of module `name` with the scaffold's objectives (99.9 %, 99 % within 1 s, 30 d)."""
    slug = name.replace("_", "-")
    burn_steps = (("green", None), ("yellow", 1.0), ("orange", 6.0), ("red", 14.4))
    budget_steps = (("red", None), ("yellow", 0), ("green", 0.25))
    factors = "14.4x over 1h (critical), 6x over 6h (critical), 1x over 3d (warning)"
    panels = []
    for slo, label, good, bad, objective, budget, decimals in (
            ("availability", "Availability", "succeeded", "failed", 0.999, "0.1 %", 2),
            ("latency", "Latency (1 s)", "completed within 1 s", "took longer than 1 s", 0.99, "1 %", 1)):
        def series(record: str, slo: str = slo) -> str:
            return f'{record}{{module="{slug}", slo="{slo}"}}'

        panels += [
            SloPanel(f"{label} SLI vs objective (30d)",
                     f"Share of operations that {good} over the last 30d (module:slo_sli:ratio), beside the objective "
                     f"({objective * 100:g} %). Red below the objective. Empty when there was no operation in the "
                     "window.", "percentunit",
                     ((series("module:slo_sli:ratio"), "SLI"), (series("module:slo_objective:ratio"), "objective")),
                     (("red", None), ("green", objective)), decimals),
            SloPanel(f"{label} burn rate (1h)",
                     f"How fast the {slo} error budget is spent: the share of operations that {bad} over the last 1h "
                     f"divided by the budget ({budget}), from module:slo_burn_rate:rate1h. At 1 the budget lasts "
                     f"exactly 30d. Colours mark the alerts' burn factors: {factors}. Empty without operations in "
                     "the last 1h.", "none", ((series("module:slo_burn_rate:rate1h"), "burn rate"),), burn_steps, 2),
            SloPanel(f"{label} error budget remaining (30d)",
                     f"Share of the {slo} error budget ({budget} of operations over 30d) not spent over the last 30d: "
                     "1 - error ratio / budget (module:slo_error_budget_remaining:ratio). Negative (red) when the "
                     "objective is missed over the window; yellow below 25 %. Empty when there was no operation in "
                     "the window.", "percentunit", ((series("module:slo_error_budget_remaining:ratio"), "remaining"),),
                     budget_steps, 1),
        ]
    return tuple(panels)
