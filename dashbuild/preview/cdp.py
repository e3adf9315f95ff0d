"""One headless Chromium spoken to over the Chrome DevTools Protocol on `--remote-debugging-pipe`: starting it,
sending commands, waiting for their answers and for events within a deadline, and ending it with every process it
started and its temporary folder."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

Json = dict[str, Any]
EventHandler = Callable[[str, Json], None]

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium phones home at start-up, and a closed network refuses its connections.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--no-default-browser-check", "--mute-audio",
    # Panel rectangles are compared by pixel: no scrollbar may narrow the layout, and colours must stay as written.
    "--hide-scrollbars", "--force-color-profile=srgb",
    # A second fence behind the page's request blocking: no host name resolves, so nothing unseen leaves by name.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--remote-debugging-pipe",
)
# Chromium reads commands from fd 3 and writes answers and events to fd 4.
BROWSER_READS, BROWSER_WRITES = 3, 4
CLOSE_GRACE = 2.0
REAP_LIMIT = 5.0
EXIT_STATUS_WAIT = 1.0


class BrowserError(Exception):
    """Chromium is missing, could not start, crashed, or did not finish in time; the message is one line."""


def chromium_executable() -> str:
    """Return the Chromium to run: `$CHROMIUM` when set, else `/usr/bin/chromium`, `chromium` or `chromium-browser`."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise BrowserError(f"CHROMIUM={configured} is not an executable file")
        return found
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise BrowserError("Chromium not found: install it (apt-get install chromium) or set CHROMIUM to its path")


@attrs.define
class _Process:
    """What must be undone when the browser ends; kept apart from `Chromium` so a finalizer can hold it."""

    home: str
    pid: int = 0
    to_browser: int = -1
    from_browser: int = -1


def _end(process: _Process) -> None:
    """Kill the browser's process group and any helper that left it, reap the browser, and remove its folder."""
    for fd in (process.to_browser, process.from_browser):
        if fd >= 0:
            os.close(fd)
    process.to_browser = process.from_browser = -1
    if process.pid:
        # The group leader is not reaped yet, so its group id cannot have been reused by now.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        _kill_strays(process.home)
        _reap(process.pid)
        process.pid = 0
    shutil.rmtree(process.home, ignore_errors=True)


def _kill_strays(home: str) -> None:
    """Kill every live process whose command line names `home`, until none is left or time is up: the crash
    handlers, which start their own session, and group members still dying (a dead one's command line is empty)."""
    marker = home.encode() + b"/"
    limit = time.monotonic() + REAP_LIMIT
    while time.monotonic() < limit:
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found = True
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue
        if not found:
            return
        time.sleep(0.01)


def _reap(pid: int) -> None:
    """Collect the exit status of the killed browser, giving up after a few seconds rather than hanging."""
    limit = time.monotonic() + REAP_LIMIT
    while time.monotonic() < limit:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.01)


def _has_exited(pid: int) -> bool:
    """Tell whether the browser has exited, leaving it unreaped so its process group id stays ours."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _spawn(executable: str, home: str, to_browser: int, from_browser: int) -> int:
    """Start Chromium in a new session with the two pipe ends as its fds 3 and 4, its output in a log file."""
    log = os.open(os.path.join(home, "chromium.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # Copies above fd 4 first: Popen's pass_fds keeps fd numbers and cannot move a pipe to 3 or 4, and a dup2 to 3
    # could otherwise overwrite the other pipe end before it is moved.
    reads, writes, out = (os.dup(fd) for fd in (to_browser, from_browser, log))
    while min(reads, writes, out) <= BROWSER_WRITES:
        reads, writes, out = (os.dup(fd) for fd in (reads, writes, out))
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_CACHE_HOME=os.path.join(home, "cache"))
    argv = [executable, *FLAGS, f"--user-data-dir={os.path.join(home, 'profile')}", "about:blank"]
    try:
        return os.posix_spawn(executable, argv, env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, out, 2),
            (os.POSIX_SPAWN_DUP2, reads, BROWSER_READS), (os.POSIX_SPAWN_DUP2, writes, BROWSER_WRITES)])
    except OSError as error:
        raise BrowserError(f"cannot start Chromium {executable}: {error.strerror}") from None
    finally:
        for fd in (log, reads, writes, out):
            os.close(fd)


class Chromium:
    """A running headless Chromium: commands by name, answers and events by deadline; `close()` ends it."""

    def __init__(self, timeout: float) -> None:
        """Start Chromium and wait (at most `timeout` seconds) until it answers on the pipe."""
        self.timeout = timeout
        self.handlers: dict[str, EventHandler] = {}
        self._process = _Process(home=tempfile.mkdtemp(prefix="dashbuild-chromium-"))
        self._finalizer = weakref.finalize(self, _end, self._process)
        self._answers: dict[int, Json] = {}
        self._unwanted: set[int] = set()
        self._buffer = bytearray()
        self._scanned = 0
        self._next_id = 0
        self._executable = ""
        try:
            self._executable = chromium_executable()
            self._start(self._executable, time.monotonic() + timeout)
        except BaseException:
            self._finalizer()
            raise

    @property
    def pid(self) -> int:
        """Return the browser's process id, which is also its process group id; 0 once it has ended."""
        return self._process.pid

    @property
    def home(self) -> str:
        """Return the temporary folder holding the browser's profile and log."""
        return self._process.home

    def _start(self, executable: str, deadline: float) -> None:
        commands_read, commands_write = os.pipe()
        answers_read, answers_write = os.pipe()
        self._process.to_browser, self._process.from_browser = commands_write, answers_read
        try:
            self._process.pid = _spawn(executable, self._process.home, commands_read, answers_write)
        finally:
            os.close(commands_read)
            os.close(answers_write)
        os.set_blocking(commands_write, False)
        self.call("Browser.getVersion", deadline=deadline, what="Chromium to start")

    def close(self) -> None:
        """Ask Chromium to quit, then kill whatever is left of it and remove its folder; safe to call twice."""
        if not self._finalizer.alive:
            return
        pid = self._process.pid
        try:
            self.send("Browser.close")
            limit = time.monotonic() + min(CLOSE_GRACE, self.timeout)
            while not _has_exited(pid) and time.monotonic() < limit:
                time.sleep(0.02)
        except BrowserError:
            pass
        finally:
            self._finalizer()

    def send(self, method: str, params: Json | None = None, session: str = "", *, answer: bool = False) -> int:
        """Send a command and return its id; its answer is kept only when `answer` is true."""
        if not self._finalizer.alive:
            raise BrowserError("Chromium has already been closed")
        self._next_id += 1
        message: Json = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        if not answer:
            self._unwanted.add(self._next_id)
        self._write(json.dumps(message).encode() + b"\0")
        return self._next_id

    def call(self, method: str, params: Json | None = None, session: str = "", *, deadline: float,
             what: str = "") -> Json:
        """Send a command and return its result, dispatching the events that arrive meanwhile."""
        command = self.send(method, params, session, answer=True)
        try:
            self.wait(lambda: command in self._answers, deadline, what or f"Chromium to answer {method}")
        except BrowserError:
            self._unwanted.add(command)
            raise
        answer = self._answers.pop(command)
        if "error" in answer:
            raise BrowserError(f"{method} failed: {answer['error'].get('message', answer['error'])}")
        result: Json = answer.get("result", {})
        return result

    def wait(self, done: Callable[[], bool], deadline: float, what: str) -> None:
        """Read messages until `done()` holds; past the deadline raise a BrowserError naming `what`."""
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"timed out after {self.timeout:g} s waiting for {what}")
            self._read(remaining)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        limit = time.monotonic() + self.timeout
        while view:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"timed out after {self.timeout:g} s writing to Chromium")
            _, writable, _ = select.select([], [self._process.to_browser], [], remaining)
            if not writable:
                continue
            try:
                written = os.write(self._process.to_browser, view)
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise self._gone() from None
            view = view[written:]

    def _read(self, remaining: float) -> None:
        """Wait up to `remaining` seconds for data, then dispatch every complete message."""
        readable, _, _ = select.select([self._process.from_browser], [], [], remaining)
        if not readable:
            return
        chunk = os.read(self._process.from_browser, 1 << 20)
        if not chunk:
            raise self._gone()
        self._buffer += chunk
        while (end := self._buffer.find(b"\0", self._scanned)) >= 0:
            message = json.loads(self._buffer[:end])
            del self._buffer[:end + 1]
            self._scanned = 0
            self._dispatch(message)
        self._scanned = len(self._buffer)

    def _dispatch(self, message: Json) -> None:
        if "id" in message:
            if message["id"] in self._unwanted:
                self._unwanted.discard(message["id"])
            else:
                self._answers[message["id"]] = message
            return
        handler = self.handlers.get(message.get("sessionId", ""))
        if handler is not None:
            handler(message.get("method", ""), message.get("params", {}))

    def _gone(self) -> BrowserError:
        """Describe a browser that closed its pipe, with its exit status and the last line it logged, and end it."""
        logged = _last_line(self._process.home, self._executable)
        message = f"Chromium ended unexpectedly{_exit_status(self._process.pid)}{logged}"
        self._finalizer()
        return BrowserError(message)


def _exit_status(pid: int) -> str:
    """Return ' (exit code N)' or ' (signal N)' for an exited browser, leaving it unreaped; else nothing."""
    # The pipe closes while the process is still exiting: give it a moment to become waitable.
    limit = time.monotonic() + EXIT_STATUS_WAIT
    while True:
        try:
            exited = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return ""
        if exited is not None:
            break
        if time.monotonic() >= limit:
            return ""
        time.sleep(0.01)
    return f" (exit code {exited.si_status})" if exited.si_code == os.CLD_EXITED else f" (signal {exited.si_status})"


def _last_line(home: str, executable: str) -> str:
    """Return ': ' and the last line Chromium logged that could explain its end, or nothing."""
    try:
        lines = Path(home, "chromium.log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    # Noise, never the reason it ended: complaints about a missing D-Bus in containers, and errors of the shell
    # running a launcher script (Debian's /usr/bin/chromium), which carry the script's line number.
    launcher = re.compile(re.escape(executable) + r": \d+: ")
    meaningful = [line.strip() for line in lines
                  if line.strip() and "dbus/" not in line and not launcher.match(line)]
    return f": {meaningful[-1][:200]}" if meaningful else ""
