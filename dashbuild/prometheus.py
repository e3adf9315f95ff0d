"""Prometheus files from the registry: prometheus.yml (one scrape job per module, the Alertmanager) and the rules.

prometheus.yml uses only keys that Prometheus 2.42 (Debian's, in the tests) and 3.x read alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashbuild.files import dump_yaml
from moddash.contract.model import ModuleContract
from panels.settings import ALERTMANAGER_ADDRESS, RUNBOOKS, SCRAPE_INTERVAL, SELF_ADDRESS
from rules.alerts import alert_rules, monitoring_alerts
from rules.model import AlertRule
from rules.recording import recording_rules

CONFIG_FILE = "prometheus/prometheus.yml"
RULES_DIR = "prometheus/rules"
RECORDING_FILE = f"{RULES_DIR}/modules.recording.yml"
MONITORING_FILE = f"{RULES_DIR}/monitoring.alerts.yml"


def scrape_job(contract: ModuleContract) -> dict[str, Any]:
    """Return the scrape config of one module, with its `module` and `service` labels.

    `params`, `scheme` and `authorization` appear only when the target sets them, so plain targets keep their bytes.
    """
    target = contract.target
    job: dict[str, Any] = {
        "job_name": contract.job,
        "scrape_interval": SCRAPE_INTERVAL,
        "metrics_path": target.path,
        "static_configs": [{
            "targets": [target.address],
            "labels": {"module": contract.slug, "service": contract.service},
        }],
    }
    if target.params:
        job["params"] = {name: list(values) for name, values in target.params}
    if target.scheme != "http":
        job["scheme"] = target.scheme
    if target.bearer_token_file is not None:
        job["authorization"] = {"type": "Bearer", "credentials_file": target.bearer_token_file}
    return job


def prometheus_config(contracts: Sequence[ModuleContract], self_address: str = SELF_ADDRESS,
                      alertmanager_address: str = ALERTMANAGER_ADDRESS) -> dict[str, Any]:
    """Return prometheus.yml: intervals, the Alertmanager, the generated rule files, Prometheus itself and each module.

    The Alertmanager is reached with the default API version (v2 in 2.x and 3.x; 3.x has no v1).
    """
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_address]}]}]},
        # Relative to this file, so it works in the container (/etc/prometheus) and from the repository.
        "rule_files": ["rules/*.yml"],
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [self_address]}]},
            *(scrape_job(contract) for contract in contracts),
        ],
    }


def recording_rules_file(contracts: Sequence[ModuleContract]) -> dict[str, Any]:
    """Return the recording rule file: one group, evaluated in order."""
    return {"groups": [{
        "name": "modules-recording",
        "rules": [{"record": rule.record, "expr": rule.expr, **({"labels": dict(rule.labels)} if rule.labels else {})}
                  for rule in recording_rules(contracts)],
    }]}


def alert_group(name: str, rules: Sequence[AlertRule]) -> dict[str, Any]:
    """Return an alerting rule file of one group; an alert about no module carries no `module` label."""
    return {"groups": [{
        "name": name,
        "rules": [{
            "alert": rule.alert,
            "expr": rule.expr,
            "for": rule.for_,
            "labels": {"severity": rule.severity, **({"module": rule.module} if rule.module else {})},
            "annotations": _annotations(rule),
        } for rule in rules],
    }]}


def alert_rules_file(contract: ModuleContract, runbooks: str = RUNBOOKS) -> dict[str, Any]:
    """Return one module's alerting rule file."""
    return alert_group(f"{contract.slug}-alerts", alert_rules(contract, runbooks))


def _annotations(rule: AlertRule) -> dict[str, str]:
    annotations = {"summary": rule.summary, "description": rule.description}
    if rule.runbook_url:
        annotations["runbook_url"] = rule.runbook_url
    return annotations


def alert_rules_path(contract: ModuleContract) -> str:
    """Return the repository-relative path of one module's alerting rule file."""
    return f"{RULES_DIR}/{contract.slug}.alerts.yml"


def prometheus_files(contracts: Sequence[ModuleContract], self_address: str = SELF_ADDRESS,
                     alertmanager_address: str = ALERTMANAGER_ADDRESS, runbooks: str = RUNBOOKS) -> dict[str, bytes]:
    """Return every Prometheus file by repository-relative path; alerts link to runbooks under `runbooks`."""
    files = {CONFIG_FILE: dump_yaml(prometheus_config(contracts, self_address, alertmanager_address)),
             RECORDING_FILE: dump_yaml(recording_rules_file(contracts))}
    for contract in contracts:
        files[alert_rules_path(contract)] = dump_yaml(alert_rules_file(contract, runbooks))
    files[MONITORING_FILE] = dump_yaml(alert_group("monitoring-alerts", monitoring_alerts(runbooks)))
    return files
