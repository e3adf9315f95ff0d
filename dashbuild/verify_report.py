"""What `verify` found, as a text matrix for people and as JSON for CI, and the exit code.

Exit codes: 0 when nothing below applies; 1 when a query fails, a module target is down (or a module has no
target), and with `strict` also when a target is stale, has no series or only NaN/Inf; 2 is decided by the
caller (Prometheus cannot be queried at all, or a dashboard file cannot be read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import attrs

from dashbuild.verify_causes import STATUSES, Status
from dashbuild.verify_health import HealthReport, describe_down
from dashbuild.verify_plan import format_duration

JSON_VERSION = 1
Mode = Literal["now", "range"]


@attrs.frozen
class TargetResult:
    """The status of one panel target (refId) of one dashboard."""

    dashboard: str
    panel: str
    ref_id: str
    status: Status
    detail: str = ""
    cause: str = ""
    expr: str = ""

    def line(self) -> str:
        """Return the target's line of the text matrix: status, panel title, refId, detail."""
        return f"  {self.status:<11}  {self.panel}  {self.ref_id}" + (f": {self.detail}" if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        """Return the target as in `verify --format json`."""
        return {"ref_id": self.ref_id, "status": self.status, "cause": self.cause, "detail": self.detail,
                "expr": self.expr}


@attrs.frozen
class DashboardReport:
    """Every target result of one dashboard, in panel order."""

    title: str
    uid: str
    range_seconds: float
    results: tuple[TargetResult, ...]

    def panels(self) -> Iterator[tuple[str, list[TargetResult]]]:
        """Yield each panel title with its target results, in order."""
        current: list[TargetResult] = []
        for result in self.results:
            if current and result.panel != current[0].panel:
                yield current[0].panel, current
                current = []
            current.append(result)
        if current:
            yield current[0].panel, current


@attrs.frozen
class Report:
    """Target health and every dashboard's results, judged at `at` (mode now) or over each range (mode range)."""

    health: HealthReport
    dashboards: tuple[DashboardReport, ...]
    mode: Mode
    at: float
    stale_after: float

    @property
    def results(self) -> list[TargetResult]:
        """Return every target result of every dashboard."""
        return [result for dashboard in self.dashboards for result in dashboard.results]


def counts(results: Iterable[TargetResult]) -> dict[str, int]:
    """Return how many results have each status (every status present, in STATUSES order)."""
    found = Counter(result.status for result in results)
    return {status: found[status] for status in STATUSES}


def exit_code(report: Report, strict: bool) -> int:
    """Return 1 on a query error or a down module (strict: on anything not ok), else 0."""
    found = counts(report.results)
    if found["query error"] or report.health.failures():
        return 1
    problems = len(report.results) - found["ok"]
    return 1 if strict and (problems or report.health.problem) else 0


def _summary(found: dict[str, int]) -> str:
    return ", ".join(f"{found[status]} {status}" for status in STATUSES)


def health_lines(health: HealthReport, now: float) -> list[str]:
    """Return the target-health part of the text report: a summary, then one line per module not scraped."""
    if health.problem:
        return [f"targets: {health.problem}"]
    module_targets = health.module_targets()
    up = sum(t.health == "up" for t in module_targets)
    lines = [f"targets: {len(module_targets)} module targets, {up} up, {len(module_targets) - up} down"
             + (f", {len(health.missing_modules)} modules without a target" if health.missing_modules else "")]
    lines += [f"  {'down' if t.health == 'down' else t.health:<11}  {describe_down(t, now)}" for t in health.down()]
    lines += [f"  {'no target':<11}  {module}: Prometheus scrapes no target of this module (run python build.py "
              f"and reload Prometheus with the generated prometheus.yml)" for module in health.missing_modules]
    return lines


def text_lines(report: Report) -> list[str]:
    """Return the whole text report: target health, then per dashboard one line per target and a summary."""
    lines = health_lines(report.health, report.at)
    for dashboard in report.dashboards:
        judged = "now" if report.mode == "now" else "has data"
        lines.append(f"{dashboard.title} [{dashboard.uid}] ({judged}, last {format_duration(dashboard.range_seconds)})")
        lines += [result.line() for result in dashboard.results]
        lines.append(f"  {len(dashboard.results)} targets: {_summary(counts(dashboard.results))}")
    results = report.results
    down, missing = len(report.health.down()), len(report.health.missing_modules)
    lines.append(f"{len(report.dashboards)} dashboards, {len(results)} targets: {_summary(counts(results))}; "
                 f"{down} module target{'s' if down != 1 else ''} down"
                 + (f", {missing} module{'s' if missing != 1 else ''} without a target" if missing else ""))
    return lines


def to_json(report: Report, strict: bool) -> dict[str, Any]:
    """Return the report as `verify --format json` prints it (keys documented in the README)."""
    return {
        "version": JSON_VERSION,
        "mode": report.mode,
        "evaluated_at": round(report.at, 3),
        "stale_after_seconds": report.stale_after,
        "targets": [target.to_json() for target in report.health.targets],
        "targets_error": report.health.problem,
        "modules_down": sorted({t.module or t.job for t in report.health.down()}),
        "modules_without_target": list(report.health.missing_modules),
        "dashboards": [{
            "title": dashboard.title, "uid": dashboard.uid, "range_seconds": dashboard.range_seconds,
            "counts": counts(dashboard.results),
            "panels": [{"title": title, "targets": [r.to_json() for r in results]}
                       for title, results in dashboard.panels()],
        } for dashboard in report.dashboards],
        "counts": counts(report.results),
        "exit_code": exit_code(report, strict),
    }
