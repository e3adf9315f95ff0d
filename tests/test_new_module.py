"""`python build.py new-module`: scaffold, build, and the module is in its dashboard and the overview."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashbuild.verify import flat_panels
from tests.conftest import BuildRunner, snapshot


def test_scaffolded_module_appears_after_one_build(repo_copy: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo_copy, "new-module", "billing_gateway", "--port", "8010")
    assert result.returncode == 0, result.stderr
    assert "created dashboards/billing_gateway.py" in result.stdout
    assert build_cli(repo_copy, "--check").returncode == 1  # the new dashboard is not generated yet

    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "Billing Gateway" in result.stdout
    dashboards = repo_copy / "provisioning" / "dashboards"
    own = json.loads((dashboards / "billing-gateway.json").read_text())
    titles = {p["title"] for p in own["panels"]}
    assert {"Operations/s", "Operation duration P95", "Error rate", "Cost", "Token usage", "Cache hit ratio"} <= titles
    overview = json.loads((dashboards / "modules-overview.json").read_text())
    assert "Billing Gateway" in [p["title"] for p in overview["panels"] if p["type"] == "row"]
    assert "Billing Gateway: Operations/s" in [p["title"] for p in flat_panels(overview)]
    assert "/d/billing-gateway" in [link["url"] for link in overview["links"]]
    assert build_cli(repo_copy, "--check").returncode == 0


def test_title_option_is_used(repo_copy: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo_copy, "new-module", "kb", "--port", "8020", "--title", 'Knowledge "Base"')
    assert result.returncode == 0, result.stderr
    assert build_cli(repo_copy).returncode == 0
    own = json.loads((repo_copy / "provisioning" / "dashboards" / "kb.json").read_text())
    assert own["title"] == 'Knowledge "Base" Dashboard'


@pytest.mark.parametrize(("args", "message"), [
    (["prompt_manager", "--port", "8010"], "dashboards/prompt_manager.py: already exists"),
    (["billing-gateway", "--port", "8010"], "must be lowercase snake_case"),
    (["Billing", "--port", "8010"], "must be lowercase snake_case"),
    (["9lives", "--port", "8010"], "must be lowercase snake_case"),
    (["billing__gateway", "--port", "8010"], "must be lowercase snake_case"),
    (["settings", "--port", "8010"], "reserved"),
    (["billing_gateway", "--port", "8001"], "port 8001 is already used by dashboards/prompt_security.py"),
    (["billing_gateway", "--port", "70000"], "port 70000 is not between 1 and 65535"),
    (["billing_gateway", "--port", "8010", "--title", "prompt-manager"], "clashes with dashboards/prompt_manager.py"),
    (["modules_overview", "--port", "8010"], "clashes with the overview"),
    (["a_module_name_that_is_far_too_long_for_a_uid", "--port", "8010"], "too long"),
])
def test_refusals_write_nothing(repo_copy: Path, build_cli: BuildRunner, args: list[str], message: str) -> None:
    before = snapshot(repo_copy, folders=("dashboards", "provisioning"))
    result = build_cli(repo_copy, "new-module", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert snapshot(repo_copy, folders=("dashboards", "provisioning")) == before
