"""The no-change fast path: when nothing the build reads has changed since the last build, and the files on disk
are exactly what that build wrote, the answer is known without building (issue 16).

What the build reads is fingerprinted: every Python file of the project and every file under `dashboards/` and
`environments/` (module files, settings, whatever they import or open there), the generator's own packages
wherever they are installed (code and schemas), the installed distributions (their dist-info names carry the
versions), the Python version, the promtool and amtool binaries the checks run, and the hand-made files Prometheus
loads or Grafana sees next to ours. The last successful build stores that fingerprint with the hashes of the
files it generated, its summary and its warnings in `.dashbuild-cache/memo.json` (JSON, never code: a tampered
cache can only make the build slower). The fast path applies only when the fingerprint is equal, the manifest on
disk is the one those hashes make, every generated file has its hash, no file in the output folders is unknown to
the manifest, and no build was left half-applied; anything else, or `--no-cache`, builds as always.

This module imports nothing heavy: the point is to answer before the pipeline is imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import site
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dashbuild.cache_dir import CACHE_DIR, write_cached
from dashbuild.manifest import MANIFEST, is_safe_path, manifest_bytes_from_hashes, sha256
from dashbuild.transaction import JOURNAL, OUTPUT_AREAS, leftover_temps

MEMO_NAME = "memo.json"
MEMO = f"{CACHE_DIR}/{MEMO_NAME}"
MEMO_VERSION = 1
# The generator: its code and data decide every output byte.
GENERATOR_PACKAGES = ("dashbuild", "panels", "rules", "moddash")
TOOLS = ("promtool", "amtool")
# Folders that never hold build inputs: version control, caches, virtual environments, environments' output.
_SKIPPED_DIRS = frozenset({".git", ".hg", CACHE_DIR, "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache",
                           ".pytest_cache", ".hypothesis", "deploy"})
_INPUT_FOLDERS = ("dashboards", "environments")


def _files_under(folder: Path) -> Iterator[Path]:
    for current, dirs, names in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not (here / d / "pyvenv.cfg").exists())
        for name in sorted(names):
            yield here / name


def _project_inputs(root: Path, generated: frozenset[str]) -> Iterator[tuple[str, Path]]:
    """Yield (label, path) for every project file the build may read, in a stable order."""
    for path in _files_under(root):
        relative = path.relative_to(root).as_posix()
        top = relative.partition("/")[0]
        if relative in generated or relative == MANIFEST:
            continue
        if top in OUTPUT_AREAS or top in _INPUT_FOLDERS or path.suffix == ".py":
            # A hand-made file in an output folder counts too: Prometheus loads hand-made rules with ours, and
            # the build refuses or warns about hand-made dashboards next to generated ones.
            yield f"project:{relative}", path


def _generator_inputs() -> Iterator[tuple[str, Path]]:
    for package in GENERATOR_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in sorted(spec.submodule_search_locations or []) if spec else []:
            for path in _files_under(Path(location)):
                yield f"generator:{package}/{path.relative_to(location).as_posix()}", path


def _environment_lines() -> Iterator[str]:
    yield f"python:{sys.version}"
    for folder in sorted({*site.getsitepackages(), site.getusersitepackages()}):
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        yield f"distributions:{folder}:{','.join(names)}"
    for tool in TOOLS:
        found = shutil.which(tool)
        stat = os.stat(found) if found else None
        yield f"tool:{tool}:{found}:{stat.st_size if stat else ''}:{stat.st_mtime_ns if stat else ''}"


def fingerprint(root: Path, generated: frozenset[str]) -> str:
    """Return the hash of everything the build of `root` reads; `generated` are the files it wrote (outputs)."""
    digest = hashlib.sha256()
    for line in _environment_lines():
        digest.update(line.encode("utf-8", "surrogateescape") + b"\0")
    for label, path in [*_project_inputs(root, generated), *_generator_inputs()]:
        try:
            content = path.read_bytes()
        except OSError:
            content = b"\0unreadable"
        digest.update(label.encode("utf-8", "surrogateescape") + b"\0" + sha256(content).encode() + b"\0")
    return digest.hexdigest()


def store(root: Path, files: Mapping[str, bytes], summary: Sequence[str], warnings: Sequence[str]) -> None:
    """Remember a successful build of `root` (its files now on disk); a cache the disk refuses is skipped."""
    hashes = {path: sha256(content) for path, content in sorted(files.items())}
    memo = {"version": MEMO_VERSION, "fingerprint": fingerprint(root, frozenset(files)), "files": hashes,
            "summary": list(summary), "warnings": list(warnings)}
    write_cached(root, MEMO_NAME, json.dumps(memo, sort_keys=True))


def _load(root: Path) -> dict[str, Any] | None:
    try:
        memo = json.loads((root / MEMO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(memo, dict) and memo.get("version") == MEMO_VERSION
            and isinstance(memo.get("files"), dict) and isinstance(memo.get("fingerprint"), str)
            and all(isinstance(v, str) and is_safe_path(k) and k != MANIFEST for k, v in memo["files"].items())
            and isinstance(memo.get("summary"), list) and isinstance(memo.get("warnings"), list)):
        return None
    return memo


def _unknown_in_outputs(root: Path, generated: frozenset[str]) -> bool:
    for area in OUTPUT_AREAS:
        folder = root / area
        if folder.is_symlink():
            return True
        for path in _files_under(folder) if folder.is_dir() else ():
            if path.relative_to(root).as_posix() not in generated:
                return True
    return False


def unchanged(root: Path) -> dict[str, Any] | None:
    """Return the last build's memo when a build of `root` now would produce exactly the files on disk and change
    nothing; None when the build must run."""
    memo = _load(root)
    if memo is None:
        return None
    hashes: dict[str, str] = memo["files"]
    generated = frozenset(hashes)
    try:
        if (root / MANIFEST).read_bytes() != manifest_bytes_from_hashes(hashes):
            return None
        for path, expected in hashes.items():
            if sha256((root / path).read_bytes()) != expected:
                return None
    except (OSError, ValueError):
        return None
    if os.path.lexists(root / JOURNAL) or leftover_temps(root) or _unknown_in_outputs(root, generated):
        return None
    if fingerprint(root, generated) != memo["fingerprint"]:
        return None
    return memo
