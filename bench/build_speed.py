"""Build speed: our pipeline against bare grafana-foundation-sdk calls and grafanalib, side by side."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from bench import bare_sdk, synthetic, with_grafanalib
from dashbuild.checks import run_checks
from dashbuild.files import dump_json
from dashbuild.lint import lint
from dashbuild.pipeline import compile_dashboards, module_spec
from dashbuild.render import render_dashboard

WORKER = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from dashbuild.pipeline import build
start = time.perf_counter()
result = build(Path({root!r}))
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "files": len(result.files)}}))
"""


@attrs.frozen
class ScaleRow:
    """A full in-process build of `modules` synthetic modules (median of `runs` fresh processes)."""

    modules: int
    seconds: float
    rss_mb: float
    runs: int

    @property
    def per_module_ms(self) -> float:
        """Return milliseconds per module."""
        return 1000 * self.seconds / self.modules


def full_build(counts: list[int], runs: int) -> list[ScaleRow]:
    """Return the build time and peak RSS for each module count, each run in a fresh process."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            root = synthetic.make_repo(Path(tmp) / f"n{count}", count)
            samples = []
            for _ in range(runs):
                out = subprocess.run([sys.executable, "-c", WORKER.format(root=str(root))], capture_output=True,
                                     text=True, check=True, timeout=600)
                samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
            rows.append(ScaleRow(count, statistics.median(s["seconds"] for s in samples),
                                 statistics.median(s["rss_mb"] for s in samples), runs))
    return rows


def median_time(function: Callable[[], Any], runs: int) -> float:
    """Return the median wall time of `runs` calls of `function`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@attrs.frozen
class Comparison:
    """Seconds to produce `modules` module dashboards, each way, measured interleaved in one process."""

    modules: int
    ours_compile: float
    ours_full: float
    bare_sdk: float
    grafanalib: float
    stages: dict[str, float]


def compare(count: int, runs: int) -> Comparison:
    """Return the side-by-side timings for `count` modules; assert ours and bare SDK emit the same JSON."""
    code = synthetic.compiled_sources(count)
    names = [(synthetic.module_name(i), synthetic.module_title(i)) for i in range(count)]
    ours = [dump_json(render_dashboard(module_spec(m))) for m in synthetic.load(code)]
    if ours != [bare_sdk.module_dashboard(n, t) for n, t in names]:
        raise AssertionError("bare SDK and our pipeline do not produce byte-identical dashboards")

    def ours_compile() -> None:  # declare (run module code: contracts, helpers) + layout + SDK render + JSON
        for module in synthetic.load(code):
            dump_json(render_dashboard(module_spec(module)))

    stage_times: dict[str, list[float]] = {"declare": [], "compile": [], "checks": [], "lint": []}

    def ours_full() -> None:  # declare + compile (with overview) + schema/identity checks + lint
        start = time.perf_counter()
        modules = synthetic.load(code)
        declared = time.perf_counter()
        dashboards = compile_dashboards(modules)
        compiled = time.perf_counter()
        assert run_checks(dashboards) == []
        checked = time.perf_counter()
        assert not [f for f in lint(dashboards) if f.severity == "error"]
        done = time.perf_counter()
        for stage, seconds in zip(stage_times, (declared - start, compiled - declared, checked - compiled,
                                                done - checked), strict=True):
            stage_times[stage].append(seconds)

    def bare() -> None:
        for name, title in names:
            bare_sdk.module_dashboard(name, title)

    def grafanalib() -> None:
        for name, title in names:
            with_grafanalib.module_dashboard(name, title)

    timings: dict[str, list[float]] = {"ours_compile": [], "ours_full": [], "bare": [], "grafanalib": []}
    for _ in range(runs):  # interleaved, so that machine noise hits every contender alike
        for key, function in (("ours_compile", ours_compile), ("ours_full", ours_full), ("bare", bare),
                              ("grafanalib", grafanalib)):
            timings[key].append(median_time(function, 1))
    return Comparison(count, statistics.median(timings["ours_compile"]), statistics.median(timings["ours_full"]),
                      statistics.median(timings["bare"]), statistics.median(timings["grafanalib"]),
                      {stage: statistics.median(values) for stage, values in stage_times.items()})


@attrs.frozen
class ProcessTimes:
    """Whole-process timings of the CLI on the shipped dashboards."""

    python_startup: float
    imports: float
    check: float
    runs: int


def process_times(runs: int) -> ProcessTimes:
    """Return medians of: bare interpreter start, importing the pipeline, and `python build.py --check`."""
    def timed(args: list[str]) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, *args], cwd=synthetic.REPO, check=True, capture_output=True, timeout=60)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    return ProcessTimes(
        python_startup=timed(["-c", "pass"]),
        imports=timed(["-c", "import click, dashbuild.pipeline, dashbuild.files"]),
        check=timed(["build.py", "--check"]),
        runs=runs,
    )
