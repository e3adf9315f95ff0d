"""The names and texts of a scaffolded module's dashboard, shared by the bare-SDK and grafanalib versions."""

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
