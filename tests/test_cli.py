"""What every build.py command shares: the project of `--root`, and failures as `error:` lines with an exit code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashbuild.cli_support import exit_with_errors, exiting_on_failure
from dashbuild.discover import ModuleLoadInterrupted
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.lock import LOCK
from tests.conftest import BuildRunner, snapshot

BROKEN_MODULE = Path(__file__).parent / "broken_modules" / "no_dashboard.py"
BROKEN_ERROR = "error: dashboards/broken.py: defines no DASHBOARD = ModuleDashboard(...)"
SUMMARY = "build failed with 1 error(s); no file was changed"

# The commands that build print the summary line after the errors; those that only load the modules do not.
COMMANDS = [
    ((), True),
    (("--check",), True),
    (("--repair",), True),
    (("diff",), True),
    (("prometheus-config", "--out", "host"), True),
    (("lint",), False),
    (("check-metrics", "broken", "-"), False),
    (("demo", "--duration", "0.1"), False),
]


def files_under(root: Path) -> list[str]:
    """Return every path under `root`, relative and sorted."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


@pytest.fixture
def broken_project(tmp_path: Path) -> Path:
    """Return a project outside the repository whose only module file fails to load."""
    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    shutil.copy2(BROKEN_MODULE, project / "dashboards" / "broken.py")
    return project


@pytest.mark.parametrize(("args", "summary"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_works_on_the_root_project(repo_copy: Path, build_cli: BuildRunner, broken_project: Path,
                                                 args: tuple[str, ...], summary: bool) -> None:
    before = snapshot(repo_copy)
    result = build_cli(repo_copy, "--root", str(broken_project), *args, input_text="")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == ([BROKEN_ERROR, SUMMARY] if summary else [BROKEN_ERROR])
    assert result.stdout == ""
    assert snapshot(repo_copy) == before
    assert set(files_under(broken_project)) - {LOCK} == {"dashboards", "dashboards/broken.py"}


def test_new_module_is_created_in_the_root_project(repo_copy: Path, build_cli: BuildRunner, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    sources = files_under(repo_copy / "dashboards")
    result = build_cli(repo_copy, "--root", str(project), "new-module", "billing_gateway", "--port", "8099")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("created dashboards/billing_gateway.py: ")
    assert files_under(project) == ["dashboards", "dashboards/billing_gateway.py"]
    assert files_under(repo_copy / "dashboards") == sources


@pytest.mark.parametrize("summary", [True, False])
def test_a_failed_build_is_one_line_per_error(capsys: pytest.CaptureFixture[str], summary: bool) -> None:
    failure = BuildFailed([BuildError("dashboards/a.py", "bad unit", panel="Cost"), BuildError("dashboards/b.py", "x")])
    with pytest.raises(SystemExit) as exited:
        exit_with_errors(failure, summary=summary)
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    errors = ['error: dashboards/a.py: panel "Cost": bad unit', "error: dashboards/b.py: x"]
    assert err.splitlines() == ([*errors, "build failed with 2 error(s); no file was changed"] if summary else errors)


def test_an_environments_errors_name_its_folder(capsys: pytest.CaptureFixture[str]) -> None:
    # The one error printer serves environment builds too: each path is prefixed with deploy/NAME/.
    with pytest.raises(SystemExit) as exited:
        exit_with_errors(BuildFailed([BuildError("kubernetes/x.yaml", "refused")]), summary=True,
                         shown="deploy/production/")
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: deploy/production/kubernetes/x.yaml: refused", "build failed with 1 error(s); no file was changed"]


@pytest.mark.parametrize(("raised", "building", "code", "line"), [
    (BuildError("dashboards/a.py", "already exists"), False, 1, "error: dashboards/a.py: already exists"),
    (BuildError("dashboards/a.py", "already exists"), True, 1, "error: dashboards/a.py: already exists"),
    (ModuleLoadInterrupted("dashboards/a.py"), True, 130,
     "error: interrupted while loading dashboards/a.py; no file was changed"),
    (KeyboardInterrupt(), True, 130, "error: interrupted; no file was changed"),
], ids=["build-error", "build-error-building", "module-interrupted", "ctrl-c"])
def test_failure_becomes_its_error_line_and_exit_code(capsys: pytest.CaptureFixture[str], raised: BaseException,
                                                      building: bool, code: int, line: str) -> None:
    with pytest.raises(SystemExit) as exited, exiting_on_failure(building=building):
        raise raised
    assert exited.value.code == code
    assert capsys.readouterr() == ("", line + "\n")


@pytest.mark.parametrize("raised", [ModuleLoadInterrupted("dashboards/a.py"), KeyboardInterrupt(), SystemExit(2)],
                         ids=["module-interrupted", "ctrl-c", "exit"])
def test_ctrl_c_outside_a_build_and_exits_pass_through(capsys: pytest.CaptureFixture[str],
                                                       raised: BaseException) -> None:
    with pytest.raises(type(raised)) as caught, exiting_on_failure(building=False):
        raise raised
    assert caught.value is raised
    assert capsys.readouterr() == ("", "")
