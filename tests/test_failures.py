"""The corpus of broken module files in tests/broken_modules/: each fails the build with one clear error line
naming the file (and the panel), exits 1, and leaves every generated file byte-identical.

Each corpus file says what it expects in `# expect:` lines (all must appear in the error line) and, when it
must be installed under another name, `# install-as: NAME.py` (default `broken.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import BuildRunner, snapshot

CORPUS = sorted((Path(__file__).parent / "broken_modules").glob("*.py"))


def expectations(path: Path) -> tuple[str, list[str]]:
    """Return (file name to install as, fragments the error line must contain)."""
    text = path.read_text()
    install = re.search(r"^# install-as: (\S+)$", text, flags=re.MULTILINE)
    return (install.group(1) if install else "broken.py"), re.findall(r"^# expect: (.+)$", text, flags=re.MULTILINE)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20
    assert all(expectations(path)[1] for path in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_module_changes_nothing(path: Path, repo_copy: Path, build_cli: BuildRunner) -> None:
    install_as, expected = expectations(path)
    before = snapshot(repo_copy)
    (repo_copy / "dashboards" / install_as).write_text(path.read_text())
    result = build_cli(repo_copy)
    assert result.returncode == 1, result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, result.stderr
    for fragment in expected:
        assert fragment in error_lines[0], result.stderr
    assert "no file was changed" in result.stderr
    assert snapshot(repo_copy) == before
    assert build_cli(repo_copy, "--check").returncode == 1


def test_errors_in_two_files_are_both_reported(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "broken.py").write_text("raise ValueError('one')\n")
    (repo_copy / "dashboards" / "broken_too.py").write_text("raise ValueError('two')\n")
    result = build_cli(repo_copy)
    assert result.returncode == 1
    assert "dashboards/broken.py" in result.stderr and "dashboards/broken_too.py" in result.stderr
