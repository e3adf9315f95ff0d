"""Find and load module files: every `dashboards/*.py` but `__init__.py`, `settings.py`, hidden files and `_*`.

A module file is arbitrary code, so its import is contained: whatever it raises (`SystemExit`,
`KeyboardInterrupt` and every other `BaseException` included) is a failed load naming the file; it runs
under a time limit (`set_module_timeout`, `$DASHBUILD_MODULE_TIMEOUT`, default 10 s); it sees
`sys.argv == [its path]` and an empty stdin; and `sys.argv`, `sys.path`, `sys.stdin` and the working
directory are restored afterwards, so it cannot change what later stages read.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import io
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import Loader
from pathlib import Path
from types import FrameType, ModuleType
from typing import TypeVar

import attrs

from dashbuild.errors import BuildError, ModuleLoadInterrupted
from dashbuild.module_timeout import DEFAULT_MODULE_TIMEOUT, MODULE_TIMEOUT_ENV, module_timeout, set_module_timeout
from moddash.contract import ModuleContract
from panels.spec import ModuleDashboard

Loaded = TypeVar("Loaded")
__all__ = ["DEFAULT_MODULE_TIMEOUT", "MODULE_TIMEOUT_ENV", "ModuleFile", "ModuleLoadInterrupted", "discover",
           "import_contained", "load_each", "load_module_file", "module_paths", "module_timeout", "set_module_timeout"]

RESERVED = frozenset({"__init__", "settings"})
# After the limit, the watchdog waits this long for the SIGALRM path to report first; faulthandler
# waits twice as long, for code that holds the GIL and so stops the watchdog thread too.
GRACE_SECONDS = 2.0



@attrs.frozen
class ModuleFile:
    """A loaded module file: where it is, its contract and its dashboard."""

    path: str
    contract: ModuleContract
    dashboard: ModuleDashboard


class _TimedOut(BaseException):
    """Raised by SIGALRM in the main thread when an import outlives its time limit (not an Exception, so
    `except Exception` in the module file does not swallow it)."""


@attrs.define
class _Alarm:
    fired: bool = False


def module_paths(dashboards_dir: Path) -> list[Path]:
    """Return the module files in `dashboards_dir`, sorted by name (the registry order)."""
    # Hidden files are editors' (Emacs' lock `.#x.py`), not modules.
    return sorted(p for p in dashboards_dir.glob("*.py")
                  if p.stem not in RESERVED and not p.stem.startswith(("_", ".")))


def _line_in(frames: traceback.StackSummary, path: Path) -> int | None:
    lines = [f.lineno for f in frames if Path(f.filename) == path]
    return lines[-1] if lines else None


def _where_it_failed(error: BaseException, path: Path) -> str:
    if isinstance(error, SyntaxError) and error.lineno:
        return f" (line {error.lineno})"
    line = _line_in(traceback.extract_tb(error.__traceback__), path)
    return f" (line {line})" if line else ""


def _timed_out(seconds: float, line: int | None) -> str:
    where = f" it was at line {line}" if line else ""
    return f"did not finish loading within {seconds:g} s (an endless loop or a blocking call at import?{where})"


@contextmanager
def _isolated(path: Path) -> Iterator[None]:
    """Run the import as a script with no arguments and no input would run; undo its changes to the process."""
    argv, search_path, entries, stdin, cwd = sys.argv, sys.path, list(sys.path), sys.stdin, os.getcwd()
    sys.argv = [str(path)]
    sys.stdin = io.StringIO()  # input() raises EOFError instead of waiting for a terminal
    try:
        yield
    finally:
        sys.argv, sys.path, sys.stdin = argv, search_path, stdin
        sys.path[:] = entries
        os.chdir(cwd)


def _can_time_out() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def _time_limit(seconds: float) -> Iterator[_Alarm]:
    """Raise _TimedOut in the main thread after `seconds`; restore the previous SIGALRM handler and timer."""
    alarm = _Alarm()
    if not _can_time_out():
        yield alarm
        return

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        alarm.fired = True
        raise _TimedOut

    handler = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    delay, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler if handler is not None else signal.SIG_DFL)
        if delay:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 1e-6), interval)


def _give_up(display: str, path: Path, seconds: float, main: int) -> None:
    """Report the timeout and end the process: the import ignored _TimedOut or blocks where signals wait.

    Nothing has been written yet (loading comes before every write), so exiting here changes no file.
    """
    frame = sys._current_frames().get(main)
    line = _line_in(traceback.extract_stack(frame), path) if frame else None
    message = f"error: {display}: {_timed_out(seconds, line)}\nbuild stopped; no file was changed\n"
    os.write(2, message.encode("utf-8", "replace"))
    os._exit(1)


@contextmanager
def _watchdog(display: str, path: Path, seconds: float) -> Iterator[None]:
    """End the process if the import is still running `GRACE_SECONDS` after its time limit."""
    if not _can_time_out():
        yield
        return
    finished = threading.Lock()  # taken by whichever comes first: the import's end or the watchdog

    def fire() -> None:
        if finished.acquire(blocking=False):
            _give_up(display, path, seconds, threading.main_thread().ident or 0)

    timer = threading.Timer(seconds + GRACE_SECONDS, fire)
    timer.daemon = True
    stderr = sys.__stderr__
    if stderr is not None:  # a C loop holding the GIL stops the timer thread too; faulthandler's needs no GIL
        faulthandler.dump_traceback_later(seconds + 2 * GRACE_SECONDS, exit=True, file=stderr)
    timer.start()
    try:
        yield
    finally:
        finished.acquire()  # if the watchdog won, it is exiting the process: wait for that
        timer.cancel()
        if stderr is not None:
            faulthandler.cancel_dump_traceback_later()


def _run(path: Path, display: str, module: ModuleType, loader: Loader) -> None:
    seconds = module_timeout()
    try:
        with _isolated(path), _watchdog(display, path, seconds), _time_limit(seconds) as alarm:
            loader.exec_module(module)
        if alarm.fired:  # the module caught _TimedOut and went on: still too slow
            raise _TimedOut
    except _TimedOut as error:
        raise BuildError(display, _timed_out(seconds, _line_in(traceback.extract_tb(error.__traceback__), path))) \
            from None
    except KeyboardInterrupt:
        raise ModuleLoadInterrupted(display) from None
    except BaseException as error:  # a module file may raise anything, SystemExit too: report it as a build error
        detail = error.msg if isinstance(error, SyntaxError) else str(error)
        raise BuildError(display, f"failed to load{_where_it_failed(error, path)}: {type(error).__name__}"
                                  + (f": {detail}" if detail else "")) from error


def import_contained(path: Path, display: str) -> ModuleType:
    """Import the Python file at `path` with the limits of a module file; raise BuildError naming `display`."""
    name = f"dashboards.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BuildError(display, "cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        _run(path, display, module, spec.loader)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_module_file(path: Path, root: Path) -> ModuleFile:
    """Return the module file's CONTRACT and DASHBOARD; raise BuildError naming the file otherwise.

    Raise ModuleLoadInterrupted on Ctrl-C (or a KeyboardInterrupt from the module) during its import.
    """
    display = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    module = import_contained(path.resolve(), display)
    contract = getattr(module, "CONTRACT", None)
    dashboard = getattr(module, "DASHBOARD", None)
    if not isinstance(contract, ModuleContract):
        raise BuildError(display, "defines no CONTRACT = ModuleContract(...)")
    if not isinstance(dashboard, ModuleDashboard):
        raise BuildError(display, "defines no DASHBOARD = ModuleDashboard(...)")
    if contract.name != path.stem:
        raise BuildError(display, f"CONTRACT.name {contract.name!r} must equal the file name {path.stem!r}")
    return ModuleFile(display, contract, dashboard)


def discover(root: Path) -> list[ModuleFile]:
    """Return every module file under `root/dashboards`, loaded; raise BuildFailed listing each broken file.

    Ctrl-C stops at once with ModuleLoadInterrupted (a KeyboardInterrupt) naming the file being loaded.
    """
    return load_each(module_paths(root / "dashboards"), lambda path: load_module_file(path, root))


def load_each(paths: Sequence[Path], load: Callable[[Path], Loaded]) -> list[Loaded]:
    """Return `load` of every path; raise BuildFailed naming each file that cannot be loaded, not just the first."""
    from dashbuild.errors import BuildFailed

    loaded: list[Loaded] = []
    errors: list[BuildError] = []
    for path in paths:
        try:
            loaded.append(load(path))
        except BuildError as error:
            errors.append(error)
    if errors:
        raise BuildFailed(errors)
    return loaded
