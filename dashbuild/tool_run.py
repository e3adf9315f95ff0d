"""Run a checking tool (promtool, amtool) with a time limit that also ends whatever it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

# The tools running now, so that a build that no longer needs their answer can stop them (consumer_checks.py).
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def run_tool(args: list[str], cwd: str | None, timeout: float) -> tuple[int, str]:
    """Run `args` in `cwd` with no input; return the exit code and merged output. Raise TimeoutExpired."""
    with subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True) as process:
        with _RUNNING_LOCK:
            _RUNNING.add(process)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.communicate()
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
    return process.returncode, output.decode("utf-8", "replace")


def _kill(process: subprocess.Popen[bytes]) -> None:
    # Its own session: the kill reaches any child holding the pipe open, so communicate() returns.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def stop_running_tools() -> None:
    """Kill every tool `run_tool` is running in this process, whichever thread started it."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill(process)
