"""Rule groups for Mimir, Cortex and Thanos: the local stack's groups, in each store's file format, and
what promtool takes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.pipeline import compile_checked
from dashbuild.rule_namespaces import rule_namespace_files
from panels.environment import RuleStore
from tests.conftest import REPO


@pytest.fixture(scope="module")
def contracts() -> list[Any]:
    """Return the repository's contracts."""
    modules, _dashboards = compile_checked(REPO)
    return [m.contract for m in modules]


def local_groups(prometheus_job: str | None = None) -> list[dict[str, Any]]:
    """Return every rule group of the local stack's rule files at their local evaluation interval; the monitoring
    alerts selecting Prometheus' own metrics as `prometheus_job`, or left out when it is None."""
    groups = [{"interval": "5s", **group} for path in sorted((REPO / "prometheus" / "rules").glob("*.yml"))
              for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]]
    monitoring = next(group for group in groups if group["name"] == "monitoring-alerts")
    if prometheus_job is None:
        return [group for group in groups if group is not monitoring]
    for rule in monitoring["rules"]:
        rule["expr"] = rule["expr"].replace('job="prometheus"', f'job="{prometheus_job}"')
    return groups


def promtool_accepts(promtool: str, groups: list[dict[str, Any]], tmp_path: Path) -> None:
    """Assert `promtool check rules` takes the groups."""
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["mimir", "cortex"])
def test_namespace_files_hold_the_local_groups(kind: str, contracts: Any, promtool: str, tmp_path: Path) -> None:
    store = RuleStore(kind, tenant="team-a", prometheus_job="prometheus-agent")  # type: ignore[arg-type]
    files = rule_namespace_files(contracts, store, f"{kind}/production")
    loaded = {path: yaml.safe_load(content) for path, content in files.items()}
    assert {doc["namespace"] for doc in loaded.values()} == {
        "modules-recording", "modules-monitoring", *(f"modules-{c.slug}" for c in contracts)}
    assert all(content.splitlines()[1] == f"# {kind} tenant: team-a (mimirtool rules load --id=team-a ...)".encode()
               for content in files.values())
    groups = [group for doc in loaded.values() for group in doc["groups"]]
    for group in groups:  # per module one alert more, NoTarget (tests/test_kubernetes.py proves it)
        if group["name"].endswith("-alerts") and group["name"] != "monitoring-alerts":
            assert group["rules"].pop()["alert"].endswith("NoTarget")
    assert sorted(groups, key=lambda g: g["name"]) == sorted(local_groups("prometheus-agent"),
                                                             key=lambda g: g["name"])
    promtool_accepts(promtool, groups, tmp_path)
    assert rule_namespace_files(contracts, store, "x") == rule_namespace_files(contracts, store, "x")
    without = rule_namespace_files(contracts, RuleStore(kind), "x")  # type: ignore[arg-type]
    assert "x/modules-monitoring.yml" not in without and len(without) == len(files) - 1


def test_thanos_groups_say_how_to_treat_a_partial_response(contracts: Any, promtool: str, tmp_path: Path) -> None:
    files = rule_namespace_files(contracts, RuleStore("thanos", partial_response_strategy="warn"), "thanos")
    groups = [group for content in files.values() for group in yaml.safe_load(content)["groups"]]
    assert {group.pop("partial_response_strategy") for group in groups} == {"warn"}
    promtool_accepts(promtool, groups, tmp_path)  # the rest is plain Prometheus rules
    plain = rule_namespace_files(contracts, RuleStore("thanos"), "thanos")
    assert all("partial_response_strategy" not in content.decode() for content in plain.values())


def test_an_unknown_store_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        RuleStore("victoria")  # type: ignore[arg-type]


@pytest.mark.parametrize(("settings", "message"), [
    ({"kind": "victoria"}, "kind: 'victoria' is not one of 'mimir', 'cortex', 'thanos'"),
    ({"kind": "mimir", "namespace_prefix": "../../x"}, "namespace_prefix: '../../x' is not a DNS-1123 label"),
    ({"kind": "mimir", "tenant": "team a"}, "tenant: 'team a' is not a tenant id"),
    ({"kind": "mimir", "tenant": ".."}, "tenant: '..' is not a tenant id"),
    ({"kind": "thanos", "partial_response_strategy": "maybe"}, "partial_response_strategy: 'maybe' is not one of"),
    ({"kind": "mimir", "aggregation_label": "clu-ster"}, "aggregation_label"),
])
def test_store_settings_the_store_would_refuse(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RuleStore(**settings)
