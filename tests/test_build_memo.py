"""The no-change fast path (dashbuild/build_memo.py): it answers only when a build would change nothing, says
exactly what the build would say, and any change to what the build reads sends it through the full build."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashbuild.build_memo import MEMO, fingerprint, unchanged
from tests.conftest import REPO, BuildRunner, run_build, snapshot


def built(root: Path) -> Path:
    """Build `root` once so that the memo exists; return it."""
    result = run_build(root)
    assert result.returncode == 0, result.stderr
    assert (root / MEMO).is_file()
    return root


def same_answer(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Assert that `build.py ARGS` says and does exactly what it says and does with --no-cache; return it."""
    before = snapshot(root)
    fast = run_build(root, *args)
    after_fast = snapshot(root)
    slow = run_build(root, *args, "--no-cache")
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert after_fast == snapshot(root)
    if "--check" in args:
        assert after_fast == before
    return fast


def test_an_unchanged_repository_gets_the_builds_answer_without_a_build(repo_copy: Path) -> None:
    built(repo_copy)
    assert unchanged(repo_copy) is not None
    build = same_answer(repo_copy)
    assert build.stdout.endswith("0 written, 16 unchanged, 0 removed (manifest: build-manifest.json)\n")
    check = same_answer(repo_copy, "--check")
    assert check.stdout == "all 17 generated files are fresh\n"


@pytest.mark.parametrize("edit", [
    "module file", "module comment", "helper code", "settings", "hand-made rule file", "new module-folder file",
    "generated file", "manifest", "journal", "unknown output file",
])
def test_any_change_the_build_would_see_takes_the_full_path(repo_copy: Path, edit: str) -> None:
    built(repo_copy)
    module = repo_copy / "dashboards" / "prompt_manager.py"
    if edit == "module file":
        module.write_text(module.read_text(encoding="utf-8").replace('title="Prompt Manager"',
                                                                      'title="Prompt Desk"'), encoding="utf-8")
    elif edit == "module comment":
        module.write_text(module.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    elif edit == "helper code":
        helpers = repo_copy / "panels" / "helpers.py"
        helpers.write_text(helpers.read_text(encoding="utf-8") + "\n# touched\n", encoding="utf-8")
    elif edit == "settings":
        (repo_copy / "dashboards" / "settings.py").write_text(
            (repo_copy / "dashboards" / "settings.py").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    elif edit == "hand-made rule file":
        (repo_copy / "prometheus" / "rules" / "team.yml").write_text("groups: []\n", encoding="utf-8")
    elif edit == "new module-folder file":
        (repo_copy / "dashboards" / "thresholds.json").write_text("{}\n", encoding="utf-8")
    elif edit == "generated file":
        target = repo_copy / "provisioning" / "dashboards" / "prompt-manager.json"
        target.write_text(target.read_text(encoding="utf-8").replace("Prompt", "Prom"), encoding="utf-8")
    elif edit == "manifest":
        (repo_copy / "build-manifest.json").unlink()
    elif edit == "journal":
        (repo_copy / ".build-journal.json").write_text("{}", encoding="utf-8")
    elif edit == "unknown output file":
        (repo_copy / "provisioning" / "dashboards" / "hand-made.json").write_text("{}", encoding="utf-8")
    assert unchanged(repo_copy) is None
    same_answer(repo_copy, "--check")


def test_the_tools_and_installed_distributions_are_part_of_the_fingerprint(repo_copy: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    before = fingerprint(repo_copy, frozenset())
    monkeypatch.setenv("PATH", str(tmp_path))  # no promtool, no amtool
    assert fingerprint(repo_copy, frozenset()) != before
    monkeypatch.undo()
    fake_site = tmp_path / "site"
    fake_site.mkdir()
    (fake_site / "attrs-99.0.dist-info").mkdir()
    monkeypatch.setattr("site.getsitepackages", lambda: [str(fake_site)])
    assert fingerprint(repo_copy, frozenset()) != before


@pytest.mark.parametrize("memo", ["not json", '{"version": 1}', json.dumps({
    "version": 1, "fingerprint": "x", "files": {"../outside": "0" * 64}, "summary": [], "warnings": []})])
def test_a_damaged_or_tampered_memo_is_ignored(repo_copy: Path, build_cli: BuildRunner, memo: str) -> None:
    built(repo_copy)
    (repo_copy / MEMO).write_text(memo, encoding="utf-8")
    assert unchanged(repo_copy) is None
    same_answer(repo_copy, "--check")


def test_a_memo_that_claims_other_files_is_not_believed(repo_copy: Path) -> None:
    built(repo_copy)
    memo = json.loads((repo_copy / MEMO).read_text(encoding="utf-8"))
    memo["summary"] = ["a summary of another build"]
    path = "provisioning/dashboards/prompt-manager.json"
    memo["files"][path] = "0" * 64
    (repo_copy / MEMO).write_text(json.dumps(memo), encoding="utf-8")
    assert unchanged(repo_copy) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_cache_folder_the_disk_refuses_does_not_fail_the_build(repo_copy: Path) -> None:
    cache = repo_copy / ".dashbuild-cache"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = run_build(repo_copy)
        assert result.returncode == 0, result.stderr
        assert not (repo_copy / MEMO).exists()
    finally:
        cache.chmod(stat.S_IRWXU)


def test_a_cache_path_blocked_by_a_file_does_not_fail_the_build(repo_copy: Path) -> None:
    (repo_copy / ".dashbuild-cache").write_text("not a folder\n", encoding="utf-8")
    result = run_build(repo_copy)
    assert result.returncode == 0, result.stderr
    assert run_build(repo_copy, "--check").returncode == 0


EDITS = {
    "title": ("dashboards/llm_provider.py", 'title="LLM Provider"', 'title="LLM Gateway"'),
    "comment": ("dashboards/prompt_security.py", '"""', '# a comment\n"""'),
    "helper": ("panels/helpers.py", '"""Return a stat of the share', '"""Return a stat showing the share'),
    "settings": ("dashboards/settings.py", "from ", "# settings\nfrom "),
}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=2),
       revert=st.booleans())
def test_after_any_edits_the_build_equals_a_clean_one(repo_copy: Path, steps: list[str], revert: bool) -> None:
    root = repo_copy
    built(root)
    originals = {path: (root / path).read_text(encoding="utf-8") for path, _old, _new in EDITS.values()}
    try:
        for step in steps:
            path, old, new = EDITS[step]
            text = (root / path).read_text(encoding="utf-8")
            assert old in text or new in text, (path, old)
            (root / path).write_text(text.replace(old, new, 1) if new not in text else text.replace(new, old, 1),
                                     encoding="utf-8")
            assert run_build(root).returncode == 0
            incremental = snapshot(root)
            clean = run_build(root, "--no-cache")
            assert clean.returncode == 0 and snapshot(root) == incremental
        if revert:
            for path, text in originals.items():
                (root / path).write_text(text, encoding="utf-8")
            assert run_build(root).returncode == 0
            assert snapshot(root) == snapshot(REPO)
    finally:
        for path, text in originals.items():
            (root / path).write_text(text, encoding="utf-8")


def logging_promtool(folder: Path, log: Path) -> dict[str, str]:
    """Put a `promtool` on PATH that logs each run and then runs Debian's; return the environment to use."""
    folder.mkdir()
    real = shutil.which("promtool")
    assert real is not None
    script = folder / "promtool"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def runs(log: Path) -> int:
    """Return how many times the logging promtool ran."""
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def test_promtool_runs_only_on_a_prometheus_tree_it_has_not_passed(repo_copy: Path, tmp_path: Path) -> None:
    log = tmp_path / "promtool.log"
    env = logging_promtool(tmp_path / "bin", log)

    def build(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "build.py", *args], cwd=repo_copy, env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    assert build().returncode == 0 and runs(log) == 1
    module = repo_copy / "dashboards" / "prompt_manager.py"
    text = module.read_text(encoding="utf-8")
    module.write_text(text.replace('title="Operations/s by status"', 'title="Operations by status"'),
                      encoding="utf-8")
    assert build().returncode == 0 and runs(log) == 1  # a panel title: the Prometheus tree is the same bytes
    rules = repo_copy / "prometheus" / "rules" / "team.yml"
    rules.write_text("groups:\n- name: team\n  rules:\n  - record: x:y\n    expr: sum(\n", encoding="utf-8")
    failed = build()
    assert failed.returncode == 1 and "promtool check config" in failed.stderr and runs(log) == 2
    assert build().returncode == 1 and runs(log) == 3  # a failure is never remembered
    rules.unlink()
    assert build("--check").returncode == 0 and runs(log) == 3  # this tree passed before
    (tmp_path / "bin" / "promtool").touch()  # another promtool (its identity changed): checked again
    assert build("--check").returncode == 0 and runs(log) == 4
    assert build("--check").returncode == 0 and runs(log) == 5  # --check remembers nothing
    assert build("--no-cache").returncode == 0 and runs(log) == 6


def reference_is_safe_path(path: str) -> bool:
    """The path rule written with PurePosixPath, as it was before the string version."""
    from pathlib import PurePosixPath

    pure = PurePosixPath(path)
    return (bool(path) and "\\" not in path and "\x00" not in path and not pure.is_absolute()
            and ".." not in pure.parts and "." not in path.split("/") and pure.parts[0] != ".git"
            and pure.as_posix() == path)


@given(st.lists(st.sampled_from(["a", "é", "/", ".", "..", ".git", "\\", "\x00", " ", "x"]), max_size=12))
def test_the_manifest_path_rule_is_the_pathlib_one(pieces: list[str]) -> None:
    from dashbuild.manifest import is_safe_path

    path = "".join(pieces)
    assert is_safe_path(path) == reference_is_safe_path(path)
