"""A module file cannot take the build down: whatever it does at import (exit, raise any BaseException, loop,
sleep, wait for input, parse the command line, chdir) the build reports it naming the file, exits 1 (130 on
Ctrl-C), and writes nothing; and the build's own state is restored after each import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashbuild.discover import DEFAULT_MODULE_TIMEOUT, MODULE_TIMEOUT_ENV, discover, module_timeout, set_module_timeout
from dashbuild.errors import BuildFailed
from tests.conftest import BuildRunner, snapshot

TIMEOUT = ("--module-timeout", "1")

VALID = '''
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="{name}", title="{title}", target=ScrapeTarget(port=8097),
                          metrics=standard_metrics("{name}"))
DASHBOARD = ModuleDashboard(rows=(Row("Traffic", (h.rate_per_second(CONTRACT.metric("operations_total")),)),))
'''


def valid_module(name: str, title: str = "Odd Module") -> str:
    """Return the source of a module file that builds, named `name`."""
    return VALID.format(name=name, title=title)


def error_lines(stderr: str) -> list[str]:
    """Return the `error: ` lines of a build's stderr."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def assert_fails_naming(result: subprocess.CompletedProcess[str], fragment: str, code: int = 1) -> None:
    """Assert the build exited `code` with exactly one error line containing `fragment`, and no traceback."""
    assert result.returncode == code, result.stdout + result.stderr
    (line,) = error_lines(result.stderr)
    assert fragment in line, result.stderr
    assert "no file was changed" in result.stderr
    assert "Traceback" not in result.stderr and "Aborted!" not in result.stderr


def build_with(root: Path, source: str, build_cli: BuildRunner, *args: str,
               name: str = "broken.py") -> subprocess.CompletedProcess[str]:
    """Install `source` as dashboards/NAME in `root`, run the build, and check that it wrote nothing."""
    before = snapshot(root)
    (root / "dashboards" / name).write_text(source)
    result = build_cli(root, *args)
    assert snapshot(root) == before
    return result


@pytest.mark.parametrize(("source", "fragment"), [
    ("import sys\nsys.exit(0)\n", "dashboards/broken.py: failed to load (line 2): SystemExit: 0"),
    ("import sys\nsys.exit()\n", "dashboards/broken.py: failed to load (line 2): SystemExit"),
    ("import sys\nsys.exit(3)\n", "dashboards/broken.py: failed to load (line 2): SystemExit: 3"),
    ("raise SystemExit('no config')\n", "dashboards/broken.py: failed to load (line 1): SystemExit: no config"),
    ("raise GeneratorExit\n", "dashboards/broken.py: failed to load (line 1): GeneratorExit"),
    ("class Stop(BaseException):\n    pass\nraise Stop('now')\n", "failed to load (line 3): Stop: now"),
], ids=["exit-0", "exit-none", "exit-3", "system-exit-message", "generator-exit", "base-exception-subclass"])
def test_base_exceptions_are_a_failed_load(source: str, fragment: str, repo_copy: Path,
                                           build_cli: BuildRunner) -> None:
    assert_fails_naming(build_with(repo_copy, source, build_cli), fragment)


def test_check_with_a_module_calling_sys_exit_0_fails(repo_copy: Path, build_cli: BuildRunner) -> None:
    result = build_with(repo_copy, "import sys\nsys.exit(0)\n", build_cli, "--check")
    assert_fails_naming(result, "dashboards/broken.py: failed to load (line 2): SystemExit: 0")
    assert "are fresh" not in result.stdout


def test_every_broken_file_is_reported(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "broken_too.py").write_text("raise GeneratorExit\n")
    result = build_with(repo_copy, "import sys\nsys.exit(0)\n", build_cli)
    assert result.returncode == 1
    assert [line.split(":")[1].strip() for line in error_lines(result.stderr)] == [
        "dashboards/broken.py", "dashboards/broken_too.py"]


def test_keyboard_interrupt_raised_by_a_module_stops_the_build(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "dashboards" / "broken_too.py").write_text("raise GeneratorExit\n")
    result = build_with(repo_copy, "raise KeyboardInterrupt\n", build_cli)
    assert_fails_naming(result, "error: interrupted while loading dashboards/broken.py; no file was changed", 130)


@pytest.mark.parametrize(("source", "line"), [
    ("x = 0\nwhile True: x += 1\n", 2),
    ("import time\ntime.sleep(10**6)\n", 2),
    ("import threading\nthreading.Event().wait()\n", 2),
], ids=["endless-loop", "sleep", "event-wait"])
def test_a_module_that_does_not_finish_loading_times_out(source: str, line: int, repo_copy: Path,
                                                         build_cli: BuildRunner) -> None:
    started = time.monotonic()
    result = build_with(repo_copy, source, build_cli, *TIMEOUT)
    assert_fails_naming(result, "dashboards/broken.py: did not finish loading within 1 s (an endless loop or a "
                                f"blocking call at import? it was at line {line})")
    assert time.monotonic() - started < 20


def test_the_time_limit_applies_with_check_and_to_lint(repo_copy: Path, build_cli: BuildRunner) -> None:
    source = "import time\ntime.sleep(10**6)\n"
    assert_fails_naming(build_with(repo_copy, source, build_cli, *TIMEOUT, "--check"), "within 1 s")
    lint = build_cli(repo_copy, *TIMEOUT, "lint")
    assert lint.returncode == 1
    assert "dashboards/broken.py: did not finish loading within 1 s" in lint.stderr


def test_the_time_limit_comes_from_the_environment(repo_copy: Path, build_cli: BuildRunner,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODULE_TIMEOUT_ENV, "1")
    result = build_with(repo_copy, "import time\ntime.sleep(10**6)\n", build_cli)
    assert_fails_naming(result, "dashboards/broken.py: did not finish loading within 1 s")


def test_the_default_time_limit_is_10_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODULE_TIMEOUT_ENV, raising=False)
    set_module_timeout(None)
    assert module_timeout() == DEFAULT_MODULE_TIMEOUT == 10
    monkeypatch.setenv(MODULE_TIMEOUT_ENV, "2.5")
    assert module_timeout() == 2.5
    monkeypatch.setenv(MODULE_TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=MODULE_TIMEOUT_ENV):
        module_timeout()


def test_an_invalid_module_timeout_is_a_usage_error(repo_copy: Path, build_cli: BuildRunner) -> None:
    result = build_cli(repo_copy, "--module-timeout", "0")
    assert result.returncode == 2
    assert "--module-timeout" in result.stderr


def test_a_module_swallowing_the_time_limit_is_ended_by_the_watchdog(repo_copy: Path,
                                                                     build_cli: BuildRunner) -> None:
    source = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n"
    result = build_with(repo_copy, source, build_cli, *TIMEOUT)
    assert_fails_naming(result, "dashboards/broken.py: did not finish loading within 1 s")


def test_input_at_import_reads_an_empty_stdin(repo_copy: Path, build_cli: BuildRunner) -> None:
    # Were the build's stdin visible, input() would read "stdin_reader" and the module would build.
    source = "NAME = input('module name? ')\n" + valid_module("stdin_reader").replace('"stdin_reader"', "NAME")
    before = snapshot(repo_copy)
    (repo_copy / "dashboards" / "stdin_reader.py").write_text(source)
    result = build_cli(repo_copy, *TIMEOUT, input_text="stdin_reader\n")
    assert_fails_naming(result, "dashboards/stdin_reader.py: failed to load (line 1): EOFError")
    assert snapshot(repo_copy) == before


def test_a_module_parsing_its_command_line_sees_no_build_arguments(repo_copy: Path, build_cli: BuildRunner) -> None:
    source = ("import argparse\nimport sys\n\nassert sys.argv == [__file__], sys.argv\n"
              "OPTIONS = argparse.ArgumentParser().parse_args()\n" + valid_module("argv_reader"))
    (repo_copy / "dashboards" / "argv_reader.py").write_text(source)
    result = build_cli(repo_copy, *TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert (repo_copy / "provisioning" / "dashboards" / "argv-reader.json").is_file()
    assert build_cli(repo_copy, *TIMEOUT, "--check").returncode == 0


def test_a_module_changing_directory_and_argv_does_not_move_the_build(repo_copy: Path, tmp_path: Path,
                                                                      build_cli: BuildRunner) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    source = (f"import os\nimport sys\n\nos.chdir({str(elsewhere)!r})\nsys.argv = ['build.py', '--check']\n"
              f"sys.path.insert(0, {str(elsewhere)!r})\n" + valid_module("wanderer"))
    (repo_copy / "dashboards" / "wanderer.py").write_text(source)
    result = build_cli(repo_copy, "--root", ".")
    assert result.returncode == 0, result.stderr
    assert (repo_copy / "provisioning" / "dashboards" / "wanderer.json").is_file()
    assert list(elsewhere.iterdir()) == []


@pytest.fixture
def bare_root(tmp_path: Path) -> Iterator[Path]:
    """Return a root whose dashboards/ is empty; forget the modules discover() loaded from it afterwards."""
    root = tmp_path / "bare"
    (root / "dashboards").mkdir(parents=True)
    yield root
    for path in (root / "dashboards").glob("*.py"):
        sys.modules.pop(f"dashboards.{path.stem}", None)
    set_module_timeout(None)


def test_discover_restores_process_state(bare_root: Path, tmp_path: Path) -> None:
    source = (f"import os\nimport sys\n\nSEEN = list(sys.argv)\nos.chdir({str(tmp_path)!r})\n"
              "sys.argv.append('--check')\nsys.path.insert(0, '/nowhere')\nsys.stdin = None\n"
              + valid_module("wanderer"))
    (bare_root / "dashboards" / "wanderer.py").write_text(source)
    state = (list(sys.argv), list(sys.path), sys.stdin, os.getcwd())

    def previous(_signum: int, _frame: object) -> None:
        raise AssertionError("the previous SIGALRM handler must not run during the test")

    handler = signal.signal(signal.SIGALRM, previous)
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        (module,) = discover(bare_root)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert signal.getsignal(signal.SIGALRM) is previous
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
    assert 90 < remaining <= 100
    assert (list(sys.argv), list(sys.path), sys.stdin, os.getcwd()) == state
    assert module.contract.name == "wanderer"
    seen_argv = sys.modules["dashboards.wanderer"].SEEN
    assert seen_argv == [str(bare_root.resolve() / "dashboards" / "wanderer.py")]


def test_a_module_that_swallows_the_time_limit_and_finishes_still_fails(bare_root: Path) -> None:
    source = "import time\n\ntry:\n    time.sleep(5)\nexcept BaseException:\n    pass\n" + valid_module("slow")
    (bare_root / "dashboards" / "slow.py").write_text(source)
    set_module_timeout(0.2)
    with pytest.raises(BuildFailed) as failed:
        discover(bare_root)
    (error,) = failed.value.errors
    assert str(error).startswith("dashboards/slow.py: did not finish loading within 0.2 s")


def start_build(root: Path, *args: str) -> subprocess.Popen[str]:
    """Start `python build.py ARGS` in `root` with Ctrl-C delivered as in a terminal."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen([sys.executable, str(root / "build.py"), *args], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # a test runner started in the background may ignore SIGINT; its children inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    """Wait until `path` exists (or fail if the build ended first)."""
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the build never got there"
        time.sleep(0.02)


def test_ctrl_c_while_a_module_loads_names_it(repo_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "loading"
    source = f"import pathlib\nimport time\n\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(60)\n"
    before = snapshot(repo_copy)
    (repo_copy / "dashboards" / "sleeper.py").write_text(source)
    process = start_build(repo_copy)
    wait_for(marker, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert_fails_naming(result, "error: interrupted while loading dashboards/sleeper.py; no file was changed", 130)
    assert snapshot(repo_copy) == before


def test_ctrl_c_while_compiling_stops_the_build(repo_copy: Path, build_cli: BuildRunner) -> None:
    # The module's thread waits until the build is past loading, then sends the process Ctrl-C's SIGINT.
    interrupter = """
import os, signal, sys, threading, time

def _interrupt_when_compiling() -> None:
    main = threading.main_thread().ident
    for _ in range(60_000):
        frame = sys._current_frames().get(main)
        names = set()
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        if names & {"compile_dashboards", "run_checks"}:
            os.kill(os.getpid(), signal.SIGINT)
            return
        time.sleep(0.001)

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the test runner ignores it
threading.Thread(target=_interrupt_when_compiling, daemon=True).start()
"""
    result = build_with(repo_copy, interrupter + valid_module("compiling"), build_cli, name="compiling.py")
    assert_fails_naming(result, "error: interrupted; no file was changed", 130)


def test_an_editors_hidden_lock_file_is_not_a_module(repo_copy: Path) -> None:
    (repo_copy / "dashboards" / ".#prompt_manager.py").write_text("this is not Python\n", encoding="utf-8")
    assert [m.contract.name for m in discover(repo_copy)] == ["llm_provider", "prompt_manager", "prompt_security"]
