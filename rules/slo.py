"""Service level objectives from a module's `Objectives`: the SLO spec, SLI recording rules, burn-rate alerts.

Multiwindow, multi-burn-rate alerts as in Google's SRE workbook (chapter "Alerting on SLOs"), in the manner
of Sloth and Pyrra. An alert fires when the error ratio over a long window spends a given share of the error
budget, and the ratio over a short window (a twelfth of the long one) confirms that it still does. The burn
factor is derived, not written down: spending `share` of the budget of `slo_window` within `long` means
burning `share * slo_window / long` times faster than the budget allows (2 % of 30 d in 1 h: 14.4).

Availability: the share of operations that did not fail, `1 - errors_total / operations_total` (the error
ratio the module's other alerts and panels use; `instrument()` counts both for every failed operation).
Latency: the share of operations that completed within `latency_seconds`, from the histogram bucket whose
`le` is that threshold (`_bucket{le=T} / _count`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import attrs

from moddash.contract.model import ModuleContract, window_seconds
from panels import promql
from panels.promql import Matcher
from panels.settings import RUNBOOKS
from rules.model import AlertRule, RecordingRule, runbook, template_literal

Severity = Literal["critical", "warning"]
SliKind = Literal["availability", "latency"]
PAGE: Severity = "critical"
TICKET: Severity = "warning"

# The rule group's evaluation interval. Long windows sum the recorded 5-minute rates over time, so at
# 1-minute steps a 30 d window reads 43,200 samples per series, where the 5 s scrape interval would read 518,400.
EVALUATION_INTERVAL = "1m"
SHORT_WINDOW_DIVISOR = 12  # the workbook's short window is 1/12 of the long one (1 h → 5 m, 6 h → 30 m, 3 d → 6 h)
# One evaluation without data (a scrape gap, a restart) must not page; a ticket need not be faster than this.
FOR = {PAGE: "2m", TICKET: "15m"}
OBJECTIVE = "module:slo_objective:ratio"
SLI = "module:slo_sli:ratio"  # the SLI over the SLO window
BUDGET_REMAINING = "module:slo_error_budget_remaining:ratio"


def format_window(seconds: int) -> str:
    """Return a duration in seconds in its largest whole unit, d, h or m (259200 → `3d`, 1800 → `30m`)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@attrs.frozen
class BurnPolicy:
    """One alert of the workbook: `severity` when `budget_spent` of the error budget goes within `long`."""

    severity: Severity
    long: str
    budget_spent: Fraction

    @property
    def short(self) -> str:
        """Return the confirming short window, a twelfth of the long one."""
        return format_window(window_seconds(self.long) // SHORT_WINDOW_DIVISOR)

    def factor(self, slo_window: str) -> Fraction:
        """Return the burn rate that spends `budget_spent` of the `slo_window` budget within `long`."""
        return self.budget_spent * window_seconds(slo_window) / window_seconds(self.long)


# Page at 2 % of the budget in 1 h or 5 % in 6 h; open a ticket at 10 % in 3 d (the workbook's choices).
POLICIES = (
    BurnPolicy(PAGE, "1h", Fraction(2, 100)),
    BurnPolicy(PAGE, "6h", Fraction(5, 100)),
    BurnPolicy(TICKET, "3d", Fraction(10, 100)),
)
BURN_WINDOW = POLICIES[0].long  # the "current" burn rate shown on dashboards: the fastest alert's long window
BURN_RATE = f"module:slo_burn_rate:rate{BURN_WINDOW}"
# The shortest window of all (5 m): the only rates read from raw series; every longer window sums them.
BASE_WINDOW = min((p.short for p in POLICIES), key=window_seconds)
REQUESTS = f"module:slo_requests:rate{BASE_WINDOW}"
ERRORS = f"module:slo_errors:rate{BASE_WINDOW}"


def error_ratio_series(window: str) -> str:
    """Return the name of the recorded error ratio over `window` (`module:slo_error_ratio:rate1h`)."""
    return f"module:slo_error_ratio:rate{window}"


def number(value: Fraction) -> str:
    """Return an exact fraction as the shortest float literal PromQL and YAML read back to the same float."""
    return repr(float(value))


def _decimal(value: float) -> Fraction:
    # The decimal the module file wrote (0.999), not its binary neighbour: 1 - 0.999 is then exactly 0.001.
    return Fraction(repr(float(value)))


@attrs.frozen
class BurnAlert:
    """A policy applied to one SLO window: its windows and derived burn factor."""

    severity: Severity
    long: str
    short: str
    budget_spent: Fraction
    factor: Fraction


@attrs.frozen
class Sli:
    """One SLO of a module: what is counted, and the objective for the share of good events."""

    kind: SliKind
    objective: Fraction
    requests: str  # PromQL: events per second over BASE_WINDOW, one series without labels
    errors: str  # PromQL: bad events per second over BASE_WINDOW; 0 (not absent) while there are events
    good: str  # what a good event is, for descriptions: "succeeded", "completed within 0.5 s"
    bad: str  # what a bad event is: "failed", "took longer than 0.5 s"
    name: str  # for panel titles: "Availability", "Latency (0.5 s)"

    @property
    def budget(self) -> Fraction:
        """Return the error budget: the share of events allowed to be bad."""
        return 1 - self.objective


@attrs.frozen
class SloSpec:
    """A module's SLOs with the windows and burn factors derived from its objectives."""

    module: str
    camel_name: str
    title: str
    window: str
    slis: tuple[Sli, ...]
    alerts: tuple[BurnAlert, ...]

    def ratio_windows(self) -> tuple[str, ...]:
        """Return every window an error ratio is recorded over, shortest first, the base window first."""
        windows = {BASE_WINDOW, self.window, *(a.long for a in self.alerts), *(a.short for a in self.alerts)}
        return tuple(sorted(windows, key=window_seconds))

    def selector(self, series: str, sli: Sli) -> str:
        """Return `series{module="…", slo="…"}`: one SLO's recorded series."""
        return promql.selector(series, _labels_matchers(self.module, sli.kind))


def _labels_matchers(module: str, kind: str) -> tuple[Matcher, ...]:
    return promql.eq("module", module), promql.eq("slo", kind)


def le_values(bound: float) -> tuple[str, ...]:
    """Return the ways exporters and Prometheus write a bucket bound as the `le` label value.

    `1.0` (prometheus_client, and Prometheus 3 normalises to it), `1` (Go clients), and plain decimals
    (`0.00001` beside `1e-05`): the SLI selects the bucket whichever wrote it.
    """
    text = repr(float(bound))
    dot = text.find(".")
    if bound > 0 and dot > 6:  # Go, and so prometheus_client, switch to exponents from 1e+06
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1:]}".rstrip("0").rstrip(".")
        text = f"{mantissa}e+0{dot - 1}"
    fixed = format(Decimal(repr(float(bound))).normalize(), "f")
    return tuple(dict.fromkeys((text, text.removesuffix(".0"), fixed)))


def _le_matcher(bound: float) -> Matcher:
    values = le_values(bound)
    if len(values) == 1:
        return promql.eq("le", values[0])
    return promql.regex("le", "|".join(re.escape(v) for v in values))


def _availability(contract: ModuleContract) -> Sli | None:
    if not (contract.has_metric("operations_total") and contract.has_metric("errors_total")):
        return None
    total = promql.sum_by(promql.rate(promql.selector(contract.metric("operations_total").name), BASE_WINDOW))
    errors = promql.sum_by(promql.rate(promql.selector(contract.metric("errors_total").name), BASE_WINDOW))
    # errors_total has no series before the first error: operations that never failed are 0 % bad, not none.
    return Sli("availability", _decimal(contract.objectives.availability), total,
               promql.or_zero_like(errors, total), "succeeded", "failed", "Availability")


def _latency(contract: ModuleContract) -> Sli | None:
    bound = contract.latency_bucket()
    if bound is None:
        return None
    histogram = contract.metric("operation_duration_seconds").name
    total = promql.sum_by(promql.rate(promql.selector(f"{histogram}_count"), BASE_WINDOW))
    fast = promql.sum_by(promql.rate(promql.selector(f"{histogram}_bucket", (_le_matcher(bound),)), BASE_WINDOW))
    return Sli("latency", _decimal(contract.objectives.latency_target), total, f"{total} - {fast}",
               f"completed within {bound:g} s", f"took longer than {bound:g} s", f"Latency ({bound:g} s)")


def burn_alerts(window: str) -> tuple[BurnAlert, ...]:
    """Return the workbook's alerts for an SLO window, each with its derived burn factor."""
    return tuple(BurnAlert(p.severity, p.long, p.short, p.budget_spent, p.factor(window)) for p in POLICIES)


def slo_spec(contract: ModuleContract) -> SloSpec:
    """Return the module's SLOs, windows and burn factors; raise ValueError for an objective no alert can serve.

    An SLO needs its metrics (availability: operations_total and errors_total; latency: the
    operation_duration_seconds histogram); a contract without them has no such SLO. Refused: an SLO window
    shorter than the longest alert window, and an objective so loose that even a total outage cannot reach
    a page's burn factor.
    """
    goals = contract.objectives
    window = format_window(window_seconds(goals.slo_window))
    longest = max(POLICIES, key=lambda p: window_seconds(p.long))
    if window_seconds(goals.slo_window) < window_seconds(longest.long):
        raise ValueError(f"objectives.slo_window={goals.slo_window!r} cannot be measured: it is shorter than the "
                         f"{longest.long} window of the {longest.severity} burn-rate alert (the longest alert "
                         f"window); use at least {longest.long!r}, e.g. '30d'")
    alerts = burn_alerts(window)
    slis = tuple(sli for sli in (_availability(contract), _latency(contract)) if sli is not None)
    slowest_page = min(a.factor for a in alerts if a.severity == PAGE)
    for sli in slis:
        field = "availability" if sli.kind == "availability" else "latency_target"
        if slowest_page * sli.budget >= 1:
            raise ValueError(f"objectives.{field}={float(sli.objective):g} cannot be measured: its error budget is "
                             f"{float(sli.budget):.4g}, so even 100 % bad operations burn it at only "
                             f"{float(1 / sli.budget):.3g}x, below every page's burn factor (at least "
                             f"{float(slowest_page):.3g}x over {window}); raise the objective")
    return SloSpec(contract.slug, contract.camel_name, contract.title, window, slis, alerts)


def recording_rules(spec: SloSpec) -> list[RecordingRule]:
    """Return the SLI rules: 5-minute event rates from raw series, then error ratios over every window.

    Only the 5-minute rates read raw series; each longer window sums those recorded rates over time
    (traffic-weighted: errors summed over the window divided by events summed over it, as Sloth's and
    Pyrra's increase-based ratios are), so a 3 d or 30 d ratio reads one recorded series per SLO instead
    of every raw series. Every rule reads raw series or rules above it in the same group. Without events
    in a window the ratio has no value (never NaN), and so no burn rate and no alert.
    """
    rules: list[RecordingRule] = []
    for sli in spec.slis:
        labels = (("module", spec.module), ("slo", sli.kind))
        requests, errors = spec.selector(REQUESTS, sli), spec.selector(ERRORS, sli)
        rules += [RecordingRule(REQUESTS, sli.requests, labels), RecordingRule(ERRORS, sli.errors, labels)]
        for window in spec.ratio_windows():
            expr = (f"{errors} / ({requests} > 0)" if window == BASE_WINDOW else
                    promql.ratio(promql.over_time("sum", errors, window), promql.over_time("sum", requests, window)))
            rules.append(RecordingRule(error_ratio_series(window), expr, labels))
        over_window = spec.selector(error_ratio_series(spec.window), sli)
        budget = number(sli.budget)
        rules += [
            RecordingRule(OBJECTIVE, f"vector({number(sli.objective)})", labels),
            RecordingRule(SLI, f"1 - {over_window}", labels),
            RecordingRule(BURN_RATE, f"{spec.selector(error_ratio_series(BURN_WINDOW), sli)} / {budget}", labels),
            RecordingRule(BUDGET_REMAINING, f"1 - {over_window} / {budget}", labels),
        ]
    return rules


def times(value: Fraction) -> str:
    """Return a burn factor as text (`14.4x`)."""
    return f"{float(value):.4g}x"


def percent(value: Fraction) -> str:
    """Return a share as a percentage (`0.1 %`)."""
    return f"{float(value * 100):.6g} %"


def _burn_alert(spec: SloSpec, sli: Sli, severity: Severity, runbooks: str) -> AlertRule | None:
    alerts = [a for a in spec.alerts if a.severity == severity]
    if not alerts:
        return None
    conditions = [f"({spec.selector(error_ratio_series(a.long), sli)} > {number(a.factor * sli.budget)} and "
                  f"{spec.selector(error_ratio_series(a.short), sli)} > {number(a.factor * sli.budget)})"
                  for a in alerts]
    title = template_literal(spec.title)
    kind = "ErrorBudgetBurn" if sli.kind == "availability" else "LatencyBudgetBurn"
    windows = " or ".join(f"{a.long} (and still over the last {a.short})" for a in alerts)
    factors = " or ".join(f"{times(a.factor)} ({percent(a.budget_spent)} of it in {a.long})" for a in alerts)
    speed = "fast" if severity == PAGE else "steadily"
    return AlertRule(
        alert=f"{spec.camel_name}{kind}", for_=FOR[severity], severity=severity, module=spec.module,
        expr=" or ".join(conditions),
        summary=f"{title} is spending its {sli.kind} error budget {speed}",
        description=f"{{{{ $value | humanizePercentage }}}} of {title} operations {sli.bad} over the last {windows}. "
                    f"The objective, {percent(sli.objective)} of operations {sli.good} over {spec.window}, leaves an "
                    f"error budget of {percent(sli.budget)}; this spends it more than {factors} as fast as the "
                    "objective allows.",
        runbook_url=runbook(runbooks, f"Module{kind}"),
    )


def alert_rules(spec: SloSpec, runbooks: str = RUNBOOKS) -> list[AlertRule]:
    """Return per SLO the page (severity critical) and the ticket (severity warning) burn-rate alerts.

    They read only the recorded error ratios, so no traffic means no ratio and no alert.
    """
    return [alert for sli in spec.slis for severity in (PAGE, TICKET)
            if (alert := _burn_alert(spec, sli, severity, runbooks)) is not None]


def recorded_series(spec: SloSpec) -> frozenset[str]:
    """Return the names of every series the SLO rules of `spec` record."""
    return frozenset({REQUESTS, ERRORS, OBJECTIVE, SLI, BURN_RATE, BUDGET_REMAINING,
                      *(error_ratio_series(w) for w in spec.ratio_windows())})
