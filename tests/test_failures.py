"""The corpus of broken module files in tests/broken_modules/: each fails the build with one clear error line
naming the file (and the panel), exits 1, and leaves every generated file byte-identical.

Each corpus file says what it expects in `# expect:` lines (all must appear in the error line) and, when it
must be installed under another name, `# install-as: NAME.py` (default `broken.py`). `# args: ...` lines are
passed to build.py (e.g. `--module-timeout 1`), and `# exit: N` expects another exit code than 1 (e.g. 130,
a module raising KeyboardInterrupt stops the build as Ctrl-C does).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import attrs
import pytest

from tests.conftest import BuildRunner, snapshot

CORPUS = sorted((Path(__file__).parent / "broken_modules").glob("*.py"))


@attrs.frozen
class Case:
    """What a corpus file expects of the build."""

    install_as: str
    expected: list[str]
    args: list[str]
    exit_code: int


def expectations(path: Path) -> Case:
    """Return the corpus file's install name, error-line fragments, build.py arguments and exit code."""
    text = path.read_text()

    def lines(key: str) -> list[str]:
        return re.findall(rf"^# {key}: (.+)$", text, flags=re.MULTILINE)

    install, exit_code = lines("install-as"), lines("exit")
    return Case(install_as=install[0] if install else "broken.py", expected=lines("expect"),
                args=[arg for line in lines("args") for arg in shlex.split(line)],
                exit_code=int(exit_code[0]) if exit_code else 1)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20
    assert all(expectations(path).expected for path in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_module_changes_nothing(path: Path, repo_copy: Path, build_cli: BuildRunner) -> None:
    case = expectations(path)
    before = snapshot(repo_copy)
    (repo_copy / "dashboards" / case.install_as).write_text(path.read_text())
    result = build_cli(repo_copy, *case.args)
    assert result.returncode == case.exit_code, result.stdout + result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, result.stderr
    for fragment in case.expected:
        assert fragment in error_lines[0], result.stderr
    assert "no file was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(repo_copy) == before
    assert build_cli(repo_copy, *case.args, "--check").returncode == case.exit_code


def test_errors_in_two_files_are_both_reported(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "broken.py").write_text("raise ValueError('one')\n")
    (repo_copy / "dashboards" / "broken_too.py").write_text("raise ValueError('two')\n")
    result = build_cli(repo_copy)
    assert result.returncode == 1
    assert "dashboards/broken.py" in result.stderr and "dashboards/broken_too.py" in result.stderr
