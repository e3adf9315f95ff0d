"""`python build.py watch`: rebuild on every burst of saves, then reload Prometheus (and Alertmanager) when the
files they read have changed.

Each rebuild is `python build.py` in a fresh process. A long-lived process would keep the first version of
`panels/` and `rules/` in its import cache; a module file that outlives its time limit ends the process it
loads in (`dashbuild/discover.py`), which must not be the watcher; and the child takes the same build lock and
applies the same transaction as a build typed by hand, so a concurrent `python build.py` is simply serialised.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

import attrs
import click
import watchfiles

from dashbuild.transaction import describe

# The build's inputs, relative to the project (`dashboards/`, `environments/`) or to build.py's own folder, whose
# `panels/` and `rules/` the build imports. Never the generated folders: watching them would rebuild forever.
PROJECT_INPUTS = ("dashboards", "environments")
SOURCE_INPUTS = ("panels", "rules")
IGNORED_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache",
                          ".hypothesis", ".idea", ".vscode", "node_modules", ".venv"})
# Editors' swap, backup and lock files, vim's write test `4913`, atomic-save temporaries, bytecode.
IGNORED_NAMES = re.compile(r"^\.|~$|^#.*#$|^4913$|\.sw[a-px]$|\.tmp$|\.bak$|\.orig$|\.rej$|___jb_\w+___$|\.py[cod]$")
# How long the watcher waits in watchfiles before looking again; the first wait ends in the first build.
FIRST_BUILD_AFTER_MS = 300
RELOAD_COMMAND_TIMEOUT = 60.0
SHOWN_CHANGES = 5


@attrs.frozen
class Reloader:
    """How to make one server reread its config after a build changed `files`: SIGHUP to a pid (given, or read
    from a pidfile at each reload) or a command; with none of these, `hint` is printed once instead."""

    server: str
    what: str
    executables: frozenset[str]
    files: tuple[str, ...]
    hint: str
    pid: int | None = None
    pidfile: Path | None = None
    command: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """Whether watch reloads this server at all."""
        return self.pid is not None or self.pidfile is not None or bool(self.command)

    def how(self) -> str:
        """Return how the server is reloaded, for the line printed at start."""
        if self.command:
            return f"by running `{' '.join(self.command)}`"
        if self.pidfile is not None:
            return f"by SIGHUP to the pid in {self.pidfile}"
        return f"by SIGHUP to pid {self.pid}"


def prometheus_reloader(pid: int | None = None, pidfile: Path | None = None,
                        command: Sequence[str] = ()) -> Reloader:
    """Return the Prometheus reloader: its config and the rule files it loads (`rule_files: [rules/*.yml]`)."""
    return Reloader("Prometheus", "Prometheus' config or rules", frozenset({"prometheus"}),
                    ("prometheus/prometheus.yml", "prometheus/rules/*.yml"),
                    "docker compose kill -s HUP prometheus", pid, pidfile, tuple(command))


def alertmanager_reloader(pid: int | None = None, pidfile: Path | None = None,
                          command: Sequence[str] = ()) -> Reloader:
    """Return the Alertmanager reloader (Debian names its binary prometheus-alertmanager)."""
    return Reloader("Alertmanager", "Alertmanager's config", frozenset({"alertmanager", "prometheus-alertmanager"}),
                    ("alertmanager/alertmanager.yml",), "docker compose kill -s HUP alertmanager", pid, pidfile,
                    tuple(command))


@attrs.frozen
class WatchConfig:
    """What `watch` runs: the project, the build command (run in a fresh process), the folders it watches."""

    root: Path
    build_command: tuple[str, ...]
    inputs: tuple[Path, ...]
    debounce_ms: int
    reloaders: tuple[Reloader, ...]
    env: dict[str, str] = attrs.field(factory=dict)
    # What each run of the command does, said at start (a build writes files Grafana reads by itself).
    intro: str = "Grafana reads changed dashboards by itself, at its provisioning poll"


def input_folders(project: Path, sources: Path) -> tuple[Path, ...]:
    """Return the input folders that exist: the project's `dashboards/` and `environments/`, and the `panels/` and
    `rules/` of build.py's folder (the ones the build imports, also for a `--root` elsewhere)."""
    candidates = [project / name for name in PROJECT_INPUTS] + [sources / name for name in SOURCE_INPUTS]
    found: list[Path] = []
    for folder in candidates:
        resolved = folder.resolve()
        if resolved.is_dir() and resolved not in found:
            found.append(resolved)
    return tuple(found)


def is_input(folders: Sequence[Path], path: Path) -> bool:
    """Whether a change of `path` (absolute, under one of `folders`) can change the build: not an editor's swap or
    backup file, a hidden file, bytecode or a cache folder."""
    for folder in folders:
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).parts
            return bool(parts) and not any(part in IGNORED_DIRS or IGNORED_NAMES.search(part) for part in parts)
    return False


def snapshot(root: Path, patterns: Sequence[str]) -> dict[str, str]:
    """Return the sha256 of every file matching `patterns` under `root` (hidden files, the build's staged
    temporaries, left out), by relative path."""
    digests: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.name.startswith(".") or not path.is_file():
                continue
            with suppress(OSError):  # removed while we read it: it is then simply missing
                digests[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _proc_text(pid: int, name: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


def process_problem(pid: int, executables: frozenset[str]) -> str | None:
    """Return why SIGHUP must not go to `pid` (not running, a zombie, another program, not ours to signal), or
    None. SIGHUP ends most programs, so a stale pid reused by something else must not receive it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"pid {pid} is not running"
    except PermissionError:
        return f"pid {pid} belongs to another user: run watch as that user, or use --reload-command"
    if not Path("/proc/self").is_dir():
        return None  # no procfs (macOS): the program cannot be checked
    status = _proc_text(pid, "status") or ""
    if re.search(r"^State:\s+Z", status, re.MULTILINE):
        return f"pid {pid} is not running (a zombie)"
    cmdline = _proc_text(pid, "cmdline") or ""
    program = os.path.basename(cmdline.split("\0")[0]) or (_proc_text(pid, "comm") or "").strip()
    if program not in executables:
        expected = " or ".join(sorted(executables))
        return f"pid {pid} is {program or 'unknown'!r}, not {expected}; not signalled"
    return None


def _pid_from(pidfile: Path) -> tuple[int | None, str]:
    try:
        text = pidfile.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as error:
        return None, f"cannot read {pidfile}: {describe(error)}"
    if not text.isdigit() or int(text) < 1:
        return None, f"{pidfile} does not hold a pid: {text[:40]!r}"
    return int(text), ""


def _checked_pid(reloader: Reloader) -> tuple[int | None, str | None]:
    """Return the pid to signal (given, or read from the pidfile now) and why it must not be signalled (None when
    it may); (None, None) when the reloader names no pid."""
    pid = reloader.pid
    if reloader.pidfile is not None:
        pid, unreadable = _pid_from(reloader.pidfile)
        if pid is None:
            return None, unreadable
    if pid is None:
        return None, None
    return pid, process_problem(pid, reloader.executables)


def reload_server(reloader: Reloader, root: Path) -> str:
    """Reload the server and return one line saying so, or a `warning:` line saying why it was not reloaded."""
    failed = f"warning: {reloader.server} not reloaded"
    if reloader.command:
        shown = " ".join(reloader.command)
        try:
            done = subprocess.run(reloader.command, cwd=root, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, errors="replace", timeout=RELOAD_COMMAND_TIMEOUT, check=False)
        except FileNotFoundError:
            return f"{failed}: `{shown}`: command not found"
        except OSError as error:
            return f"{failed}: `{shown}`: {describe(error)}"
        except subprocess.TimeoutExpired:
            return f"{failed}: `{shown}` did not finish within {RELOAD_COMMAND_TIMEOUT:g} s"
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip()).splitlines()
            return f"{failed}: `{shown}` exited {done.returncode}" + (f": {said[-1][:300]}" if said else "")
        return f"reloaded {reloader.server} (`{shown}`)"
    pid, problem = _checked_pid(reloader)
    if pid is None and problem is None:
        return f"{failed}: nothing to signal"
    if pid is not None and problem is None:
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError as error:
            problem = f"pid {pid}: {describe(error)}"
    return f"{failed}: {problem}" if problem else f"reloaded {reloader.server} (SIGHUP to pid {pid})"


def startup_problem(reloader: Reloader) -> str | None:
    """Return a `warning:` line when the pid (or pidfile) given for the server cannot be signalled right now."""
    if reloader.command:
        return None
    _pid, problem = _checked_pid(reloader)
    return f"warning: {reloader.server}: {problem}; watching anyway" if problem else None


class _Stopper:
    """Turns Ctrl-C, SIGTERM and SIGHUP into a request to stop. A build in progress is let finish (it changes all
    of its files or none, and a SIGINT during its imports would end it with a traceback); a second request
    interrupts it with SIGINT, which its transaction holds back while it replaces files."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None

    def handle(self, _signum: int, _frame: FrameType | None) -> None:
        child = self.child
        if child is not None and child.returncode is None:
            if self.event.is_set():
                with suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGINT)
            else:
                # os.write, not click.echo: a handler must not re-enter a buffered stream the main thread may be using.
                with suppress(OSError):
                    os.write(1, b"stopping after the build in progress (Ctrl-C again to interrupt it)\n")
        self.event.set()

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT, SIGTERM and SIGHUP in the block; restore the previous handlers after it."""
        previous = {signum: signal.signal(signum, self.handle)
                    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def input_files(folders: Sequence[Path]) -> frozenset[Path]:
    """Return every input file under `folders` (what `is_input` accepts)."""
    return frozenset(path for folder in folders for path in folder.rglob("*")
                     if is_input(folders, path) and path.is_file())


def describe_changes(changed: Sequence[Path], before: frozenset[Path], after: frozenset[Path], root: Path) -> str:
    """Return one line naming the changed inputs (the first few, then how many more), each added or deleted one
    marked so."""
    names = []
    for path in sorted(changed):
        mark = " (added)" if path not in before else " (deleted)" if path not in after else ""
        names.append(f"{_shown(path, root)}{mark}")
    more = f" and {len(names) - SHOWN_CHANGES} more" if len(names) > SHOWN_CHANGES else ""
    return f"changed: {', '.join(names[:SHOWN_CHANGES])}{more}"


class _Watcher:
    def __init__(self, config: WatchConfig) -> None:
        self.config = config
        self.stopper = _Stopper()
        self.hinted: set[str] = set()
        self.seen = {r.server: snapshot(config.root, r.files) for r in config.reloaders}

    def build(self) -> int:
        """Run one build in a fresh process in its own session: Ctrl-C reaches it only through `_Stopper`."""
        env = {**os.environ, **self.config.env}
        with subprocess.Popen(self.config.build_command, cwd=self.config.root, env=env, stdin=subprocess.DEVNULL,
                              start_new_session=True) as child:
            self.stopper.child = child
            try:
                return child.wait()
            finally:
                self.stopper.child = None

    def reload_changed(self) -> None:
        """Reload each server whose files differ from what it last read (or what was there at start)."""
        for reloader in self.config.reloaders:
            now = snapshot(self.config.root, reloader.files)
            if now == self.seen[reloader.server]:
                continue
            self.seen[reloader.server] = now
            if reloader.configured:
                line = reload_server(reloader, self.config.root)
                click.echo(line, err=line.startswith("warning:"))
            elif reloader.server not in self.hinted:
                self.hinted.add(reloader.server)
                click.echo(f"note: {reloader.what} changed: reload it with `{reloader.hint}` (README.md: After a "
                           "rebuild), or let watch do it (`python build.py watch --help`)", err=True)
            else:
                click.echo(f"note: {reloader.what} changed; not reloaded", err=True)

    def run(self) -> None:
        config = self.config
        first = True
        known = input_files(config.inputs)
        for changes in watchfiles.watch(*config.inputs, watch_filter=lambda _c, p: is_input(config.inputs, Path(p)),
                                        debounce=max(2000, 10 * config.debounce_ms), step=config.debounce_ms,
                                        stop_event=self.stopper.event, rust_timeout=FIRST_BUILD_AFTER_MS,
                                        yield_on_timeout=True, raise_interrupt=False):
            if self.stopper.event.is_set():
                return
            now = input_files(config.inputs)
            # A file that appeared and went within the burst (an editor's or sed's temporary) changes nothing.
            changed = [path for path in {Path(p) for _change, p in changes} if path in known or path in now]
            known, before = now, known
            if changed:
                click.echo(describe_changes(changed, before, now, config.root))
            elif not first:
                continue
            first = False
            if self.stopper.event.is_set():
                return
            code = self.build()
            if code < 0 and not self.stopper.event.is_set():
                click.echo(f"warning: the build was ended by signal {-code}; watching on", err=True)
            self.reload_changed()
            if self.stopper.event.is_set():
                return


def watch(config: WatchConfig) -> None:
    """Build once, then once per burst of changes to the inputs, until Ctrl-C, SIGTERM or SIGHUP (then return)."""
    watcher = _Watcher(config)
    folders = ", ".join(f"{_shown(folder, config.root)}/" for folder in config.inputs)
    click.echo(f"watching {folders} (Ctrl-C to stop); {config.intro}")
    for reloader in config.reloaders:
        if reloader.configured:
            click.echo(f"{reloader.server} is reloaded {reloader.how()} after a build that changes {reloader.what}")
            problem = startup_problem(reloader)
            if problem:
                click.echo(problem, err=True)
    with watcher.stopper.installed():
        watcher.run()
    click.echo("stopped watching")
