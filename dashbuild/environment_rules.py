"""The rule groups an environment deploys (PrometheusRules, Mimir/Cortex/Thanos rule files): the local stack's
groups, made to mean the same wherever they are evaluated, and one alert more per module: NoTarget, since a
discovered target can vanish where the local stack's static one cannot.

Locally every group is evaluated at the global evaluation interval, the scrape interval. The overview's totals
integrate recorded samples that far apart, and kube-prometheus-stack (30 s) or Mimir's ruler (1 m) evaluate at
other intervals by default, so every group is given that interval explicitly unless it has its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from dashbuild.prometheus import alert_group, recording_rules_file
from dashbuild.slo_files import slo_rules_file
from moddash.contract import ModuleContract
from panels.settings import RUNBOOKS, SCRAPE_INTERVAL
from rules.alerts import alert_rules, monitoring_alerts, no_target

Json = dict[str, Any]


@attrs.frozen
class RuleSet:
    """Rule groups deployed together (one PrometheusRule); `namespace` is where a store that keeps namespaces
    (Mimir, Cortex) files them: the module's slug, `recording` or `monitoring`."""

    name: str
    namespace: str
    groups: tuple[Json, ...]


def pinned(groups: Sequence[Json]) -> tuple[Json, ...]:
    """Return the groups, each evaluated at the local stack's interval unless it sets its own."""
    return tuple({"interval": SCRAPE_INTERVAL, **group} for group in groups)


def rule_sets(contracts: Sequence[ModuleContract], runbooks: str = RUNBOOKS,
              prometheus_job: str | None = None) -> list[RuleSet]:
    """Return the recording rules, each module's alerts and SLO rules, and (when `prometheus_job`, the scrape job of
    Prometheus' own metrics, is given) the alerts about the monitoring itself."""
    sets = [RuleSet("modules-recording", "recording", pinned(recording_rules_file(contracts)["groups"]))]
    for contract in contracts:
        # Discovered targets can vanish (no pod, a selector that stopped matching): the local alerts plus NoTarget.
        alerts = alert_group(f"{contract.slug}-alerts",
                             [*alert_rules(contract, runbooks), no_target(contract, runbooks)])
        sets.append(RuleSet(f"{contract.slug}-alerts", contract.slug, pinned(alerts["groups"])))
        slo = slo_rules_file(contract, runbooks)
        if slo is not None:
            sets.append(RuleSet(f"{contract.slug}-slo", contract.slug, pinned(slo["groups"])))
    if prometheus_job is not None:
        monitoring = alert_group("monitoring-alerts", monitoring_alerts(runbooks, prometheus_job))
        sets.append(RuleSet("monitoring-alerts", "monitoring", pinned(monitoring["groups"])))
    return sets
