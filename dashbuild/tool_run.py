"""Run a checking tool (promtool, amtool) with a time limit that also ends whatever it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def run_tool(args: list[str], cwd: str | None, timeout: float) -> tuple[int, str]:
    """Run `args` in `cwd` with no input; return the exit code and merged output. Raise TimeoutExpired."""
    with subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Its own session: the kill reaches any child holding the pipe open, so communicate() returns.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return process.returncode, output.decode("utf-8", "replace")
