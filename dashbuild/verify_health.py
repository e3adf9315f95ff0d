"""Target health for `verify`: which modules Prometheus cannot scrape, in Prometheus' own words.

Read from `/api/v1/targets` (`health`, `lastError`, `lastScrape`, labels `job`, `module`, `service`) before any
panel is run: a module that is down explains every stale panel of its dashboards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from dashbuild.verify_client import PrometheusClient, answer_error
from moddash.instrumentation.bounded_http import one_line

MODULE_TAG = "module"  # module dashboards carry this tag and have the module's slug as uid


@attrs.frozen
class TargetHealth:
    """One active scrape target as Prometheus reports it."""

    job: str
    module: str | None
    service: str | None
    instance: str
    scrape_url: str
    health: str
    last_error: str
    last_scrape: float | None

    def to_json(self) -> dict[str, Any]:
        """Return the target as the `targets` items of `verify --format json`."""
        return {"job": self.job, "module": self.module, "service": self.service, "instance": self.instance,
                "scrape_url": self.scrape_url, "health": self.health, "last_error": self.last_error,
                "last_scrape": self.last_scrape}


@attrs.frozen
class HealthReport:
    """Every active target, the modules with a dashboard but no target, and why health is unknown (if so)."""

    targets: tuple[TargetHealth, ...]
    modules: tuple[str, ...]
    missing_modules: tuple[str, ...]
    problem: str = ""

    def module_targets(self) -> list[TargetHealth]:
        """Return the targets that scrape a module (a `module` label, or a job named like a module)."""
        known = set(self.modules)
        return [t for t in self.targets if t.module is not None or t.job in known]

    def down(self) -> list[TargetHealth]:
        """Return the module targets whose last scrape failed or that were not scraped yet."""
        return [t for t in self.module_targets() if t.health != "up"]

    def job_health(self) -> dict[str, str]:
        """Return each scrape job's health: "up" when every one of its targets is up, else a failing one's."""
        health: dict[str, str] = {}
        for target in self.targets:
            if health.get(target.job, "up") == "up":
                health[target.job] = target.health
        return health

    def failures(self) -> int:
        """Return how many module targets are down plus how many modules have no target at all."""
        return len(self.down()) + len(self.missing_modules)


def module_slugs(dashboards: Iterable[dict[str, Any]]) -> list[str]:
    """Return the module slugs known from the dashboards: the uids of those tagged `module`."""
    return sorted({str(d["uid"]) for d in dashboards if MODULE_TAG in (d.get("tags") or []) and d.get("uid")})


def read_health(client: PrometheusClient, modules: Sequence[str]) -> HealthReport:
    """Return the health of every active target; modules with no target are listed as missing."""
    answer = client.targets()
    if answer.get("status") != "success":
        return HealthReport((), tuple(modules), (), f"cannot read target health: {answer_error(answer)}")
    targets = tuple(sorted((_target(item) for item in answer["data"].get("activeTargets", [])),
                           key=lambda t: (t.module or "", t.job, t.instance)))
    scraped = {t.module for t in targets} | {t.job for t in targets}
    return HealthReport(targets, tuple(modules), tuple(m for m in modules if m not in scraped))


def _target(item: dict[str, Any]) -> TargetHealth:
    raw = item.get("labels")
    labels: dict[str, Any] = raw if isinstance(raw, dict) else {}
    module, service = labels.get("module"), labels.get("service")
    return TargetHealth(
        job=str(labels.get("job", "?")), module=str(module) if module else None,
        service=str(service) if service else None, instance=str(labels.get("instance", "?")),
        scrape_url=str(item.get("scrapeUrl", "")), health=str(item.get("health", "unknown")),
        last_error=one_line(str(item.get("lastError") or ""), 300), last_scrape=_timestamp(item.get("lastScrape")))


def _timestamp(text: Any) -> float | None:
    """Return a Prometheus RFC 3339 time as Unix seconds; None for Go's zero time (never scraped) or junk."""
    try:
        seconds = datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def describe_down(target: TargetHealth, now: float) -> str:
    """Return one line naming a target that is not up, with Prometheus' error and when it last scraped."""
    who = target.module or target.job
    where = f"{target.instance} (job {target.job})" if target.job != who else target.instance
    reason = target.last_error or ("not scraped yet" if target.health == "unknown" else "no error reported")
    when = f" (last scrape {format_age(now - target.last_scrape)} ago)" if target.last_scrape else ""
    return f"{who} {where}: {reason}{when}"


def format_age(seconds: float) -> str:
    """Return a short age such as `7s`, `3m10s` or `2h5m`."""
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s" if whole % 60 else f"{whole // 60}m"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m" if whole % 3600 // 60 else f"{whole // 3600}h"
