"""docker-compose.yml, checked without a Docker engine: Compose Specification schema and the stack's wiring."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml

from dashbuild.provisioning import GRAFANA_PROVISIONING
from tests.conftest import REPO

SCHEMA = REPO / "dashbuild" / "schemas" / "compose" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """Return docker-compose.yml as loaded by a YAML parser."""
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def test_validates_against_compose_specification(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(compose)] == []


def test_schema_catches_a_misspelt_key(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["grafana"]["portz"] = broken["services"]["grafana"].pop("ports")
    assert list(jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(broken))


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        image = service["image"]
        assert re.search(r":v?\d+\.\d+\.\d+$", image), image
    grafana = compose["services"]["grafana"]["image"]
    major, minor = (int(x) for x in grafana.split(":")[1].split(".")[:2])
    # Grafana 11.6 is the line whose schemaVersion (41) the dashboards are emitted with.
    assert (major, minor) >= (11, 6)
    dashboard = json.loads((REPO / "provisioning/dashboards/modules-overview.json").read_text())
    assert dashboard["schemaVersion"] == 41


def test_ports_bind_to_loopback_and_are_overridable(compose: dict[str, Any]) -> None:
    ports = {name: service["ports"] for name, service in compose["services"].items()}
    assert ports == {"prometheus": ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"],
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
    grafana_mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert grafana_mounts["./provisioning"] == GRAFANA_PROVISIONING


def test_datasource_url_names_the_prometheus_service(compose: dict[str, Any]) -> None:
    datasource = yaml.safe_load((REPO / "provisioning/datasources/prometheus.yaml").read_text())["datasources"][0]
    url = urlparse(datasource["url"])
    assert url.hostname in compose["services"]
    container_port = compose["services"][url.hostname]["ports"][0].rsplit(":", 1)[1]
    assert str(url.port) == container_port


def test_prometheus_flags_and_grafana_security(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert "--web.enable-lifecycle" in prometheus["command"]
    assert "--storage.tsdb.retention.time=${PROMETHEUS_RETENTION:-15d}" in prometheus["command"]
    assert "host.docker.internal:host-gateway" in prometheus["extra_hosts"]
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    for service in compose["services"].values():
        assert service["healthcheck"]["test"][0] == "CMD"


def test_provider_path_is_inside_the_mounted_folder() -> None:
    provider = yaml.safe_load((REPO / "provisioning/dashboards/dashboards.yaml").read_text())["providers"][0]
    relative = Path(provider["options"]["path"]).relative_to(GRAFANA_PROVISIONING)
    assert list((REPO / "provisioning" / relative).glob("*.json"))
