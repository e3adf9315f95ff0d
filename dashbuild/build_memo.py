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
from dashbuild.transaction import JOURNAL, OUTPUT_AREAS, is_leftover_temp

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


def _files_under(folder: str) -> Iterator[str]:
    """Yield every file under `folder` as a relative POSIX path, in a stable order (skipped folders left out)."""
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS
                         and not os.path.exists(os.path.join(current, d, "pyvenv.cfg")))
        relative = os.path.relpath(current, folder)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in sorted(names):
            yield prefix + name


def _hash_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return sha256(handle.read())
    except OSError:
        return "unreadable"


def _project_inputs(files: Sequence[str], generated: frozenset[str]) -> Iterator[str]:
    """Yield the project files (of `files`, relative paths) the build may read."""
    for relative in files:
        top = relative.partition("/")[0]
        if relative in generated or relative == MANIFEST:
            continue
        if top in OUTPUT_AREAS or top in _INPUT_FOLDERS or relative.endswith(".py"):
            # A hand-made file in an output folder counts too: Prometheus loads hand-made rules with ours, and
            # the build refuses or warns about hand-made dashboards next to generated ones.
            yield relative


def _generator_inputs() -> Iterator[tuple[str, str]]:
    for package in GENERATOR_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in sorted(spec.submodule_search_locations or []) if spec else []:
            for relative in _files_under(location):
                yield f"generator:{package}/{relative}", os.path.join(location, relative)


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


def fingerprint(root: Path, generated: frozenset[str], files: Sequence[str] | None = None) -> str:
    """Return the hash of everything the build of `root` reads; `generated` are the files it wrote (outputs),
    `files` every file under `root` (walked when not given)."""
    digest = hashlib.sha256()
    for line in _environment_lines():
        digest.update(line.encode("utf-8", "surrogateescape") + b"\0")
    base = str(root)
    every = list(_files_under(base)) if files is None else files
    inputs = [(f"project:{relative}", os.path.join(base, relative)) for relative in _project_inputs(every, generated)]
    for label, path in [*inputs, *_generator_inputs()]:
        digest.update(label.encode("utf-8", "surrogateescape") + b"\0" + _hash_file(path).encode() + b"\0")
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


def unchanged(root: Path) -> dict[str, Any] | None:
    """Return the last build's memo when a build of `root` now would produce exactly the files on disk and change
    nothing; None when the build must run."""
    memo = _load(root)
    if memo is None:
        return None
    hashes: dict[str, str] = memo["files"]
    generated = frozenset(hashes)
    base = str(root)
    try:
        with open(os.path.join(base, MANIFEST), "rb") as handle:
            if handle.read() != manifest_bytes_from_hashes(hashes):
                return None
    except OSError:
        return None
    if any(_hash_file(os.path.join(base, path)) != expected for path, expected in hashes.items()):
        return None
    if os.path.lexists(os.path.join(base, JOURNAL)) or any(os.path.islink(os.path.join(base, a))
                                                          for a in OUTPUT_AREAS):
        return None
    files = list(_files_under(base))
    for relative in files:
        top, slash, _rest = relative.partition("/")
        # A file in an output folder the last build did not write (hand-made, or a half-applied build's temp), or
        # a temp file a killed build left in the root.
        if (slash and top in OUTPUT_AREAS and relative not in generated) or is_leftover_temp(relative):
            return None
    if fingerprint(root, generated, files) != memo["fingerprint"]:
        return None
    return memo
