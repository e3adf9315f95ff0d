"""Project settings: the dashboards carry the names the users know; titles change, uids never do."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from panels.settings import ProjectSettings
from tests.conftest import REPO, BuildRunner, snapshot


def titles(root: Path) -> dict[str, str]:
    """Return each generated dashboard's uid and title."""
    folder = root / "provisioning" / "dashboards"
    return {data["uid"]: data["title"] for data in (json.loads(p.read_text()) for p in sorted(folder.glob("*.json")))}


def test_the_users_names_are_the_defaults() -> None:
    assert titles(REPO) == {
        "modules-overview": "Trainer Modules Overview",
        "prompt-manager": "Prompt Manager Dashboard",
        "prompt-security": "Prompt Security Dashboard",
        "llm-provider": "LLM Provider Dashboard",
    }
    overview = json.loads((REPO / "provisioning" / "dashboards" / "modules-overview.json").read_text())
    assert {link["title"]: link["url"] for link in overview["links"]} == {
        "Prompt Manager Dashboard": "/d/prompt-manager", "Prompt Security Dashboard": "/d/prompt-security",
        "LLM Provider Dashboard": "/d/llm-provider"}


def test_changed_titles_keep_every_uid(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "settings.py").write_text(
        "from panels.settings import ProjectSettings\n"
        "SETTINGS = ProjectSettings(overview_title='All services', module_title='Service: {title} ({slug})')\n")
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert titles(repo_copy) == {
        "modules-overview": "All services",
        "prompt-manager": "Service: Prompt Manager (prompt-manager)",
        "prompt-security": "Service: Prompt Security (prompt-security)",
        "llm-provider": "Service: LLM Provider (llm-provider)",
    }
    module = json.loads((repo_copy / "provisioning" / "dashboards" / "prompt-manager.json").read_text())
    assert [link["title"] for link in module["links"]] == ["All services"]


def test_no_settings_file_means_the_defaults(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "settings.py").unlink()
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "0 written" in result.stdout
    assert snapshot(repo_copy) == before


@pytest.mark.parametrize(("body", "fragment"), [
    ("SETTINGS = ProjectSettings(module_title='{title:>30}')", "without format specs"),
    ("SETTINGS = ProjectSettings(module_title='{owner} board')", "may use only {title}"),
    ("SETTINGS = ProjectSettings(module_title='Static title')", "may use only {title}"),
    ("SETTINGS = ProjectSettings(module_title='{title')", "not a title pattern"),
    ("SETTINGS = ProjectSettings(overview_title='  ')", "non-blank printable"),
    ("SETTINGS = {'overview_title': 'x'}", "defines no SETTINGS = ProjectSettings"),
    ("import sys\nsys.exit(0)", "SystemExit"),
    ("SETTINGS = ProjectSettings(overview_title='Prompt Manager', module_title='{title}')", "same slug"),
])
def test_bad_settings_fail_the_build_naming_the_file(repo_copy: Path, build_cli: BuildRunner, body: str,
                                                     fragment: str) -> None:
    (repo_copy / "dashboards" / "settings.py").write_text(f"from panels.settings import ProjectSettings\n{body}\n")
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(repo_copy) == before


def test_settings_file_is_not_a_module_file() -> None:
    assert ProjectSettings().title_of("billing_gateway", "Billing Gateway") == "Billing Gateway Dashboard"
    assert ProjectSettings(module_title="{name}").title_of("billing_gateway", "x") == "billing_gateway"


def test_runbook_links_follow_the_setting(repo_copy: Path, build_cli: BuildRunner) -> None:
    base = "https://git.example.com/team/monitoring/blob/main/RUNBOOKS.md"
    (repo_copy / "dashboards" / "settings.py").write_text(
        f"from panels.settings import ProjectSettings\nSETTINGS = ProjectSettings(runbooks={base!r})\n")
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    links = [line.split(": ", 1)[1].strip('"') for path in (repo_copy / "prometheus" / "rules").glob("*.yml")
             for line in path.read_text().splitlines() if line.strip().startswith("runbook_url:")]
    assert links and all(link.startswith(f"{base}#") for link in links)


def test_a_runbooks_value_that_breaks_annotations_is_refused(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "settings.py").write_text(
        "from panels.settings import ProjectSettings\nSETTINGS = ProjectSettings(runbooks='{{ $labels.x }}')\n")
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 1 and "dashboards/settings.py" in result.stderr and "runbooks" in result.stderr
    assert snapshot(repo_copy) == before


def _module_constants(path: Path) -> set[str]:
    """Return the public upper-case names a Python file assigns at module level."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper() and not t.id.startswith("_")}
    return names


def test_no_stage_keeps_its_own_copy_of_a_setting() -> None:
    # One settings module, as the kubernetes-mixin's _config: every stage imports these names from it.
    settings = REPO / "panels" / "settings.py"
    shared = _module_constants(settings)
    assert {"DATASOURCE_UID", "SCRAPE_INTERVAL", "OVERVIEW_UID", "GRAFANA_FOLDER", "OPERATIONS_RATE"} <= shared
    files = [REPO / "build.py", *(p for folder in ("dashbuild", "panels", "rules", "dashboards")
                                  for p in sorted((REPO / folder).rglob("*.py")) if p != settings)]
    copies = {p.relative_to(REPO).as_posix(): sorted(_module_constants(p) & shared) for p in files}
    assert {path: names for path, names in copies.items() if names} == {}
