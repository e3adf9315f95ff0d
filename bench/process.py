"""Whole processes, timed from start to exit, and the statistics the report gives: median, min and max."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs


@attrs.frozen
class Sample:
    """One finished process: wall seconds from start to exit, CPU seconds (user + system, its children
    included), peak resident set size (the largest of the process and the children it waited for), exit code and
    output."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


# Started by `run`: spawns the measured process and reports its wall time and resource usage as JSON. A child's
# peak RSS counts the memory of the process it was forked from until its exec (Linux keeps that high-water mark
# across exec); forked from this small launcher rather than from the benchmark, the figure is the measured
# process's own (and its children's: promtool, amtool).
LAUNCHER = """
import json, os, sys, time
spec = json.loads(sys.argv[1])
os.chdir(spec["cwd"])
files = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]
files += [(os.POSIX_SPAWN_OPEN, fd, spec[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
          for fd, name in ((1, "stdout"), (2, "stderr"))]
started = time.perf_counter()
pid = os.posix_spawn(spec["argv"][0], spec["argv"], spec["env"], file_actions=files)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
                  "returncode": os.waitstatus_to_exitcode(status)}))
"""


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 3600) -> Sample:
    """Run `argv` in `cwd` as a fresh process and return its Sample; raise RuntimeError when it fails."""
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        spec = {"argv": [shutil.which(argv[0]) or argv[0], *argv[1:]], "cwd": str(cwd),
                "env": dict(os.environ if env is None else env), "stdout": str(out), "stderr": str(err)}
        launcher = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, json.dumps(spec)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            report, launcher_error = launcher.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.communicate()
            raise RuntimeError(f"{' '.join(argv)} did not finish within {timeout:g} s") from None
        if launcher.returncode != 0:
            raise RuntimeError(f"the launcher failed: {launcher_error}")
        result = json.loads(report)
        sample = Sample(result["seconds"], result["cpu"], result["maxrss_kb"] / 1024, result["returncode"],
                        out.read_text(errors="replace"), err.read_text(errors="replace"))
    if sample.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} in {cwd} exited {sample.returncode}: {sample.stderr[-2000:]}")
    return sample


def python(script: str, *args: str, cwd: Path, bytecode: bool = False, timeout: float = 3600) -> Sample:
    """Run `python script args` in `cwd` with this interpreter; without `bytecode`, Python writes no `.pyc`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return run([sys.executable, script, *args], cwd, env, timeout)


@attrs.frozen
class Stats:
    """Median, min and max of a figure over runs."""

    median: float
    min: float
    max: float
    runs: int

    def text(self, digits: int = 2, unit: str = "") -> str:
        """Return `median (min–max)` with `digits` decimals."""
        return f"{self.median:.{digits}f}{unit} ({self.min:.{digits}f}–{self.max:.{digits}f})"


def stats(values: Sequence[float]) -> Stats:
    """Return the median, min and max of `values` (at least one)."""
    if not values:
        raise ValueError("no values")
    return Stats(statistics.median(values), min(values), max(values), len(values))


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Stats:
    """Return the statistics of the pairwise ratios of two contenders' runs, taken in the same rounds."""
    if len(numerators) != len(denominators):
        raise ValueError("pairwise ratios need as many runs of each")
    return stats([a / b for a, b in zip(numerators, denominators, strict=True)])


@attrs.define
class Contender:
    """One thing measured: how to make it cold (`prepare`, untimed), the timed process, and a check of what it
    produced (`verify`, untimed, after each run)."""

    name: str
    measure: Callable[[], Sample]
    prepare: Callable[[], None] = lambda: None
    verify: Callable[[], None] = lambda: None
    samples: list[Sample] = attrs.Factory(list)


def interleave(contenders: Sequence[Contender], rounds: int, on_round: Callable[[int], None] | None = None) -> None:
    """Run each contender once per round, in order (A B C A B C ...), so that a slow period of the machine falls on
    all of them alike; append each run's Sample to its contender."""
    for index in range(rounds):
        for contender in contenders:
            contender.prepare()
            contender.samples.append(contender.measure())
            contender.verify()
        if on_round is not None:
            on_round(index)
