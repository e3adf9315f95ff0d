"""`python build.py diff`: the panel-level effect of a change, against a git revision."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dashbuild.diff import diff_dashboard
from tests.conftest import BuildRunner

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def git(root: Path, *args: str) -> None:
    """Run git in `root`."""
    subprocess.run([*GIT, "-C", str(root), *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(repo_copy: Path) -> Path:
    """Return the repository copy as a git repository with one commit."""
    git(repo_copy, "init", "-q")
    git(repo_copy, "add", "-A")
    git(repo_copy, "commit", "-qm", "base")
    return repo_copy


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` (which must occur) with `new` in a file."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_no_change_reports_nothing(repo: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo, "diff")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no dashboard changes\n"


def test_query_unit_and_title_changes_are_reported_per_panel(repo: Path, build_cli: BuildRunner) -> None:
    module = repo / "dashboards" / "llm_provider.py"
    edit(module, 'unit="reqps", title="Requests/s by provider"', 'unit="ops", title="Requests/s by provider"')
    edit(module, 'h.token_usage(CONTRACT.metric("tokens_total")).in_overview(),',
         'h.token_usage(CONTRACT.metric("tokens_total"), by=("type", "provider")).in_overview(),')
    edit(module, 'title="Provider distribution"', 'title="Share of requests by provider"')
    result = build_cli(repo, "diff")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "~ dashboard llm-provider.json 'LLM Provider Dashboard'" in out
    assert "  ~ panel 'Requests/s by provider'\n      fieldConfig.defaults.unit: \"reqps\" -> \"ops\"" in out
    assert ("      query A:\n        - sum by (type) (rate(llm_provider_tokens_total[$__rate_interval]))\n"
            "        + sum by (type, provider) (rate(llm_provider_tokens_total[$__rate_interval]))") in out
    assert "  + panel 'Share of requests by provider'" in out and "  - panel 'Provider distribution'" in out
    assert "~ dashboard modules-overview.json" in out  # the overview section follows the module


def test_new_module_is_an_added_dashboard_in_markdown(repo: Path, build_cli: BuildRunner) -> None:
    assert build_cli(repo, "new-module", "billing", "--port", "8050").returncode == 0
    result = build_cli(repo, "diff", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "### Added: `billing.json` (Billing Dashboard)" in result.stdout
    assert "- panel **Operations/s**" in result.stdout
    assert "- added panel **Billing: Operations/s**" in result.stdout


def test_key_order_is_not_a_change(repo: Path, build_cli: BuildRunner) -> None:
    # The committed JSON rewritten with another key order: same dashboards.
    path = repo / "provisioning" / "dashboards" / "prompt-manager.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(reversed(list(data.items()))), indent=4))
    git(repo, "commit", "-qam", "reorder keys")
    assert build_cli(repo, "diff").stdout == "no dashboard changes\n"


def test_layout_noise_only_with_layout_flag() -> None:
    before = {"title": "D", "panels": [
        {"type": "row", "title": "r", "panels": [], "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "id": 1},
        {"type": "stat", "title": "A", "gridPos": {"x": 0, "y": 1, "w": 12, "h": 5}, "id": 2, "targets": []},
    ]}
    after = json.loads(json.dumps(before))
    after["panels"][1]["gridPos"]["y"] = 7
    after["panels"][1]["id"] = 9
    assert diff_dashboard("d.json", before, after) is None
    change = diff_dashboard("d.json", before, after, layout=True)
    assert change is not None and change.panels[0].details == ("gridPos.y: 1 -> 7", "id: 2 -> 9")


def test_moved_between_rows_and_variables(repo: Path, build_cli: BuildRunner) -> None:
    module = repo / "dashboards" / "prompt_security.py"
    edit(module, '''            h.count_over_range(CONTRACT.metric("rate_limit_hits_total"), title="Rate limit hits"),
        )),
        Row("Events", (''', '''        )),
        Row("Events", (
            h.count_over_range(CONTRACT.metric("rate_limit_hits_total"), title="Rate limit hits"),''')
    edit(module, "rows=(", "variables=(h.label_variable(_validations, \"result\"),),\n    rows=(")
    out = build_cli(repo, "diff").stdout
    assert "moved: row 'Validation' position 4 -> row 'Events' position 1" in out
    assert "    variable $result added" in out


def test_unknown_base_is_a_clear_error(repo: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo, "diff", "--base", "no-such-ref")
    assert result.returncode == 2 and "cannot read provisioning/dashboards at 'no-such-ref'" in result.stderr
