#!/usr/bin/env python3
"""Run the benchmarks and write BENCHMARKS.md: whole processes, cold caches, baselines doing the same stages.

    python bench/run.py            # full: 3/50/500/1000 modules, load cost at 3 and 300 modules (~25 min here)
    python bench/run.py --quick    # 3/50 modules, load cost at 3 and 30 (~3 min here): a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "moddash-service")]

from bench import build_speed, load_cost, synthetic  # noqa: E402
from bench.process import Stats, ratios, stats  # noqa: E402


@attrs.frozen
class Plan:
    """What a run measures."""

    sizes: tuple[int, ...]
    compare_at: int
    edit_at: int
    runs: int
    load_sizes: tuple[int, int]
    load_hours: float
    quick: bool


FULL = Plan((3, 50, 500, 1000), 500, 1000, 5, (3, 300), 6.0, False)
QUICK = Plan((3, 50), 50, 50, 5, (3, 30), 1.0, True)


@attrs.define
class LoadLog:
    """The machine's load average (1, 5, 15 min) when each part of the run started, and the 1-minute load average
    sampled after every round of that part."""

    entries: list[tuple[str, tuple[float, float, float]]] = attrs.Factory(list)
    samples: dict[str, list[float]] = attrs.Factory(dict)

    def note(self, what: str) -> None:
        """Record the load average as part `what` starts."""
        self.entries.append((what, os.getloadavg()))

    def sample(self) -> None:
        """Record the 1-minute load average now, for the part running."""
        if self.entries:
            self.samples.setdefault(self.entries[-1][0], []).append(os.getloadavg()[0])

    def rows(self) -> list[tuple[str, str, str]]:
        """Return (part, load average at its start, 1-minute load min–max over its rounds)."""
        return [(what, ", ".join(f"{v:.2f}" for v in start),
                 f"{min(s):.2f}–{max(s):.2f}" if (s := self.samples.get(what)) else "—")
                for what, start in self.entries]


def machine() -> dict[str, str]:
    """Return what the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
               platform.processor())
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    memory = next((line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal")), "0")
    prometheus = subprocess.run(["prometheus", "--version"], capture_output=True, text=True, check=False)
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
                   f"{int(memory) // 1024 // 1024} GiB",
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("grafana-foundation-sdk", "grafanalib", "jsonschema",
                                                     "promql-parser", "PyYAML")},
        "prometheus, promtool": (prometheus.stdout or prometheus.stderr).splitlines()[0]
        if prometheus.returncode == 0 else "?",
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Return a Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def seconds(values: Sequence[float], unit: str = "s", scale: float = 1.0) -> str:
    """Return `median s (min–max)`."""
    return stats([scale * v for v in values]).text(2, f" {unit}")


def times(value: Stats) -> str:
    """Return a ratio's `median× (min–max)`."""
    return f"{value.median:.2f}× ({value.min:.2f}–{value.max:.2f})"


def verdict(ok: bool) -> str:
    """Return a target's mark."""
    return "met" if ok else "**not met**"


def figures(measured: build_speed.Measured) -> list[str]:
    """Return a process's wall seconds (median, min–max), median CPU seconds and median peak RSS."""
    return [seconds(measured.seconds), f"{stats(measured.cpu).median:.2f} s", f"{stats(measured.rss).median:.0f} MB"]


def method(plan: Plan) -> list[str]:
    """Return the report's description of what is measured and how."""
    shapes = ", ".join(f"{name} ({panels} panels)" for name, panels in synthetic.SHAPES.items())
    return [
        "## What is measured", "",
        "Every figure is a whole process, from the start of a fresh interpreter to its exit (`time.perf_counter` "
        "around the child; CPU is the child's user + system time and peak RSS its `ru_maxrss`, both from `wait4`, "
        "so they include the `promtool` and `amtool` the build starts: peak RSS is the largest of those processes).",
        "",
        f"- **Runs**: each figure is the median of {plan.runs} runs, with min and max. Contenders are interleaved "
        "(A B C, A B C, ...), and every ratio is taken pairwise, run by run, between runs of the same round; the "
        "ratio's median, min and max are given.",
        "- **Cold**: before each cold run the generated repository has no `.dashbuild-cache/`, no `__pycache__` "
        "anywhere in it, and, for a full build, none of the files a build writes (so every file is written); the "
        "process runs with `PYTHONDONTWRITEBYTECODE=1`, so the project's code and module files are compiled from "
        "source in every run. Installed packages (grafana-foundation-sdk, jsonschema, click, PyYAML, ...) load "
        "from their installed bytecode in every process, ours and the baselines'.",
        "- **Cached path, said so**: the no-change `--check` answers from the memo the previous build stored in "
        "`.dashbuild-cache/` (checked before each run: the harness asks `dashbuild.build_memo.unchanged` in the "
        "generated repository); the one-module edit is `python build.py` after a previous build, so the "
        "remembered promtool/amtool passes apply (a title edit changes no rule file). Both are given without "
        "bytecode (as above) and with the `__pycache__` earlier runs wrote (Python's default).",
        f"- **Inputs**: a generated repository: a copy of the project's code (`build.py`, `dashbuild/`, "
        "`panels/`, `rules/`, `moddash-service/`, `dashboards/settings.py` and `__init__.py`), the three real "
        "module files (`llm_provider`, `prompt_manager`, `prompt_security`) and scaffolded modules "
        f"(`dashbuild.scaffold.module_source`, what `new-module` writes) in four shapes taken in turn: {shapes}; "
        "each also gets the six-stat SLO row. N modules = the 3 real ones + N − 3 scaffolded. Above 20 modules "
        "(`overview_sections_max`) the overview is the table form.",
        "- **Baselines** do the stages the build does for dashboards: import module files, build with the "
        "library, serialise, write one JSON file per dashboard (`out/<uid>.json`, plain writes). They are "
        "processes of their own that import nothing of this project (`bench/baselines.py`). *Bare SDK, "
        "recorded*: one file per dashboard holding the grafana-foundation-sdk builder calls our renderer makes "
        "for it, recorded and written out as Python (`bench/sdk_source.py`); a builder chain that occurs in more "
        "than one dashboard is written once in a shared module, as a person writes helpers, so repeated text is "
        "not compiled again and again. Its JSON is asserted byte-identical to ours, overview included, after "
        "every run. *Bare SDK, hand-written* (`bench/bare_sdk.py`) and *grafanalib* (`bench/with_grafanalib.py`): "
        "the `new-module` dashboard written by hand with helpers, one module file calling it per module; the "
        "first is asserted byte-identical to ours, the second equivalent (every panel's title, position and "
        "queries equal ours; its JSON is grafanalib's own model: other panel ids, defaults and schema version). "
        "Those two exist for the `new-module` shape only and produce no overview.",
        "- **What ours does besides**: the build also validates every dashboard against Grafana's JSON Schema, "
        "lints it, writes the overview, provisioning, Prometheus (recording, alert and SLO rules) and "
        "Alertmanager files through a journaled transaction (fsync, rename), runs `promtool` and `amtool` on "
        "them, and writes the manifest and the memo. The baselines write the dashboards only.",
        "",
    ]


def report(plan: Plan, info: dict[str, str], load_log: LoadLog, note: str, scaling: build_speed.Scaling,
           edits: build_speed.EditAndCheck, comparison: build_speed.Comparison,
           loads: Sequence[load_cost.LoadResult] | None) -> str:
    """Return BENCHMARKS.md."""
    command = f"python bench/run.py{' --quick' if plan.quick else ''}"
    lines = ["# Benchmarks", "", f"Generated by `{command}`."
             + (" A quick run: smaller sizes than the targets name; the targets are assessed by the full run."
                if plan.quick else ""), ""]
    lines += table(["", ""], list(info.items()))
    lines += ["", "### Load on the machine during the run", "",
              note or "No note given (`--load-note`).", "",
              "Load average (1, 5, 15 min) as each part started and when the run ended, and the 1-minute load "
              "average sampled after each round of the part (2 cores: above 2, processes wait for a core):", ""]
    lines += table(["part", "load average at start", "1-min load during the part"], load_log.rows())
    lines += ["", "Wall times on a shared machine are noisy: compare the ratios (pairwise, same rounds) and the "
              "CPU seconds rather than absolute wall times. Where a process's CPU seconds are close to its wall "
              "seconds, it was seldom kept waiting for a core.", ""]
    lines += method(plan)

    n, e = edits.modules, edits
    lines += ["## One-module edit and no-change check", "",
              f"At {n} modules, after a build. *Edit*: one panel title changed in one scaffolded module file, then "
              "`python build.py` (a new title each run; the built JSON is checked to hold it). *No change*: "
              "`python build.py --check` right after a build. *Cold check*: `python build.py --check --no-cache` "
              "(the whole build in memory, nothing written).", ""]
    lines += table(["command", "bytecode", "wall", "CPU", "peak RSS"], [
        ["edit one title, `python build.py`", "none", *figures(e.edit)],
        ["edit one title, `python build.py`", "cached", *figures(e.edit_bytecode)],
        ["no change, `python build.py --check`", "none", *figures(e.check)],
        ["no change, `python build.py --check`", "cached", *figures(e.check_bytecode)],
        ["`python build.py --check --no-cache`", "none", *figures(e.check_no_cache)],
    ])

    c, s = scaling.compare_at, scaling
    build_vs_bare = ratios(s.builds[c].seconds, s.bare_sdk.seconds)
    cpu_vs_bare = ratios(s.builds[c].cpu, s.bare_sdk.cpu)
    lines += ["", f"## Full build against the bare SDK, {c} modules", "",
              f"`python build.py --no-cache`, cold, against the recorded bare-SDK baseline producing the same {c + 1} "
              "dashboards byte for byte, interleaved (the runs are those of the scaling table below).", ""]
    lines += table(["process", "wall", "CPU", "peak RSS"], [
        ["`python build.py --no-cache`", *figures(s.builds[c])], ["bare SDK (recorded)", *figures(s.bare_sdk)]])
    lines += ["", f"Ratio ours / bare SDK, pairwise: wall {times(build_vs_bare)}, CPU {times(cpu_vs_bare)}.", ""]

    m = comparison.modules
    lines += [f"### Every way, {m} `new-module` modules", "",
              f"A generated repository of {m} modules exactly as `new-module` writes them (no real module), so "
              "that the hand-written baselines apply; interleaved, each checked after each run.", ""]
    contenders = [("`python build.py --no-cache`", comparison.ours),
                  (f"bare SDK, recorded ({m + 1} dashboards, overview included)", comparison.bare_sdk),
                  (f"bare SDK, hand-written ({m} dashboards)", comparison.bare_sdk_kit),
                  (f"grafanalib ({m} dashboards, equivalent)", comparison.grafanalib)]
    lines += table(["process", "wall", "CPU", "peak RSS", "ours / this (wall, pairwise)"], [
        [name, *figures(measured), "—" if measured is comparison.ours
         else times(ratios(comparison.ours.seconds, measured.seconds))] for name, measured in contenders])
    lines += ["", f"grafanalib / bare SDK hand-written, pairwise: "
              f"{times(ratios(comparison.grafanalib.seconds, comparison.bare_sdk_kit.seconds))}.", ""]

    lines += ["## Scaling", "",
              "Cold `python build.py --no-cache`, then the no-change `python build.py --check` (memo, no bytecode), "
              "per module count, all interleaved in the same rounds.", ""]
    lines += table(["modules", "build wall", "build CPU", "ms CPU / module", "peak RSS", "no-change check wall"], [
        [str(k), seconds(s.builds[k].seconds), f"{stats(s.builds[k].cpu).median:.2f} s",
         f"{1000 * stats(s.builds[k].cpu).median / k:.0f}", f"{stats(s.builds[k].rss).median:.0f} MB",
         seconds(s.checks[k].seconds)] for k in plan.sizes])

    targets: list[tuple[str, str, str]] = []
    full = not plan.quick
    targets.append((f"one-module edit at {n} modules ≤ 0.6 s (no bytecode / cached bytecode)",
                    f"{stats(e.edit.seconds).median:.2f} s / {stats(e.edit_bytecode.seconds).median:.2f} s",
                    verdict(stats(e.edit.seconds).median <= 0.6) + " / "
                    + verdict(stats(e.edit_bytecode.seconds).median <= 0.6) if full else "not assessed (quick)"))
    targets.append((f"no-change `--check` at {n} modules ≤ 0.5 s (no bytecode / cached bytecode)",
                    f"{stats(e.check.seconds).median:.2f} s / {stats(e.check_bytecode.seconds).median:.2f} s",
                    verdict(stats(e.check.seconds).median <= 0.5) + " / "
                    + verdict(stats(e.check_bytecode.seconds).median <= 0.5) if full else "not assessed (quick)"))
    targets.append((f"`--no-cache` build at {c} modules ≤ 1.5× the bare SDK (wall, pairwise median)",
                    f"{build_vs_bare.median:.2f}×", verdict(build_vs_bare.median <= 1.5) if full
                    else "not assessed (quick)"))

    if loads is not None:
        small, large = loads
        lines += ["", "## Overview load cost on Prometheus", "",
                  f"{plan.load_hours:g} h of data for N `new-module` modules, backfilled into a real Prometheus "
                  f"(`bench/load_cost.py`): raw series one sample every {load_cost.SCRAPE_SECONDS} s (78 series per "
                  "module: 4 operations × 2 statuses, 12 buckets per operation, errors by type, tokens, cost, cache, "
                  "up), and the recorded series the dashboards read, named and labelled as the generated rules "
                  "write them, one sample per evaluation interval (5 s for `module:*`/`all:*` as in the generated "
                  "prometheus.yml, 1 min for the SLO group); their values are synthetic, written by the generator, "
                  "not evaluated from the raw series (`promtool tsdb create-blocks-from rules` writes one block per "
                  "rule: thousands at 300 modules). Blocks are as backfilled (2 h each), not compacted. Both servers "
                  "run at once; each dashboard's queries are run the way Grafana runs them on open (variables "
                  "first; collapsed rows wait until opened; `query_range` over the last 6 h with the step of a "
                  "~1,600-pixel panel, instant queries at its end), one after another, and the loads are "
                  f"interleaved across the two servers: median of {plan.runs} after a warm-up.", ""]
        rows = []
        for result in loads:
            for load in result.loads:
                name = load.dashboard.replace(f"{synthetic.module_title(0)} Dashboard", "one module dashboard")
                rows.append((result.modules, name, load.queries, seconds(load.seconds, "ms", 1000), load.empty))
        lines += table(["N", "dashboard", "queries", "load", "queries without data"], rows)
        overview = ratios(large.loads[0].seconds, small.loads[0].seconds)
        small_parts = dict(small.loads[0].parts)
        heaviest = sorted(large.loads[0].parts, key=lambda part: -stats(part[1]).median)[:6]
        lines += ["", "Where the overview's load goes (median ms per load; the variables are its three hidden top-5 "
                      "queries together):", ""]
        lines += table(["part", f"N = {small.modules}", f"N = {large.modules}"], [
            (label, f"{1000 * stats(small_parts[label]).median:.1f}" if label in small_parts else "—",
             f"{1000 * stats(values).median:.1f}") for label, values in heaviest])
        lines += ["", f"Overview load at N = {large.modules} / N = {small.modules}, pairwise: {times(overview)}. "
                  "What grows with N on open: beside sections (N ≤ 20), the three hidden top-5 variables, each "
                  "averaging every module's series over the range (N × 6 h / 5 s samples); in the table form, the "
                  "three variables (each module's value at the end of the range) and the two counts (modules not "
                  "UP, SLOs low on budget), one sample per module, or per module and SLO, each. The time series "
                  "read the one all-modules series and five modules'.", ""]
        lines += ["Collapsed rows run their queries when opened, not on load (module sections beside sections; the "
                  "Modules and SLOs tables in the table form); each opened after a load, median ms (min–max):", ""]
        lines += table(["N", "row", "queries", "opening"], [
            (result.modules, title, count, seconds(values, "ms", 1000)) for result in loads
            for title, count, values in result.loads[0].opened])
        lines += ["",
                  "Backfill: " + "; ".join(f"N = {r.modules}: " + ", ".join(
                      f"{k} {v:.0f} s" for k, v in r.backfill_seconds.items()) for r in loads) + "."]
        targets.append((f"overview load at N = {large.modules} ≤ 2× N = {small.modules} (pairwise median)",
                        f"{overview.median:.2f}×", verdict(overview.median <= 2)
                        if large.modules >= 300 else "not assessed (quick)"))

    lines += ["", "## Targets (issue 16)", "", *table(["target", "measured", ""], targets)]
    lines += ["", "## Reproduce", "", "```", "pip install -e '.[test,bench]'",
              "apt-get install -y --no-install-recommends prometheus   # promtool and prometheus", command, "```",
              "", "Timings vary with the machine and what else runs on it; the ratios are what to compare.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print progress, write the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 h of data: a smoke run")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--runs", type=int, help="runs per figure (at least 5 for the report's figures)")
    parser.add_argument("--skip-load", action="store_true", help="skip the Prometheus load cost")
    parser.add_argument("--load-note", default="", help="what else ran on the machine, for the report")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.runs:
        plan = attrs.evolve(plan, runs=args.runs)
    started = time.perf_counter()

    load_log = LoadLog()

    def log(text: str) -> None:
        load_log.sample()
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)

    info = machine()
    with tempfile.TemporaryDirectory(prefix="dashbuild-bench-") as tmp:
        workdir = Path(tmp)

        def step(what: str) -> None:
            load_log.note(what)
            log(what)

        step(f"scaling {plan.sizes} and the bare SDK at {plan.compare_at}")
        scaling = build_speed.scaling(workdir, plan.sizes, plan.compare_at, plan.runs, log)
        step(f"edit and check at {plan.edit_at}")
        edits = build_speed.edit_and_check(scaling.repos[plan.edit_at], plan.edit_at, plan.runs, log)
        step(f"every way at {plan.compare_at} new-module modules")
        comparison = build_speed.comparison(workdir, plan.compare_at, plan.runs, log)
        loads = None
        if not args.skip_load:
            step(f"load cost: backfilling N = {plan.load_sizes} ({plan.load_hours:g} h)")
            datasets = [load_cost.prepare(n, plan.load_hours, workdir / "load") for n in plan.load_sizes]
            step("load cost: measuring")
            loads = load_cost.measure(datasets, plan.runs)
        load_log.note("end")
    text = report(plan, info, load_log, args.load_note, scaling, edits, comparison, loads)
    args.output.write_text(text)
    log(f"wrote {args.output}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
