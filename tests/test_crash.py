"""SIGKILL at random moments of `python build.py`, with modules renamed, added, removed or retitled between runs.

After every kill: no generated file is corrupt (each parses), and `--check` says fresh only when the tree
is exactly a clean build of the current sources. After the next complete build: the tree is exactly that
clean build (no orphan of a renamed module, no temp file, no journal). Kills are aimed three ways: at a
uniformly random time, just after the first staged file appears, and just after the journal appears
(the renames and removals), so every phase of the transaction is hit.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dashbuild.manifest import MANIFEST
from dashbuild.transaction import JOURNAL
from tests.conftest import COPIED, GENERATED_DIRS, REPO, run_build, snapshot

ITERATIONS = 30
TIME_BUDGET_SECONDS = 150.0


def _original(name: str) -> str:
    return (REPO / "dashboards" / f"{name}.py").read_text()


def state_original(root: Path) -> None:
    """The repository's three modules."""
    for name in ("prompt_manager", "prompt_security", "llm_provider"):
        (root / "dashboards" / f"{name}.py").write_text(_original(name))
    for name in ("llm_gateway", "billing"):
        (root / "dashboards" / f"{name}.py").unlink(missing_ok=True)


def state_renamed(root: Path) -> None:
    """llm_provider renamed to llm_gateway (new dashboard, alert file; old ones are orphans)."""
    state_original(root)
    text = _original("llm_provider").replace("llm_provider", "llm_gateway").replace("LLM Provider", "LLM Gateway")
    (root / "dashboards" / "llm_gateway.py").write_text(text)
    (root / "dashboards" / "llm_provider.py").unlink()


def state_swapped(root: Path) -> None:
    """prompt_security removed, billing added, prompt_manager retitled."""
    state_original(root)
    text = _original("prompt_security").replace("prompt_security", "billing").replace(
        "Prompt Security", "Billing").replace("8001", "8011")
    (root / "dashboards" / "billing.py").write_text(text)
    (root / "dashboards" / "prompt_security.py").unlink()
    manager = root / "dashboards" / "prompt_manager.py"
    manager.write_text(manager.read_text().replace('title="Prompt Manager"', 'title="Prompt Manager II"'))


def state_panel_retitled(root: Path) -> None:
    """One panel of prompt_security retitled (a build after it reuses the other modules: dashbuild/build_units.py)."""
    state_original(root)
    security = root / "dashboards" / "prompt_security.py"
    security.write_text(security.read_text().replace('title="Security event timeline"', 'title="Security events"'))


STATES: dict[str, Callable[[Path], None]] = {
    "original": state_original, "renamed": state_renamed, "swapped": state_swapped,
    "panel_retitled": state_panel_retitled}


def clean_copy(tmp_path: Path, name: str) -> Path:
    """Return a copy of the repository's sources with no generated file at all."""
    root = tmp_path / name
    root.mkdir()
    for item in COPIED:
        source = REPO / item
        if item in (*GENERATED_DIRS, MANIFEST):
            continue
        if source.is_dir():
            shutil.copytree(source, root / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / item)
    return root


def reference_trees(tmp_path: Path) -> dict[str, dict[str, bytes]]:
    """Return, per state, the generated tree of a clean build of those sources."""
    trees = {}
    for name, apply_state in STATES.items():
        root = clean_copy(tmp_path, f"reference-{name}")
        apply_state(root)
        result = run_build(root)
        assert result.returncode == 0, result.stderr
        trees[name] = snapshot(root)
    return trees


def generated_tree(root: Path) -> dict[str, bytes]:
    """Return the tree as --check and the build see it: outputs, manifest, and anything left at the root."""
    tree = snapshot(root)
    for leftover in root.glob(".*"):
        if leftover.is_file() and leftover.name != ".build.lock":
            tree[leftover.name] = leftover.read_bytes()
    return tree


def assert_nothing_corrupt(root: Path) -> None:
    """Every generated file that exists parses completely."""
    for path in sorted([*(p for d in GENERATED_DIRS for p in (root / d).rglob("*")), root / MANIFEST]):
        if not path.is_file() or path.name.startswith("."):
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix in (".yml", ".yaml"):
            assert yaml.safe_load(text) is not None, path


def wait_for(root: Path, aim: str, process: subprocess.Popen[bytes], rng: random.Random, budget: float) -> None:
    """Return when it is time to kill: after a random delay, or just after staging or the journal appears."""
    deadline = time.monotonic() + 20
    if aim == "uniform":
        time.sleep(rng.uniform(0, budget))
        return
    while process.poll() is None and time.monotonic() < deadline:
        if aim == "journal" and (root / JOURNAL).exists():
            break
        if aim == "staging" and any(p.name.endswith(".tmp") and ".dashbuild-" in p.name
                                    for folder in (root / "provisioning" / "dashboards", root / "prometheus" / "rules")
                                    for p in folder.glob(".*")):
            break
    time.sleep(rng.uniform(0, 0.004))


@pytest.mark.parametrize("seed", [20261130])
def test_sigkill_at_random_moments_never_leaves_a_half_applied_tree(tmp_path: Path, seed: int) -> None:
    references = reference_trees(tmp_path)
    root = clean_copy(tmp_path, "victim")
    assert run_build(root).returncode == 0
    rng = random.Random(seed)
    started = time.perf_counter()
    build_seconds = 1.0
    current = "original"
    kills_with_journal = 0
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for iteration in range(ITERATIONS):
        if time.perf_counter() - started > TIME_BUDGET_SECONDS:
            break
        current = rng.choice([name for name in STATES if name != current])
        STATES[current](root)
        aim = ("uniform", "staging", "journal")[iteration % 3]
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(root / "build.py")], cwd=root, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(root, aim, process, rng, build_seconds)
        process.kill()
        returncode = process.wait()
        stderr = process.stderr.read().decode() if process.stderr else ""
        if returncode > 0:
            pytest.fail(f"iteration {iteration}: the build failed by itself ({returncode}): {stderr}")
        if returncode == 0:
            build_seconds = max(build_seconds, time.perf_counter() - began)
        kills_with_journal += (root / JOURNAL).exists()

        assert_nothing_corrupt(root)
        check = run_build(root, "--check")
        if check.returncode == 0:
            assert generated_tree(root) == references[current], f"iteration {iteration}: --check said fresh"
        if iteration % 2 == 1:
            finished = run_build(root)
            assert finished.returncode == 0, finished.stderr
            assert generated_tree(root) == references[current], f"iteration {iteration}: not a clean build"
            assert run_build(root, "--check").returncode == 0
    finished = run_build(root)
    assert finished.returncode == 0, finished.stderr
    assert generated_tree(root) == references[current]
    assert kills_with_journal >= 3, "the kills never landed inside the apply phase: aim them better"
