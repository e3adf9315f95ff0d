"""Per-module reuse (dashbuild/build_units.py): after any edit, a build reusing the last build's per-module results
says and writes exactly what a clean build (`--no-cache`, no cache folder) says and writes, and after a one-module
edit it loads only that module file and the module files importing it."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashbuild import stat_hashes
from dashbuild.build_units import UNITS
from dashbuild.cache_dir import CACHE_DIR
from dashbuild.canonical import Uncanonical, digest
from dashbuild.input_snapshot import ALL_MODULES, InputSnapshot, is_module_file, module_dependencies
from dashbuild.manifest import MANIFEST
from dashbuild.promtool_check import _is_rule_file
from dashbuild.scaffold import module_source
from dashbuild.stat_hashes import StatHashes
from tests.conftest import run_build, snapshot

SHARED_TITLE = 'SHARED_TITLE = "Alpha tokens"\n'
# Each module file notes its import in a log outside the repository: the proof of what a build loaded.
LOG_LINE = 'import os as _os\n\nwith open(_os.environ["IMPORT_LOG"], "a") as _log:\n    _log.write(__name__ + "\\n")\n'


def _scaffolded(name: str, port: int) -> str:
    source = module_source(name, port, name.title())
    return source.replace("\nCONTRACT = ", f"\n{LOG_LINE}\nCONTRACT = ", 1)


@pytest.fixture
def project(repo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return the repository with three more modules, beta reading a title from alpha; built once."""
    monkeypatch.setenv("IMPORT_LOG", str(tmp_path / "imports.log"))
    dashboards = repo_copy / "dashboards"
    alpha = _scaffolded("alpha", 20001).replace("\nCONTRACT = ", f"\n{SHARED_TITLE}\nCONTRACT = ", 1)
    (dashboards / "alpha.py").write_text(alpha, encoding="utf-8")
    beta = _scaffolded("beta", 20002).replace("from panels.promql import variable",
                                              "from dashboards.alpha import SHARED_TITLE\nfrom panels.promql import "
                                              "variable")
    (dashboards / "beta.py").write_text(beta.replace('h.token_usage(CONTRACT.metric("tokens_total"))',
                                                     'h.token_usage(CONTRACT.metric("tokens_total"), '
                                                     'title=SHARED_TITLE)'), encoding="utf-8")
    (dashboards / "gamma.py").write_text(_scaffolded("gamma", 20003), encoding="utf-8")
    built = run_build(repo_copy)
    assert built.returncode == 0, built.stderr
    return repo_copy


def imports(tmp_path: Path) -> list[str]:
    """Return the module files imported since the log was last read, and empty the log."""
    log = tmp_path / "imports.log"
    names = sorted(log.read_text(encoding="utf-8").split()) if log.exists() else []
    log.unlink(missing_ok=True)
    return names


def replace_in(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file at `path`, which must hold it."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} has no {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def same_as_clean(root: Path, tmp_path: Path, step: int) -> subprocess.CompletedProcess[str]:
    """Build `root` reusing its cache, and a copy of it without the cache with --no-cache; assert that both say
    and leave exactly the same; return the reusing build."""
    clean = tmp_path / f"clean-{step}"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns(CACHE_DIR, "__pycache__"))
    reusing = run_build(root)
    fresh = run_build(clean, "--no-cache")
    assert (reusing.returncode, reusing.stdout, reusing.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert snapshot(root) == snapshot(clean)
    shutil.rmtree(clean)
    return reusing


def test_an_edit_loads_only_the_edited_module_and_the_modules_importing_it(project: Path, tmp_path: Path) -> None:
    imports(tmp_path)
    dashboards = project / "dashboards"
    replace_in(dashboards / "gamma.py", 'title="Operations/s by status"', 'title="Calls/s by status"')
    result = same_as_clean(project, tmp_path, 0)
    assert result.returncode == 0, result.stderr
    # The clean copy imported every module file; the reusing build gamma alone.
    assert imports(tmp_path) == ["dashboards.alpha", "dashboards.beta", "dashboards.gamma", "dashboards.gamma"]
    assert "Calls/s by status" in (project / "provisioning/dashboards/gamma.json").read_text(encoding="utf-8")

    replace_in(dashboards / "alpha.py", SHARED_TITLE, 'SHARED_TITLE = "Tokens of alpha"\n')
    assert same_as_clean(project, tmp_path, 1).returncode == 0
    # The clean copy imported all three; the reusing build alpha and beta, which imports alpha; not gamma.
    assert imports(tmp_path) == ["dashboards.alpha", "dashboards.alpha", "dashboards.beta", "dashboards.beta",
                                 "dashboards.gamma"]
    assert "Tokens of alpha" in (project / "provisioning/dashboards/beta.json").read_text(encoding="utf-8")


def _module(rng: random.Random, root: Path) -> Path:
    return rng.choice(sorted(p for p in (root / "dashboards").glob("*.py") if is_module_file(f"dashboards/{p.name}")))


def retitle_panel(root: Path, rng: random.Random) -> None:
    """A panel title in one module file (the common edit; reuse applies)."""
    path = _module(rng, root)
    text = path.read_text(encoding="utf-8")
    titles = [part.split('"')[0] for part in text.split('title="')[1:]]
    title = rng.choice(titles)
    replace_in(path, f'title="{title}"', f'title="{title} ({rng.randrange(1000)})"')


def set_value(path: Path, prefix: str, end: str, value: str) -> None:
    """Replace what follows the first `prefix` in the file, up to `end`, with `value`."""
    text = path.read_text(encoding="utf-8")
    start = text.index(prefix) + len(prefix)
    path.write_text(text[:start] + value + text[text.index(end, start):], encoding="utf-8")


def retitle_in_overview(root: Path, rng: random.Random) -> None:
    """A panel the module marks for the overview (its section changes while the overview shows sections)."""
    path = root / "dashboards" / rng.choice(["alpha.py", "gamma.py"])
    set_value(path, 'title="Operations/s', '"', f" ({rng.randrange(1000)})")


def change_contract(root: Path, rng: random.Random) -> None:
    """A module's contract: an objective (its alerts and SLO rules change)."""
    path = root / "dashboards" / rng.choice(["alpha.py", "gamma.py"])
    set_value(path, "error_ratio=", ",", rng.choice(["0.01", "0.02", "0.05", "0.1"]))


def change_shared_title(root: Path, rng: random.Random) -> None:
    """A value one module file imports from another."""
    path = root / "dashboards" / "alpha.py"
    text = path.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("SHARED_TITLE"))
    replace_in(path, line, f'SHARED_TITLE = "Alpha tokens {rng.randrange(1000)}"')


def change_helper(root: Path, rng: random.Random) -> None:
    """Helper code every module uses: a description the helper writes."""
    replace_in(root / "panels" / "helpers.py", 'f"Per-second rate of ', f'f"Per-second rate ({rng.randrange(99)}) of ')


def change_settings(root: Path, rng: random.Random) -> None:
    """The project's settings: titles, and how many modules the overview shows as sections."""
    path = root / "dashboards" / "settings.py"
    text = path.read_text(encoding="utf-8")
    if "overview_sections_max" in text:
        text = text.replace("    overview_sections_max=3,\n", "")
    else:
        text = text.replace('    overview_title="', '    overview_sections_max=3,\n    overview_title="', 1)
    path.write_text(text.replace('module_title="{title} Dashboard"', f'module_title="{{title}} {rng.randrange(9)}"')
                    if rng.random() < 0.5 else text, encoding="utf-8")


def add_or_remove_module(root: Path, rng: random.Random) -> None:
    """A module added, or one removed."""
    path = root / "dashboards" / "delta.py"
    if path.exists():
        path.unlink()
    else:
        path.write_text(_scaffolded("delta", 20004 + rng.randrange(100)), encoding="utf-8")


def break_and_mend(root: Path, rng: random.Random) -> None:
    """A module file that does not load (the next edit of this kind mends it)."""
    path = root / "dashboards" / "gamma.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nBROKEN = (\n", "\n") if "\nBROKEN = (\n" in text else text + "\nBROKEN = (\n",
                    encoding="utf-8")


def hand_edit_output(root: Path, rng: random.Random) -> None:
    """A generated file changed by hand, with a module edit beside it."""
    output = root / "provisioning" / "dashboards" / "alpha.json"
    output.write_bytes(output.read_bytes().replace(b'"title"', b'"title" ', 1))
    retitle_panel(root, rng)


def touch_only(root: Path, rng: random.Random) -> None:
    """A module file written again with the same bytes."""
    path = _module(rng, root)
    path.write_bytes(path.read_bytes())


EDITS: tuple[Callable[[Path, random.Random], None], ...] = (
    retitle_panel, retitle_in_overview, change_contract, change_shared_title, change_helper, change_settings,
    add_or_remove_module, break_and_mend, hand_edit_output, touch_only)


@pytest.mark.parametrize("seed", [16, 61])
def test_random_edits_build_exactly_what_a_clean_build_does(project: Path, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    # Every kind of edit at least once, in a random order, among single-module retitles (the reused path).
    plan = [*EDITS, *(retitle_panel for _ in range(4))]
    rng.shuffle(plan)
    outcomes = []
    for step, edit in enumerate(plan):
        edit(project, rng)
        result = same_as_clean(project, tmp_path, step)
        outcomes.append((edit.__name__, result.returncode))
    assert ("break_and_mend", 1) in outcomes, outcomes  # a failing build was compared too
    assert any(code == 0 for name, code in outcomes if name == "retitle_panel"), outcomes


def test_a_damaged_or_tampered_cache_is_ignored(project: Path, tmp_path: Path) -> None:
    units = project / UNITS
    document = json.loads(units.read_text(encoding="utf-8"))
    unit = document["units"]["dashboards/gamma.py"]
    unit["outputs"] = {"../outside.json": "0" * 64}
    units.write_text(json.dumps(document), encoding="utf-8")
    replace_in(project / "dashboards" / "gamma.py", 'title="Operations/s by status"', 'title="Calls/s by status"')
    assert same_as_clean(project, tmp_path, 0).returncode == 0
    units.write_text("{not json", encoding="utf-8")
    replace_in(project / "dashboards" / "gamma.py", 'title="Calls/s by status"', 'title="Calls by status"')
    assert same_as_clean(project, tmp_path, 1).returncode == 0
    document = json.loads(units.read_text(encoding="utf-8"))
    assert document["version"] == 1
    # Values of the wrong type, a file listed twice: each is a cache to ignore, not a traceback.
    tampers: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d["units"]["dashboards/alpha.py"].update(summary="a row"),
        lambda d: d["units"]["dashboards/alpha.py"].update(warnings=[["rule", "fatal", "f", "d", None, "m", None]]),
        lambda d: d["shared"]["identity"].append("x"),
        lambda d: d["order"].append(d["order"][0])]
    title = "Calls by status"
    for step, tamper in enumerate(tampers, start=2):
        broken = json.loads(json.dumps(document))
        tamper(broken)
        units.write_text(json.dumps(broken), encoding="utf-8")
        replace_in(project / "dashboards" / "gamma.py", f'title="{title}"', f'title="{step} calls by status"')
        title = f"{step} calls by status"
        result = same_as_clean(project, tmp_path, step)
        assert result.returncode == 0, result.stderr


def test_a_build_whose_inputs_change_while_it_runs_is_not_remembered(project: Path) -> None:
    inputs = InputSnapshot(str(project), frozenset(), MANIFEST)
    assert inputs.still_current()
    module = project / "dashboards" / "gamma.py"
    module.write_text(module.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert not inputs.still_current()


@pytest.mark.parametrize(("source", "expected"), [
    ("from panels import helpers as h\n", set()),
    ("# dashboards are made here\nx = 1\n", set()),
    ("from dashboards.alpha import X\n", {"alpha"}),
    ("import dashboards.alpha.sub\n", {"alpha"}),
    ("from dashboards import alpha, beta\n", {"alpha", "beta"}),
    ("from . import alpha\n", {"alpha"}),
    ("from .alpha import X\n", {"alpha"}),
    ("from dashboards import *\n", {ALL_MODULES}),
    ("import dashboards\n", {ALL_MODULES}),
    ("from .. import x\n", {ALL_MODULES}),
    ("import importlib\nm = importlib.import_module('dashboards.alpha')\n", {ALL_MODULES}),
    ("m = __import__('dashboards.alpha')\n", {ALL_MODULES}),
    ("exec(open('dashboards/alpha.py').read())\n", {ALL_MODULES}),
    ("import runpy\nrunpy.run_path('dashboards/alpha.py')\n", {ALL_MODULES}),
    ("from dashboards.alpha import (\n", set()),  # does not parse: it cannot load, so nothing is remembered
])
def test_the_module_files_a_module_file_imports(source: str, expected: set[str]) -> None:
    assert module_dependencies(source.encode()) == expected


@pytest.mark.parametrize(("path", "expected"), [
    ("dashboards/alpha.py", True), ("dashboards/settings.py", False), ("dashboards/__init__.py", False),
    ("dashboards/_helpers.py", False), ("dashboards/.#alpha.py", False), ("dashboards/sub/alpha.py", False),
    ("dashboards/alpha.json", False), ("panels/alpha.py", False),
])
def test_which_files_are_module_files(path: str, expected: bool) -> None:
    assert is_module_file(path) == expected


def test_digests_do_not_depend_on_the_hash_seed() -> None:
    code = ("from dashbuild.canonical import digest\n"
            "from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics\n"
            "c = ModuleContract(name='alpha', title='Alpha', target=ScrapeTarget(port=20001), "
            "metrics=standard_metrics('alpha'))\n"
            "print(digest((c, frozenset({'a', 'b', 'c', 'd'}), {'x': 1, 'y': 2.5})))\n")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "1", "2")}
    assert len(outputs) == 1


def test_digests_tell_values_apart_and_refuse_unknown_kinds() -> None:
    assert digest((1, "a")) != digest((1.0, "a")) != digest(["1", "a"])
    assert digest({"a": 1, "b": 2}) != digest({"b": 2, "a": 1})  # an output may follow a dict's order
    with pytest.raises(Uncanonical):
        digest(object())


@given(st.text(alphabet="prometheus/rl.ymx", max_size=30))
def test_the_rule_file_test_agrees_with_pathlib(path: str) -> None:
    pure = PurePosixPath(path)
    assert _is_rule_file(path) == (pure.parent == PurePosixPath("prometheus/rules") and pure.suffix == ".yml")


def test_a_file_rewritten_with_its_size_and_modification_time_kept_is_hashed_again(tmp_path: Path) -> None:
    path = tmp_path / "alpha.py"
    path.write_text("A = 1\n", encoding="utf-8")
    hashes = StatHashes(tmp_path)
    first, _derived, _stat = hashes.digest(str(path))
    before = path.stat()
    time.sleep(0.05)  # past any timestamp tick
    path.write_text("A = 2\n", encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime and size as they were; ctime moves
    assert hashes.digest(str(path))[0] != first


def test_only_files_still_for_a_while_are_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settled, fresh = tmp_path / "settled.py", tmp_path / "fresh.py"
    settled.write_text("A = 1\n", encoding="utf-8")
    fresh.write_text("B = 1\n", encoding="utf-8")
    hashes = StatHashes(tmp_path)
    hashes.digest(str(fresh))  # read just after it was written: a write within the same tick could follow unseen
    now = time.time_ns()
    monkeypatch.setattr(time, "time_ns", lambda: now + 2 * stat_hashes.RACY_NS)  # as if read two seconds later
    hashes.digest(str(settled))
    hashes.save()
    saved = json.loads((tmp_path / stat_hashes.HASHES).read_text(encoding="utf-8"))["entries"]
    assert list(saved) == [str(settled)]
    expected = hashes.digest(str(settled))[0]

    def unread(path: str) -> bytes | None:
        raise AssertionError(f"{path} was read although its stat is remembered")

    monkeypatch.setattr(stat_hashes, "read_file", unread)
    assert StatHashes(tmp_path).digest(str(settled))[0] == expected


def test_what_was_not_derived_before_is_derived_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "beta.py"
    path.write_text("from dashboards.alpha import X\n", encoding="utf-8")
    now = time.time_ns()
    monkeypatch.setattr(time, "time_ns", lambda: now + 2 * stat_hashes.RACY_NS)  # read long after it was written
    hashes = StatHashes(tmp_path)
    assert hashes.digest(str(path))[1] is None  # remembered with nothing derived
    assert hashes.digest(str(path), lambda source: sorted(module_dependencies(source)))[1] == ["alpha"]
