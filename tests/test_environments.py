"""`python build.py --env NAME`: an environment's output in deploy/NAME/, a build root of its own, never touching
the local stack's files; `--check` covers every environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import GENERATED_DIRS, BuildRunner, snapshot

PRODUCTION = '''"""Production: kube-prometheus-stack with the Grafana sidecar; rules also for Mimir."""

from panels.environment import Environment, KubernetesSettings, RuleStore

ENVIRONMENT = Environment(
    name="production",
    kubernetes=KubernetesSettings(namespace="monitoring", extra_labels={"cluster": "eu-1"}),
    rules=RuleStore("mimir", tenant="team-a"),
)
'''


def with_production(root: Path) -> Path:
    """Add environments/production.py to the repository at `root`; return the environment's output folder."""
    (root / "environments").mkdir()
    (root / "environments" / "production.py").write_text(PRODUCTION, encoding="utf-8")
    return root / "deploy" / "production"


def test_an_environment_builds_into_its_own_folder(repo_copy: Path, build_cli: BuildRunner) -> None:
    deploy = with_production(repo_copy)
    local = snapshot(repo_copy)
    result = build_cli(repo_copy, "--env", "production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("deploy/production: 20 written, 0 unchanged, 0 removed")
    assert snapshot(repo_copy) == local  # the local stack's files are the same bytes
    assert (deploy / "build-manifest.json").is_file()
    assert (deploy / "kubernetes" / "kustomization.yaml").is_file()
    assert (deploy / "rules" / "mimir" / "modules-recording.yml").is_file()
    again = build_cli(repo_copy, "--env", "production", hash_seed="99")
    assert again.stdout.startswith("deploy/production: 0 written, 20 unchanged, 0 removed"), again.stdout


def test_check_covers_every_environment(repo_copy: Path, build_cli: BuildRunner) -> None:
    with_production(repo_copy)
    before = build_cli(repo_copy, "--check")
    assert before.returncode == 1
    assert "missing: deploy/production/kubernetes/kustomization.yaml" in before.stderr
    assert "environment 'production' is not fresh: run `python build.py --env production`" in before.stderr
    assert build_cli(repo_copy, "--env", "production").returncode == 0
    fresh = build_cli(repo_copy, "--check")
    assert fresh.returncode == 0 and fresh.stdout.strip() == "all 38 generated files are fresh", fresh.stdout
    module = repo_copy / "dashboards" / "llm_provider.py"
    module.write_text(module.read_text(encoding="utf-8").replace('title="LLM Provider"', 'title="LLM Gateway"'),
                      encoding="utf-8")
    stale = build_cli(repo_copy, "--check")
    assert stale.returncode == 1
    assert "stale: deploy/production/kubernetes/configmap-dashboard-llm-provider.yaml" in stale.stderr
    assert "stale: provisioning/dashboards/llm-provider.json" in stale.stderr
    only = build_cli(repo_copy, "--env", "production", "--check")
    assert only.returncode == 1 and "provisioning/" not in only.stderr
    assert "run `python build.py --env production` and commit the result" in only.stderr


def test_without_environments_nothing_changes(repo_copy: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo_copy, "--check")
    assert result.returncode == 0 and result.stdout.strip() == "all 17 generated files are fresh"
    assert not (repo_copy / "deploy").exists()


def test_an_unknown_or_broken_environment_is_one_line(repo_copy: Path, build_cli: BuildRunner) -> None:
    with_production(repo_copy)
    before = snapshot(repo_copy, (*GENERATED_DIRS, "deploy"))
    unknown = build_cli(repo_copy, "--env", "staging")
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[0] == ("error: environments/staging.py: no environment 'staging' (known: "
                                              "production)")
    (repo_copy / "environments" / "staging.py").write_text(
        "from panels.environment import Environment\nENVIRONMENT = Environment(name='stage')\n", encoding="utf-8")
    broken = build_cli(repo_copy, "--env", "production")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "environments/staging.py" in broken.stderr
    assert "sets none of kubernetes=, static= and rules=" in broken.stderr
    (repo_copy / "environments" / "staging.py").write_text(
        "from panels.environment import Environment, RuleStore\n"
        "ENVIRONMENT = Environment(name='stage', rules=RuleStore('thanos'))\n", encoding="utf-8")
    misnamed = build_cli(repo_copy, "--check")
    assert misnamed.returncode == 1
    assert "environments/staging.py: ENVIRONMENT is named 'stage': name it after its file, 'staging'" in \
        misnamed.stderr
    assert snapshot(repo_copy, (*GENERATED_DIRS, "deploy")) == before


def test_env_is_for_the_build_not_a_command(repo_copy: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo_copy, "--env", "production", "lint")
    assert result.returncode == 2 and "--env applies to the build and to --check" in result.stderr


def test_an_environment_the_disk_refuses_changes_nothing(repo_copy: Path, build_cli: BuildRunner) -> None:
    """A file where the environment's folder should be: one line naming it, neither its files nor the local ones
    changed, and the next build after the obstacle is gone writes everything."""
    deploy = with_production(repo_copy)
    deploy.mkdir(parents=True)
    (deploy / "kubernetes").write_text("not a folder\n", encoding="utf-8")
    before = snapshot(repo_copy, (*GENERATED_DIRS, "deploy"))
    result = build_cli(repo_copy, "--env", "production")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: deploy/production/"), result.stderr
    assert snapshot(repo_copy, (*GENERATED_DIRS, "deploy")) == before
    (deploy / "kubernetes").unlink()
    assert build_cli(repo_copy, "--env", "production").returncode == 0
    assert build_cli(repo_copy, "--check").returncode == 0


def test_workloads_of_a_module_that_does_not_exist(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "environments").mkdir()
    (repo_copy / "environments" / "production.py").write_text(
        "from panels.environment import Environment, KubernetesSettings, Workload\n"
        "ENVIRONMENT = Environment(name='production', kubernetes=KubernetesSettings(\n"
        "    workloads={'prompt-manger': Workload(namespace='prompts')}))\n", encoding="utf-8")
    result = build_cli(repo_copy, "--env", "production")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == (
        "error: environments/production.py: workloads names no module 'prompt-manger' (modules: llm-provider, "
        "prompt-manager, prompt-security)")
    assert not (repo_copy / "deploy").exists()


STAGING = """from panels.environment import Environment, StaticSettings

ENVIRONMENT = Environment(name="staging", static=StaticSettings(
    targets={"prompt-manager": ["10.0.0.5:8000", "10.0.0.6:8000"]},
    self_address="localhost:9090", alertmanager_address="10.0.0.9:9093", external_labels={"cluster": "staging"}))
"""


def test_a_static_environment_scrapes_its_hosts_with_the_local_rules(repo_copy: Path, build_cli: BuildRunner,
                                                                      promtool: str) -> None:
    (repo_copy / "environments").mkdir()
    (repo_copy / "environments" / "staging.py").write_text(STAGING, encoding="utf-8")
    local = snapshot(repo_copy)
    result = build_cli(repo_copy, "--env", "staging")
    assert result.returncode == 0, result.stderr
    assert snapshot(repo_copy) == local
    deploy = repo_copy / "deploy" / "staging" / "prometheus"
    config = yaml.safe_load((deploy / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["global"]["external_labels"] == {"cluster": "staging"}
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["10.0.0.9:9093"]
    jobs = {job["job_name"]: job["static_configs"][0] for job in config["scrape_configs"]}
    assert jobs["prompt-manager"] == {"targets": ["10.0.0.5:8000", "10.0.0.6:8000"],
                                      "labels": {"module": "prompt-manager", "service": "prompt-manager-api"}}
    assert jobs["llm-provider"]["targets"] == ["host.docker.internal:8002"]  # as its module file says
    local_rules = sorted(p.name for p in (repo_copy / "prometheus" / "rules").glob("*.yml"))
    assert sorted(p.name for p in (deploy / "rules").glob("*.yml")) == local_rules
    for name in local_rules:
        assert (deploy / "rules" / name).read_bytes() == (repo_copy / "prometheus" / "rules" / name).read_bytes()
    checked = subprocess.run([promtool, "check", "config", str(deploy / "prometheus.yml")], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(("setting", "message"), [
    ('targets={"prompt-manger": ["h:1"]}', "static: targets names no module 'prompt-manger'"),
    ('targets={"prompt-manager": ["10.0.0.5"]}', "static: targets['prompt-manager'] '10.0.0.5': expected HOST:PORT"),
    ('targets={"prompt-manager": []}', "static: targets['prompt-manager'] lists no address"),
    ('alertmanager_address="am:99999"', "static: alertmanager_address 'am:99999': expected HOST:PORT"),
    ('targets={"prompt-manager": "10.0.0.5:8000"}', "failed to load (line 2): TypeError: targets['prompt-manager'] "
                                                     "must be a list of HOST:PORT strings"),
    ('external_labels={"cluster": 5}', "failed to load (line 2): TypeError: external_labels: 'cluster': 5 must map"),
])
def test_static_settings_that_cannot_work_are_one_line(repo_copy: Path, build_cli: BuildRunner, setting: str,
                                                       message: str) -> None:
    (repo_copy / "environments").mkdir()
    (repo_copy / "environments" / "staging.py").write_text(
        "from panels.environment import Environment, StaticSettings\n"
        f"ENVIRONMENT = Environment(name='staging', static=StaticSettings({setting}))\n", encoding="utf-8")
    result = build_cli(repo_copy, "--env", "staging")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"error: environments/staging.py: {message}"), result.stderr
    assert not (repo_copy / "deploy").exists()
