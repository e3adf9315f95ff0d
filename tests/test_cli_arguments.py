"""Bad command lines: one `error:` line naming the argument, exit 2 (1 for a refused module name), nothing changed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import BuildRunner, snapshot

USAGE_ERRORS = [
    (("--nope",), "No such option"),
    (("--check", "--repair"), "--check writes nothing"),
    (("--lock-timeout", "nan"), "--lock-timeout"),
    (("--lock-timeout", "-1"), "--lock-timeout"),
    (("--module-timeout", "inf"), "--module-timeout"),
    (("--module-timeout", "0"), "--module-timeout"),
    (("--module-timeout", "1e9"), "--module-timeout"),
    (("--module-timeout", "soon"), "--module-timeout"),
    (("--root",), "--root"),
    (("no-such-command",), "No such command"),
    (("new-module",), "Missing argument"),
    (("new-module", "x_y", "--port", "eighty"), "--port"),
    (("check-metrics", "prompt_manager"), "Missing argument"),
    (("check-metrics", "prompt_manager", "http://127.0.0.1:9/metrics", "--timeout", "nan"), "--timeout"),
    (("verify",), "--prometheus"),
    (("verify", "--prometheus", "http://127.0.0.1:9", "--timeout", "inf"), "--timeout"),
    (("verify", "--prometheus", "http://127.0.0.1:9", "--range", "forever"), "--range"),
    (("verify", "--prometheus", "http://[::1:9090"), "http://[::1:9090"),
    (("verify", "--prometheus", "ftp://127.0.0.1:9090"), "ftp://127.0.0.1:9090"),
    (("diff", "--format", "html"), "--format"),
    (("demo", "--port", "prompt_manager=x"), "--port"),
    (("check-metrics", "no_such_module", "-"), "no_such_module"),
]


@pytest.mark.parametrize(("args", "fragment"), USAGE_ERRORS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_bad_command_line_is_one_line_and_changes_nothing(repo_copy: Path, build_cli: BuildRunner,
                                                          args: tuple[str, ...], fragment: str) -> None:
    before = snapshot(repo_copy)
    result = build_cli(repo_copy, *args, input_text="")
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    assert snapshot(repo_copy) == before


@pytest.mark.parametrize("name", ["../../etc", "Billing", "x", "billing__gateway", "9lives", "prompt_manager"])
def test_refused_module_name_writes_nothing(repo_copy: Path, build_cli: BuildRunner, name: str) -> None:
    sources = sorted(p.name for p in (repo_copy / "dashboards").iterdir())
    result = build_cli(repo_copy, "new-module", name, "--port", "8099")
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert sorted(p.name for p in (repo_copy / "dashboards").iterdir()) == sources


def test_module_thread_that_never_ends_does_not_hang_the_build(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "spawns.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(10**6,)).start()\n")
    before = snapshot(repo_copy)
    started = time.monotonic()
    result = build_cli(repo_copy)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "error: dashboards/spawns.py: defines no CONTRACT" in result.stderr
    assert snapshot(repo_copy) == before
