"""The SLO row of a module dashboard: per SLO, the SLI beside its objective, the burn rate and the budget left.

The SLOs themselves (windows, burn factors, recorded series) come from rules/slo.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from moddash.contract.model import ModuleContract
from panels.helpers import GREEN, ORANGE, RED, YELLOW
from panels.spec import Panel, Row, Step, Target
from rules.slo import (
    BUDGET_REMAINING,
    BURN_RATE,
    BURN_WINDOW,
    OBJECTIVE,
    SLI,
    BurnAlert,
    Sli,
    SloSpec,
    percent,
    slo_spec,
    times,
)


def burn_steps(alerts: Sequence[BurnAlert]) -> tuple[Step, ...]:
    """Return burn-rate thresholds at the alerts' factors: yellow from a ticket's, orange and red from pages'."""
    factors = sorted({float(a.factor) for a in alerts})
    colors = [RED] if len(factors) == 1 else [YELLOW, *[ORANGE] * (len(factors) - 2), RED]
    return (Step(GREEN), *(Step(color, factor) for color, factor in zip(colors, factors, strict=True)))


def _percent_decimals(objective: Fraction) -> int:
    """Return the decimals that show the objective in percent, plus one (99.9 % → 2, 99 % → 1)."""
    percent = objective * 100
    digits = next((d for d in range(6) if (percent * 10 ** d).denominator == 1), 5)
    return digits + 1


def _sli_panel(spec: SloSpec, sli: Sli) -> Panel:
    return Panel(
        kind="stat",
        title=f"{sli.name} SLI vs objective ({spec.window})",
        description=(f"Share of operations that {sli.good} over the last {spec.window} ({SLI}), beside the objective "
                     f"({percent(sli.objective)}). Red below the objective. Empty when there was no operation in "
                     "the window."),
        unit="percentunit",
        targets=(Target(spec.selector(SLI, sli), "SLI", instant=True),
                 Target(spec.selector(OBJECTIVE, sli), "objective", instant=True)),
        thresholds=(Step(RED), Step(GREEN, float(sli.objective))),
        decimals=_percent_decimals(sli.objective),
    )


def _burn_panel(spec: SloSpec, sli: Sli) -> Panel:
    factors = ", ".join(f"{times(a.factor)} over {a.long} ({a.severity})" for a in spec.alerts)
    return Panel(
        kind="stat",
        title=f"{sli.name} burn rate ({BURN_WINDOW})",
        description=(f"How fast the {sli.kind} error budget is spent: the share of operations that {sli.bad} over the "
                     f"last {BURN_WINDOW} divided by the budget ({percent(sli.budget)}), from {BURN_RATE}. At 1 the "
                     f"budget lasts exactly {spec.window}. Colours mark the alerts' burn factors: {factors}. Empty "
                     f"without operations in the last {BURN_WINDOW}."),
        unit="none",
        targets=(Target(spec.selector(BURN_RATE, sli), "burn rate", instant=True),),
        thresholds=burn_steps(spec.alerts),
        decimals=2,
    )


def _budget_panel(spec: SloSpec, sli: Sli) -> Panel:
    return Panel(
        kind="stat",
        title=f"{sli.name} error budget remaining ({spec.window})",
        description=(f"Share of the {sli.kind} error budget ({percent(sli.budget)} of operations over {spec.window}) "
                     f"not spent over the last {spec.window}: 1 - error ratio / budget ({BUDGET_REMAINING}). Negative "
                     "(red) when the objective is missed over the window; yellow below 25 %. Empty when there was "
                     "no operation in the window."),
        unit="percentunit",
        targets=(Target(spec.selector(BUDGET_REMAINING, sli), "remaining", instant=True),),
        thresholds=(Step(RED), Step(YELLOW, 0), Step(GREEN, 0.25)),
        decimals=1,
    )


def slo_row(contract: ModuleContract) -> Row | None:
    """Return the module dashboard's SLO row (per SLO: SLI vs objective, burn rate, budget left), or None."""
    spec = slo_spec(contract)
    # Keyed by SLO and kind: the titles hold the window, which a module may change.
    panels = [make(spec, sli).keyed(f"slo.{sli.kind}.{kind}") for sli in spec.slis
              for kind, make in (("sli", _sli_panel), ("burn_rate", _burn_panel), ("budget", _budget_panel))]
    if not panels:
        return None
    return Row(f"Service level objectives ({spec.window})", tuple(panels), key="slo")
