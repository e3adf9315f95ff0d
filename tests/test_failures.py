"""A broken module file fails the build with one clear line naming it, and changes no file on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BuildRunner, snapshot

HEADER = '''
from contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")
'''


def module(rows: str, variables: str = "()") -> str:
    """Return a module file whose dashboard has the given rows expression."""
    return HEADER + f"\nDASHBOARD = ModuleDashboard(variables={variables}, rows={rows})\n"


CASES = {
    "raises": ("broken.py", HEADER + "\nraise RuntimeError('database password missing')\n",
               ["dashboards/broken.py", "RuntimeError: database password missing", "line"]),
    "syntax error": ("broken.py", "def oops(:\n", ["dashboards/broken.py", "SyntaxError"]),
    "import error": ("broken.py", "import no_such_helper_library\n",
                     ["dashboards/broken.py", "ModuleNotFoundError", "no_such_helper_library"]),
    "unknown metric": ("broken.py", HEADER + "\nX = CONTRACT.metric('operationz_total')\n",
                       ["dashboards/broken.py", "broken_operationz_total"]),
    "unknown label": ("broken.py", module("(Row('r', (h.rate_per_second(OPS, by=('tenant',)),)),)"),
                      ["dashboards/broken.py", "no label 'tenant'"]),
    "invalid promql": ("broken.py", module(
        "(Row('r', (Panel('timeseries', 'Bad query', 'd', 'ops', (Target('sum(rate(broken_operations_total"
        "[$__rate_interval])',),)),)),)"),
        ['dashboards/broken.py: panel "Bad query"', "does not parse"]),
    "undeclared metric": ("broken.py", module(
        "(Row('r', (Panel('timeseries', 'Ghost', 'd', 'ops', (Target('sum(rate(ghost_total[5m]))',),)),)),)"),
        ['dashboards/broken.py: panel "Ghost"', "ghost_total", "no module contract declares"]),
    "invalid unit": ("broken.py", module(
        "(Row('r', (h.rate_per_second(OPS, unit='operations per fortnight', title='Odd unit'),)),)"),
        ['dashboards/broken.py: panel "Odd unit"', "unit"]),
    "width over 24": ("broken.py", module("(Row('r', (h.rate_per_second(OPS).sized(width=30),)),)"),
                      ["dashboards/broken.py", "width must be 1..24"]),
    "undefined variable": ("broken.py", module(
        "(Row('r', (h.rate_per_second(OPS, where=(variable('operation'),), title='Filtered'),)),)"),
        ['dashboards/broken.py: panel "Filtered"', "$operation"]),
    "variable in overview panel": ("broken.py", module(
        "(Row('r', (h.rate_per_second(OPS, where=(variable('operation'),), title='Filtered').in_overview(),)),)",
        "(h.label_variable(OPS, 'operation'),)"),
        ['dashboards/broken.py: panel "Broken: Filtered"', "modules-overview.json", "$operation"]),
    "duplicate panel title": ("broken.py", module(
        "(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),"
        " h.cost_over_range(CONTRACT.metric('cost_total')))),)"),
        ['dashboards/broken.py: panel "Cost (time range)"', "title used twice"]),
    "title slug clash": ("broken.py", HEADER.replace('title="Broken"', 'title="prompt-manager"')
                         + "\nDASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('broken'),)),))\n",
                         ["dashboards/broken.py", "same slug 'prompt-manager'"]),
    "port in use": ("broken.py", HEADER.replace("port=8099", "port=8000")
                    + "\nDASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('broken'),)),))\n",
                    ["dashboards/broken.py", "8000", "dashboards/prompt_manager.py"]),
    "name differs from file": ("misnamed.py", module("(Row('r', (h.health('broken'),)),)"),
                               ["dashboards/misnamed.py", "must equal the file name"]),
    "no dashboard": ("broken.py", HEADER, ["dashboards/broken.py", "defines no DASHBOARD"]),
    "duplicate uid": ("modules_overview.py", HEADER.replace('"broken"', '"modules_overview"')
                      .replace('title="Broken"', 'title="All the modules"')
                      + "\nDASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('x'),)),))\n",
                      ["dashboards/overview.py",
                       "uid 'modules-overview' is also used by dashboards/modules_overview.py"]),
    "uid too long": ("a_module_name_that_is_far_too_long_for_a_uid.py",
                     HEADER.replace('"broken"', '"a_module_name_that_is_far_too_long_for_a_uid"')
                     + "\nDASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('x'),)),))\n",
                     ["dashboards/a_module_name_that_is_far_too_long_for_a_uid.py", "[a-z0-9-]{1,40}"]),
    "not a panel": ("broken.py", module("(Row('r', ('Operations/s',)),)"),
                    ["dashboards/broken.py", "panels must hold Panel values, got str"]),
    "thresholds descending": ("broken.py", module(
        "(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')).with_thresholds("
        "h.Step('green'), h.Step('red', 10), h.Step('yellow', 5)),)),)"),
        ["dashboards/broken.py", "strictly ascending"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_module_changes_nothing(case: str, repo_copy: Path, build_cli: BuildRunner) -> None:
    filename, source, expected = CASES[case]
    before = snapshot(repo_copy)
    (repo_copy / "dashboards" / filename).write_text(source)
    result = build_cli(repo_copy)
    assert result.returncode == 1, result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error_lines, result.stderr
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
