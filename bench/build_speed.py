"""Build speed, whole processes: `python build.py` in generated repositories against baselines run the same way.

Every figure is a fresh interpreter from start to exit. Cold means: no `.dashbuild-cache/`, no `__pycache__` in
the generated repository (removed before each run, and Python told not to write any), and for a full build no
output files, so that every file is written. The no-change and edit figures keep what the previous build left
in `.dashbuild-cache/` (the memo, the tool passes), which is what they measure. Installed packages (the SDK,
jsonschema, ...) load from their installed bytecode in every case.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from bench import baselines, synthetic
from bench.process import Contender, Sample, interleave, python, run

Log = Callable[[str], None]
MEMO_ANSWERS = """
import sys
from pathlib import Path
root = Path.cwd()
sys.path[:0] = [str(root), str(root / "moddash-service")]
from dashbuild.build_memo import unchanged
sys.exit(0 if unchanged(root) is not None else 1)
"""


def _memo_answers(root: Path) -> None:
    """Raise unless a build or check of `root` now would answer from the memo (the no-change fast path)."""
    try:
        run([sys.executable, "-c", MEMO_ANSWERS], root, {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    except RuntimeError:
        raise AssertionError(f"{root}: the memo does not answer; a no-change figure would measure a build") from None


def _fresh(root: Path) -> None:
    synthetic.remove_bytecode(root)


def _cold_build(root: Path) -> Contender:
    return Contender("build --no-cache", lambda: python("build.py", "--no-cache", cwd=root),
                     prepare=lambda: synthetic.make_cold(root))


def _no_change_check(root: Path, bytecode: bool = False) -> Contender:
    def prepare() -> None:
        if not bytecode:
            _fresh(root)
        _memo_answers(root)

    return Contender("check", lambda: python("build.py", "--check", cwd=root, bytecode=bytecode), prepare=prepare)


def _clean_baseline(folder: Path) -> None:
    shutil.rmtree(folder / baselines.OUT, ignore_errors=True)
    synthetic.remove_bytecode(folder)


def _baseline(name: str, folder: Path, verify: Callable[[], None]) -> Contender:
    return Contender(name, lambda: python(baselines.SCRIPT, cwd=folder), prepare=lambda: _clean_baseline(folder),
                     verify=verify)


@attrs.frozen
class Measured:
    """A contender's runs."""

    name: str
    samples: tuple[Sample, ...]

    @property
    def seconds(self) -> list[float]:
        """Return the wall seconds of each run."""
        return [s.seconds for s in self.samples]

    @property
    def cpu(self) -> list[float]:
        """Return the CPU seconds of each run."""
        return [s.cpu_seconds for s in self.samples]

    @property
    def rss(self) -> list[float]:
        """Return the peak RSS (MB) of each run."""
        return [s.peak_rss_mb for s in self.samples]


def _done(contender: Contender) -> Measured:
    return Measured(contender.name, tuple(contender.samples))


@attrs.frozen
class Scaling:
    """Per module count: the cold full build and the no-change check; at `compare_at`, the bare-SDK baseline."""

    builds: dict[int, Measured]
    checks: dict[int, Measured]
    compare_at: int
    bare_sdk: Measured
    repos: dict[int, Path]


def scaling(workdir: Path, sizes: Sequence[int], compare_at: int, runs: int, log: Log) -> Scaling:
    """Measure `build.py --no-cache` (cold) and then `build.py --check` (no change) at each size, interleaved, with
    the recorded bare-SDK baseline beside the build at `compare_at`; its JSON is checked identical after each run."""
    repos = {n: synthetic.make_repo(workdir / f"mixed-{n}", n) for n in sizes}
    log(f"recording the bare-SDK baseline of {compare_at} modules ...")
    bare_folder = baselines.write_recorded(workdir / f"bare-sdk-{compare_at}",
                                           baselines.project_specs(repos[compare_at]))
    order: list[tuple[int, str, Contender]] = []
    for n in sizes:
        root = repos[n]
        order.append((n, "build", _cold_build(root)))
        if n == compare_at:
            order.append((n, "bare", _baseline(
                "bare SDK (recorded)", bare_folder, lambda root=root: baselines.assert_identical(  # type: ignore[misc]
                    baselines.outputs(bare_folder), baselines.ours(root), "bare SDK (recorded)"))))
        order.append((n, "check", _no_change_check(root)))
    interleave([c for _, _, c in order], runs, lambda i: log(f"  round {i + 1}/{runs} done"))
    by_kind = {(n, kind): _done(c) for n, kind, c in order}
    return Scaling({n: by_kind[n, "build"] for n in sizes}, {n: by_kind[n, "check"] for n in sizes}, compare_at,
                   by_kind[compare_at, "bare"], repos)


@attrs.frozen
class EditAndCheck:
    """At one module count, after a build: a one-title edit then `build.py`, the no-change `--check`, and the cold
    `--check --no-cache`; then the edit and the check again with bytecode caches written by earlier runs."""

    modules: int
    edit: Measured
    check: Measured
    check_no_cache: Measured
    edit_bytecode: Measured
    check_bytecode: Measured


def edit_and_check(root: Path, modules: int, runs: int, log: Log) -> EditAndCheck:
    """Measure the edit loop and the checks on `root`, a repository already built."""
    edits = itertools.count(1)

    def edited(bytecode: bool) -> Contender:
        def prepare() -> None:
            if not bytecode:
                _fresh(root)
            synthetic.edit_title(root, next(edits))

        def verify() -> None:
            if "Operations/s (edit " not in (root / "provisioning/dashboards" /
                                             f"{synthetic.module_name(0).replace('_', '-')}.json").read_text():
                raise AssertionError("the edit is not in the built dashboard")

        return Contender("edit + build", lambda: python("build.py", cwd=root, bytecode=bytecode), prepare=prepare,
                         verify=verify)

    cold = [edited(False), _no_change_check(root),
            Contender("check --no-cache", lambda: python("build.py", "--check", "--no-cache", cwd=root),
                      prepare=lambda: _fresh(root))]
    interleave(cold, runs, lambda i: log(f"  round {i + 1}/{runs} done"))
    log("  with bytecode caches: warm-up ...")
    synthetic.edit_title(root, next(edits))
    python("build.py", cwd=root, bytecode=True)
    warm = [edited(True), _no_change_check(root, bytecode=True)]
    interleave(warm, runs, lambda i: log(f"  round {i + 1}/{runs} done"))
    _fresh(root)
    return EditAndCheck(modules, *(_done(c) for c in cold), *(_done(c) for c in warm))


@attrs.frozen
class Comparison:
    """`new-module` modules only: our cold build against the recorded and hand-written bare-SDK baselines and
    grafanalib, interleaved."""

    modules: int
    ours: Measured
    bare_sdk: Measured
    bare_sdk_kit: Measured
    grafanalib: Measured


def comparison(workdir: Path, count: int, runs: int, log: Log) -> Comparison:
    """Measure the four ways of producing `count` scaffolded modules' dashboards, each checked after each run."""
    modules = synthetic.sources(count)
    root = synthetic.make_repo(workdir / f"scaffold-{count}", count, modules)
    log(f"recording the bare-SDK baseline of {count} scaffolded modules ...")
    bare = baselines.write_recorded(workdir / f"scaffold-bare-sdk-{count}", baselines.project_specs(root))
    kit = baselines.write_kit(workdir / f"scaffold-kit-{count}", "bare-sdk-kit", list(modules))
    grafanalib = baselines.write_kit(workdir / f"scaffold-grafanalib-{count}", "grafanalib", list(modules))
    contenders = [
        _cold_build(root),
        _baseline("bare SDK (recorded)", bare, lambda: baselines.assert_identical(
            baselines.outputs(bare), baselines.ours(root), "bare SDK (recorded)")),
        _baseline("bare SDK (hand-written)", kit, lambda: baselines.assert_identical(
            baselines.outputs(kit), baselines.ours(root), "bare SDK (hand-written)")),
        _baseline("grafanalib", grafanalib, lambda: baselines.assert_equivalent(
            baselines.outputs(grafanalib), baselines.ours(root), "grafanalib")),
    ]
    interleave(contenders, runs, lambda i: log(f"  round {i + 1}/{runs} done"))
    return Comparison(count, *(_done(c) for c in contenders))
