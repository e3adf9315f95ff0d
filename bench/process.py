"""Whole processes, timed from start to exit, and the statistics the report gives: median, min and max."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs


@attrs.frozen
class Sample:
    """One finished process: wall seconds from start to exit, CPU seconds (user + system, its children
    included), peak resident set size (the largest of the process and the children it waited for) and exit code."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 3600) -> Sample:
    """Run `argv` in `cwd` as a fresh process and return its Sample; raise RuntimeError when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        # wait4, not Popen.wait: it also gives this child's resource usage (CPU, peak RSS) alone.
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        sample = Sample(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if sample.returncode == -9 and sample.seconds >= timeout:
        raise RuntimeError(f"{' '.join(argv)} did not finish within {timeout:g} s")
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
