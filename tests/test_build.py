"""The build as a user runs it: `python build.py` in a copy of the repository."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from dashbuild.manifest import MANIFEST
from dashbuild.verify import flat_panels
from tests.conftest import GENERATED_DIRS, REPO, BuildRunner, snapshot

NEW_MODULE = '''
"""Billing Gateway: a module added by dropping this file in dashboards/."""

from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="billing_gateway", title="Billing Gateway", target=ScrapeTarget(port=8010),
                          metrics=standard_metrics("billing_gateway"))

DASHBOARD = ModuleDashboard(rows=(
    Row("Traffic", (
        h.rate_per_second(CONTRACT.metric("operations_total"), by=("operation",), title="Billing ops/s")
        .in_overview(),
        h.duration_p95(CONTRACT.metric("operation_duration_seconds")),
        h.cost_over_range(CONTRACT.metric("cost_total")).in_overview(),
    )),
))
'''


def load(root: Path, uid: str) -> dict[str, Any]:
    """Return a generated dashboard's JSON."""
    data: dict[str, Any] = json.loads((root / "provisioning" / "dashboards" / f"{uid}.json").read_text())
    return data


def test_committed_files_are_fresh(build_cli: BuildRunner) -> None:
    result = build_cli(REPO, "--check")
    assert result.returncode == 0, result.stderr
    assert "are fresh" in result.stdout


def test_build_prints_a_summary_and_is_idempotent(repo_copy: Path, build_cli: BuildRunner) -> None:
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Trainer Modules Overview\s+\d+\s+\d+\s+provisioning/dashboards/modules-overview.json",
                     result.stdout)
    assert "0 written" in result.stdout
    assert snapshot(repo_copy) == before


def test_outputs_are_identical_across_hash_seeds(tmp_path: Path, build_cli: BuildRunner) -> None:
    outputs = []
    for seed in ("0", "4242"):
        root = tmp_path / f"seed-{seed}"
        shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info",
                                                                    *GENERATED_DIRS, MANIFEST))
        result = build_cli(root, hash_seed=seed)
        assert result.returncode == 0, result.stderr
        outputs.append(snapshot(root))
    assert outputs[0] == outputs[1]
    assert outputs[0] == snapshot(REPO)


def test_new_module_file_appears_everywhere(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "billing_gateway.py").write_text(NEW_MODULE)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "Billing Gateway" in result.stdout

    own = load(repo_copy, "billing-gateway")
    assert own["title"] == "Billing Gateway Dashboard"
    assert {p["title"] for p in own["panels"]} >= {"Billing ops/s", "Duration P95", "Cost (time range)"}

    overview = load(repo_copy, "modules-overview")
    rows = [p["title"] for p in overview["panels"] if p["type"] == "row"]
    assert "Billing Gateway" in rows
    section = rows.index("Billing Gateway")
    assert {"Billing Gateway: Billing ops/s", "Billing Gateway: Cost (time range)"} <= {
        p["title"] for p in flat_panels(overview)}
    assert {"title": "Billing Gateway Dashboard", "url": "/d/billing-gateway"}.items() <= next(
        link for link in overview["links"] if link["title"] == "Billing Gateway Dashboard").items()
    assert section > 0
    # The Prometheus side follows from the same file: a scrape job, recording rules and alerts.
    config = yaml.safe_load((repo_copy / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "billing-gateway")
    assert job["static_configs"] == [{"targets": ["host.docker.internal:8010"],
                                      "labels": {"module": "billing-gateway", "service": "billing-gateway-api"}}]
    recording = (repo_copy / "prometheus" / "rules" / "modules.recording.yml").read_text()
    assert "rate(billing_gateway_operations_total[1m])" in recording
    alerts = yaml.safe_load((repo_copy / "prometheus" / "rules" / "billing-gateway.alerts.yml").read_text())
    assert [r["alert"] for r in alerts["groups"][0]["rules"]] == [
        "BillingGatewayDown", "BillingGatewayMetricsAbsent", "BillingGatewayNonFiniteCounter",
        "BillingGatewayInstrumentationDropping", "BillingGatewayHighErrorRatio", "BillingGatewayHighLatencyP95",
        "BillingGatewayCostOverBudget"]
    assert build_cli(repo_copy, "--check").returncode == 0


def test_removed_module_removes_only_generated_files(repo_copy: Path, build_cli: BuildRunner) -> None:
    hand_made = repo_copy / "provisioning" / "dashboards" / "hand-made.json"
    hand_made.write_text('{"title": "kept"}\n')
    (repo_copy / "dashboards" / "llm_provider.py").unlink()
    check = build_cli(repo_copy, "--check")
    assert check.returncode == 1
    assert "no longer generated: provisioning/dashboards/llm-provider.json" in check.stderr
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "removed: provisioning/dashboards/llm-provider.json" in result.stdout
    assert not (repo_copy / "provisioning" / "dashboards" / "llm-provider.json").exists()
    assert hand_made.read_text() == '{"title": "kept"}\n'
    overview = load(repo_copy, "modules-overview")
    assert "/d/llm-provider" not in [link["url"] for link in overview["links"]]


def test_check_names_missing_and_stale_files(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "provisioning" / "dashboards" / "prompt-manager.json").unlink()
    stale = repo_copy / "provisioning" / "datasources" / "prometheus.yaml"
    stale.write_text(stale.read_text() + "# hand edit\n")
    before = snapshot(repo_copy)
    result = build_cli(repo_copy, "--check")
    assert result.returncode == 1
    assert "missing: provisioning/dashboards/prompt-manager.json" in result.stderr
    assert "stale: provisioning/datasources/prometheus.yaml" in result.stderr
    assert snapshot(repo_copy) == before


def test_provisioning_yaml(repo_copy: Path) -> None:
    datasource = yaml.safe_load((repo_copy / "provisioning/datasources/prometheus.yaml").read_text())
    (ds,) = datasource["datasources"]
    assert datasource["apiVersion"] == 1
    assert ds["uid"] == "prometheus" and ds["type"] == "prometheus" and ds["isDefault"] is True
    provider = yaml.safe_load((repo_copy / "provisioning/dashboards/dashboards.yaml").read_text())
    (prov,) = provider["providers"]
    assert provider["apiVersion"] == 1 and prov["type"] == "file"
    assert isinstance(prov["options"]["path"], str)
    assert not (prov["options"]["foldersFromFilesStructure"] and (prov.get("folder") or prov.get("folderUid")))


def test_manifest_lists_every_generated_file(repo_copy: Path) -> None:
    manifest = json.loads((repo_copy / MANIFEST).read_text())
    generated = {p.relative_to(repo_copy).as_posix() for folder in GENERATED_DIRS
                 for p in (repo_copy / folder).rglob("*") if p.is_file()}
    assert set(manifest["files"]) == generated
