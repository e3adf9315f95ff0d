"""Grafana provisioning YAML: the Prometheus datasource (fixed uid) and the dashboard file provider."""

from __future__ import annotations

from dashbuild.files import dump_yaml
from panels.settings import (
    DATASOURCE_NAME,
    DATASOURCE_UID,
    GRAFANA_FOLDER,
    GRAFANA_PROVISIONING,
    PROMETHEUS_URL,
    SCRAPE_INTERVAL,
)

DASHBOARDS_DIR = "provisioning/dashboards"
DATASOURCE_FILE = "provisioning/datasources/prometheus.yaml"
PROVIDER_FILE = f"{DASHBOARDS_DIR}/dashboards.yaml"


def datasource_yaml() -> bytes:
    """Return the datasource provisioning file: one default Prometheus with a fixed uid."""
    return dump_yaml({
        "apiVersion": 1,
        "datasources": [{
            "name": DATASOURCE_NAME,
            "type": "prometheus",
            "uid": DATASOURCE_UID,
            "access": "proxy",
            "url": PROMETHEUS_URL,
            "isDefault": True,
            "editable": False,
            # timeInterval = scrape interval, so $__rate_interval covers at least four scrapes.
            "jsonData": {"httpMethod": "POST", "timeInterval": SCRAPE_INTERVAL},
        }],
    })


def provider_yaml() -> bytes:
    """Return the dashboard provider file that loads every JSON in provisioning/dashboards."""
    return dump_yaml({
        "apiVersion": 1,
        "providers": [{
            "name": "modules",
            "orgId": 1,
            "type": "file",
            "folder": GRAFANA_FOLDER,
            "disableDeletion": False,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 10,
            "options": {"path": f"{GRAFANA_PROVISIONING}/dashboards", "foldersFromFilesStructure": False},
        }],
    })


def provisioning_files() -> dict[str, bytes]:
    """Return the provisioning YAML files by repository-relative path."""
    return {DATASOURCE_FILE: datasource_yaml(), PROVIDER_FILE: provider_yaml()}
