"""`python build.py diff`: the effect of a change on every generated file, against a git revision.

The golden test scripts a series of commits in a temp repository, one kind of change each, and compares the
text report with tests/golden/diff/<step>.txt (two steps also as Markdown and with --layout). Regenerate those
files only on purpose: `UPDATE_GOLDEN=1 python -m pytest tests/test_diff.py`, then review them like code.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dashbuild.diff import diff_files, render_markdown
from dashbuild.diff_dashboard import diff_dashboard
from dashbuild.diff_model import Change, FileDiff
from dashbuild.diff_yaml import diff_rules
from tests.conftest import BuildRunner

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
GOLDEN = Path(__file__).parent / "golden" / "diff"


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
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_no_change_reports_nothing(repo: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo, "diff")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no changes to generated files\n"


def test_key_order_is_not_a_change(repo: Path, build_cli: BuildRunner) -> None:
    # The committed JSON rewritten with another key order: same dashboards.
    path = repo / "provisioning" / "dashboards" / "prompt-manager.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(reversed(list(data.items()))), indent=4))
    git(repo, "commit", "-qam", "reorder keys")
    assert build_cli(repo, "diff").stdout == "no changes to generated files\n"


def test_unknown_base_is_a_clear_error(repo: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo, "diff", "--base", "no-such-ref")
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot read the generated files at 'no-such-ref': ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_hand_made_files_beside_generated_ones_are_not_reported(repo: Path, build_cli: BuildRunner) -> None:
    # The build checks and keeps a rule file of one's own; it is not the build's output, so never "removed".
    (repo / "prometheus" / "rules" / "custom.yml").write_text(
        "groups:\n- name: custom\n  rules:\n  - alert: Custom\n    expr: up == 0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a hand-made rule file")
    result = build_cli(repo, "diff")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no changes to generated files\n"


# --- the scripted series of commits -------------------------------------------------------------------------

Step = Callable[[Path, BuildRunner], None]
PM, PS, LLM = "dashboards/prompt_manager.py", "dashboards/prompt_security.py", "dashboards/llm_provider.py"


def retitle(root: Path, _: BuildRunner) -> None:
    edit(root / PM, 'title="Operations/s").in_overview()', 'title="Operations per second").in_overview()')


def change_query(root: Path, _: BuildRunner) -> None:
    edit(root / LLM, 'h.token_usage(CONTRACT.metric("tokens_total")).in_overview(),',
         'h.token_usage(CONTRACT.metric("tokens_total"), by=("type", "provider")).in_overview(),')


def change_objective(root: Path, _: BuildRunner) -> None:
    # The P95 objective is the dashboard's threshold and the HighLatencyP95 alert's bound at once.
    edit(root / PM, "p95_seconds=0.5,", "p95_seconds=0.4,")


RATE_LIMIT_HITS = '            h.count_over_range(CONTRACT.metric("rate_limit_hits_total"), title="Rate limit hits"),\n'
COST_RATE = '            h.cost_rate(CONTRACT.metric("cost_total")),\n'


def add_and_remove_panels(root: Path, _: BuildRunner) -> None:
    edit(root / PS, RATE_LIMIT_HITS, RATE_LIMIT_HITS + COST_RATE)
    text = (root / PS).read_text()
    start = text.index('            h.distribution(_injections, "technique"')
    end = text.index("\n", text.index(".sized(width=8)", start)) + 1
    (root / PS).write_text(text[:start] + text[end:])


def move_panel(root: Path, _: BuildRunner) -> None:
    events = '        )),\n        Row("Events", (\n'
    edit(root / PS, RATE_LIMIT_HITS + COST_RATE + events, COST_RATE + events + RATE_LIMIT_HITS)


def add_module(root: Path, build: BuildRunner) -> None:
    result = build(root, "new-module", "billing", "--port", "8050")
    assert result.returncode == 0, result.stderr


def change_scrape_port(root: Path, _: BuildRunner) -> None:
    edit(root / "dashboards" / "billing.py", "ScrapeTarget(port=8050", "ScrapeTarget(port=8051")


def change_settings(root: Path, _: BuildRunner) -> None:
    edit(root / "dashboards" / "settings.py", 'repeat_interval="4h"', 'repeat_interval="2h"')


def remove_module(root: Path, _: BuildRunner) -> None:
    (root / "dashboards" / "billing.py").unlink()


def change_unit(root: Path, _: BuildRunner) -> None:
    edit(root / LLM, 'unit="reqps", title="Requests/s by provider"', 'unit="rps", title="Requests/s by provider"')


def change_provisioning(root: Path, _: BuildRunner) -> None:
    # The platform's wiring (panels/settings.py) writes the provisioning YAML.
    edit(root / "panels" / "settings.py", 'GRAFANA_FOLDER = "Modules"', 'GRAFANA_FOLDER = "Module dashboards"')


STEPS: tuple[tuple[str, Step], ...] = (
    ("01-retitle", retitle),
    ("02-query", change_query),
    ("03-objective", change_objective),
    ("04-add-remove-panels", add_and_remove_panels),
    ("05-move-panel", move_panel),
    ("06-add-module", add_module),
    ("07-scrape-port", change_scrape_port),
    ("08-settings", change_settings),
    ("09-remove-module", remove_module),
    ("10-unit", change_unit),
    ("11-provisioning", change_provisioning),
)
# Steps also shown with other options, each in tests/golden/diff/<step><suffix>.
VARIANTS: dict[str, tuple[tuple[str, ...], str]] = {
    "03-objective": (("--format", "markdown"), ".md"),
    "05-move-panel": (("--layout",), ".layout.txt"),
}


def test_golden_diffs_of_a_series_of_commits(repo: Path, build_cli: BuildRunner) -> None:
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    mismatched = []
    for name, step in STEPS:
        step(repo, build_cli)
        variant = VARIANTS.get(name)
        for args, suffix in [((), ".txt"), *([variant] if variant else [])]:
            result = build_cli(repo, "diff", *args)
            assert result.returncode == 0, f"{name}: {result.stderr}"
            golden = GOLDEN / f"{name}{suffix}"
            if update:
                golden.parent.mkdir(parents=True, exist_ok=True)
                golden.write_text(result.stdout)
            elif not golden.exists() or golden.read_text() != result.stdout:
                mismatched.append(f"{name}{suffix}:\n{result.stdout}")
        built = build_cli(repo)
        assert built.returncode == 0, f"{name}: {built.stderr}"
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", name)
    assert not mismatched, "diff output differs from tests/golden/diff (UPDATE_GOLDEN=1 to accept):\n" + \
        "\n".join(mismatched)


def test_golden_files_say_what_each_step_changed() -> None:
    # The golden files are reviewed output: each shows its kind of change the way a reviewer needs it.
    text = {name: (GOLDEN / f"{name}.txt").read_text() for name, _ in STEPS}
    text |= {name + suffix: (GOLDEN / f"{name}{suffix}").read_text() for name, (_, suffix) in VARIANTS.items()}
    assert '      title: "Operations/s" → "Operations per second"' in text["01-retitle"]
    assert "+ panel" not in text["01-retitle"] and "- panel" not in text["01-retitle"]
    assert "section 'Prompt Manager' (dashboards/prompt_manager.py):" in text["01-retitle"]
    assert "+ sum by (type, provider) (rate(llm_provider_tokens_total[$__rate_interval]))" in text["02-query"]
    assert "~ alert PromptManagerHighLatencyP95" in text["03-objective"]
    assert "fieldConfig.defaults.thresholds.steps[1].value: 0.5 → 0.4" in text["03-objective"]
    assert "+ panel 'Cost per hour'" in text["04-add-remove-panels"]
    assert "- panel 'Injections by technique'" in text["04-add-remove-panels"]
    assert "moved: row 'Validation' position 4 → row 'Events' position 1" in text["05-move-panel"]
    assert "+ provisioning/dashboards/billing.json dashboard 'Billing Dashboard'" in text["06-add-module"]
    assert "+ scrape job billing" in text["06-add-module"]
    assert "link added: \"Billing Dashboard\" (/d/billing)" in text["06-add-module"]
    assert "links[" not in text["06-add-module"]
    assert "~ scrape job billing" in text["07-scrape-port"] and "8051" in text["07-scrape-port"]
    assert 'route.repeat_interval: "4h" → "2h"' in text["08-settings"]
    assert "- provisioning/dashboards/billing.json" in text["09-remove-module"]
    assert 'fieldConfig.defaults.unit: "reqps" → "rps"' in text["10-unit"]
    assert "~ provisioning/dashboards/dashboards.yaml settings" in text["11-provisioning"]
    assert 'providers[0].folder: "Modules" → "Module dashboards"' in text["11-provisioning"]
    assert "### Changed: `prometheus/rules/prompt-manager.alerts.yml` (rules)" in text["03-objective.md"]
    assert "  ```diff" in text["03-objective.md"]
    assert "gridPos.y:" in text["05-move-panel.layout.txt"] and "gridPos" not in text["05-move-panel"]


# --- units ----------------------------------------------------------------------------------------------------

def _dashboard(*panels: dict[str, object]) -> dict[str, object]:
    return {"title": "D", "panels": [
        {"type": "row", "title": "r", "panels": [], "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "id": 1},
        *panels]}


def _stat(title: str, panel_id: int, y: int = 1) -> dict[str, object]:
    return {"type": "stat", "title": title, "gridPos": {"x": 0, "y": y, "w": 12, "h": 5}, "id": panel_id,
            "targets": []}


def test_layout_noise_only_with_layout_flag() -> None:
    before = _dashboard(_stat("A", 2))
    after = _dashboard(_stat("A", 9, y=7))
    assert diff_dashboard("d.json", before, after) is None
    change = diff_dashboard("d.json", before, after, layout=True)
    assert change is not None and change.changes[0].details == ("gridPos.y: 1 → 7", "id: 2 → 9")


def test_a_panel_is_found_by_id_when_retitled() -> None:
    change = diff_dashboard("d.json", _dashboard(_stat("A", 2)), _dashboard(_stat("B", 2)))
    assert change is not None
    assert change.changes == (Change("changed", "panel 'B'", ('title: "A" → "B"',)),)


def test_inserting_a_panel_does_not_move_the_ones_after_it() -> None:
    before = _dashboard(_stat("A", 2), _stat("B", 3))
    after = _dashboard(_stat("New", 4), _stat("A", 2), _stat("B", 3))
    change = diff_dashboard("d.json", before, after)
    assert change is not None and [(c.kind, c.what) for c in change.changes] == [("added", "panel 'New'")]


def test_a_retitled_row_is_one_line_not_its_panels_moved() -> None:
    def rows(title: str) -> dict[str, object]:
        dashboard = _dashboard(_stat("A", 2), _stat("B", 3))
        dashboard["panels"][0]["title"] = title  # type: ignore[index]
        return dashboard

    change = diff_dashboard("d.json", rows("Summary"), rows("At a glance"))
    assert change is not None and change.changes == ()
    assert change.details == ('row title: "Summary" → "At a glance"',)
    # A panel that really changes row is still moved.
    before = _dashboard(_stat("A", 2), _stat("B", 3))
    after = {"title": "D", "panels": [*before["panels"][:2],  # type: ignore[index]
                                      {"type": "row", "title": "s", "panels": [], "id": 5}, _stat("B", 3)]}
    change = diff_dashboard("d.json", before, after)
    assert change is not None and change.details == ()
    assert change.changes[0].details == ("moved: row 'r' position 2 → row 's' position 1",)


def test_a_changed_alert_label_is_a_change_not_a_removal() -> None:
    rule = {"alert": "Down", "expr": "up == 0", "for": "1m", "labels": {"severity": "warning"}}
    before = {"groups": [{"name": "g", "rules": [rule]}]}
    after = {"groups": [{"name": "g", "rules": [{**rule, "for": "2m", "labels": {"severity": "critical"}}]}]}
    change = diff_rules("r.yml", before, after)
    assert change is not None
    assert change.changes == (Change("changed", "alert Down (group g)",
                                     ('for: "1m" → "2m"', 'labels.severity: "warning" → "critical"')),)


def test_markdown_fits_a_pull_request_comment() -> None:
    many = [FileDiff(f"f{i}.yml", "settings", "changed", (), tuple(f"x{j}: 1 → 2" for j in range(100)))
            for i in range(200)]
    text = render_markdown(many, limit=60_000)
    assert len(text) < 65_536
    assert text.rstrip().endswith("not shown: run `python build.py diff` locally._")


def test_the_manifest_is_not_reported() -> None:
    assert diff_files({"build-manifest.json": b"{}"}, {"build-manifest.json": b'{"a": 1}'}) == []
