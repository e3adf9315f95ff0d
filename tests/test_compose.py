"""docker-compose.yml, checked without a Docker engine: Compose Specification schema and the stack's wiring."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml

from dashbuild.alertmanager import CONFIG_FILE as ALERTMANAGER_CONFIG
from panels.settings import GRAFANA_PROVISIONING
from tests.conftest import REPO

SCHEMA = REPO / "dashbuild" / "schemas" / "compose" / "compose-spec.json"
# The oldest release of each image on a line still supported when it was pinned (see README.md).
SUPPORTED = {"prom/prometheus": (3, 13, 0), "prom/alertmanager": (0, 26, 0), "grafana/grafana": (12, 4, 0)}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """Return docker-compose.yml as loaded by a YAML parser."""
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def version(image: str) -> tuple[int, ...]:
    """Return the version numbers of a pinned image tag (`prom/prometheus:v3.13.4` → (3, 13, 4))."""
    return tuple(int(x) for x in image.rpartition(":")[2].removeprefix("v").split("."))


def test_validates_against_compose_specification(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(compose)] == []


def test_schema_catches_a_misspelt_key(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["grafana"]["portz"] = broken["services"]["grafana"].pop("ports")
    assert list(jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(broken))


def test_images_are_pinned_to_supported_lines(compose: dict[str, Any]) -> None:
    images = {service["image"].rpartition(":")[0]: service["image"] for service in compose["services"].values()}
    assert set(images) == set(SUPPORTED)
    for name, image in images.items():
        assert re.search(r":v?\d+\.\d+\.\d+$", image), image
        assert version(image) >= SUPPORTED[name], image
    # Prometheus 2.53 (its last 2.x LTS) is out of support; Grafana 11.6.1 lacks the CVE-2025-4123 fix.
    assert version(images["prom/prometheus"])[0] == 3
    # The dashboards are emitted with schemaVersion 41 (grafana-foundation-sdk 11.6); newer Grafana
    # migrates older schema versions forward when it loads them.
    dashboard = json.loads((REPO / "provisioning/dashboards/modules-overview.json").read_text())
    assert dashboard["schemaVersion"] == 41


def test_ports_bind_to_loopback_and_are_overridable(compose: dict[str, Any]) -> None:
    ports = {name: service["ports"] for name, service in compose["services"].items()}
    assert ports == {"prometheus": ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"],
                     "alertmanager": ["127.0.0.1:${ALERTMANAGER_PORT:-9093}:9093"],
                     "grafana": ["127.0.0.1:${GRAFANA_PORT:-3000}:3000"]}


def test_mounted_paths_exist_and_are_read_only(compose: dict[str, Any]) -> None:
    named = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service["volumes"]:
            source, _target, *mode = volume.split(":")
            if source.startswith("./"):
                assert (REPO / source).exists(), source
                assert mode == ["ro"], volume
            else:
                assert source in named, volume
    mounts = {name: dict(v.split(":")[:2] for v in service["volumes"]) for name, service in compose["services"].items()}
    assert mounts["grafana"]["./provisioning"] == GRAFANA_PROVISIONING
    assert mounts["prometheus"]["./prometheus"] == "/etc/prometheus"
    alertmanager = compose["services"]["alertmanager"]
    assert f"--config.file={mounts['alertmanager']['./alertmanager']}/alertmanager.yml" in alertmanager["command"]
    assert (REPO / ALERTMANAGER_CONFIG).is_file()


def test_datasource_url_names_the_prometheus_service(compose: dict[str, Any]) -> None:
    datasource = yaml.safe_load((REPO / "provisioning/datasources/prometheus.yaml").read_text())["datasources"][0]
    url = urlparse(datasource["url"])
    assert url.hostname in compose["services"]
    container_port = compose["services"][url.hostname]["ports"][0].rsplit(":", 1)[1]
    assert str(url.port) == container_port


def test_prometheus_sends_alerts_to_the_alertmanager_service(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())
    (target,) = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    host, _, port = target.partition(":")
    assert host in compose["services"]
    assert compose["services"][host]["ports"][0].rsplit(":", 1)[1] == port


def test_no_lifecycle_api_and_bounded_storage(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        assert not any("enable-lifecycle" in arg for arg in service.get("command", [])), service["image"]
    prometheus = compose["services"]["prometheus"]
    assert "--storage.tsdb.retention.time=${PROMETHEUS_RETENTION:-15d}" in prometheus["command"]
    assert "--storage.tsdb.retention.size=${PROMETHEUS_RETENTION_SIZE:-5GB}" in prometheus["command"]
    assert "host.docker.internal:host-gateway" in prometheus["extra_hosts"]


def test_healthchecks_limits_and_log_rotation(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        healthcheck = service["healthcheck"]
        assert healthcheck["test"][0] == "CMD", name
        assert re.fullmatch(r"\d+s", healthcheck["start_period"]), name
        assert re.fullmatch(r"\$\{[A-Z_]+_MEM_LIMIT:-\d+[mg]\}", service["mem_limit"]), name
        assert service["logging"]["driver"] == "json-file", name
        assert set(service["logging"]["options"]) == {"max-size", "max-file"}, name
        assert service["restart"] == "unless-stopped", name


def test_grafana_admin_password_comes_from_a_secret(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    environment = grafana["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in environment
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    (secret,) = grafana["secrets"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"] == f"/run/secrets/{secret}"
    assert compose["secrets"][secret] == {"environment": "GRAFANA_ADMIN_PASSWORD"}


def test_every_secret_has_a_source_and_env_files_stay_out_of_git(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for secret in service.get("secrets", []):
            assert set(compose["secrets"][secret]) in ({"environment"}, {"file"}), secret
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and "secrets/" in ignored


def _file_fields(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith("_file") and isinstance(value, str):
                yield value
            else:
                yield from _file_fields(value)
    elif isinstance(data, list):
        for item in data:
            yield from _file_fields(item)


def test_every_file_the_alertmanager_config_reads_is_a_secret_it_gets(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((REPO / ALERTMANAGER_CONFIG).read_text())
    given = {f"/run/secrets/{name}" for name in compose["services"]["alertmanager"].get("secrets", [])}
    assert set(_file_fields(config)) <= given


def test_provider_path_is_inside_the_mounted_folder() -> None:
    provider = yaml.safe_load((REPO / "provisioning/dashboards/dashboards.yaml").read_text())["providers"][0]
    relative = Path(provider["options"]["path"]).relative_to(GRAFANA_PROVISIONING)
    assert list((REPO / "provisioning" / relative).glob("*.json"))
