"""What a build reads, hashed once: the fingerprint of all of it, and a key per module file (issue 16).

The inputs are every Python file of the project and every file under `dashboards/` and `environments/` (module
files, settings, whatever they import or open there), the generator's own packages wherever they are installed
(code and schemas), the installed distributions (their dist-info names carry the versions), the Python version,
the promtool and amtool binaries the checks run, and the hand-made files Prometheus loads or Grafana sees next to
ours.

- The **fingerprint** hashes all of them: equal fingerprints mean the build reads exactly what it read before.
- The **global key** hashes all of them but the module files (`dashboards/<name>.py`).
- A module file's **key** hashes the global key, the file's own bytes and the bytes of every other module file it
  imports (`from dashboards import other`, `from .other import x`, transitively). A module file that imports
  dynamically (`importlib`, `__import__`, `exec`, `runpy`, ...) or imports the `dashboards` package as a whole
  depends on every module file. So a module's key changes whenever anything its load or compile could read does.

Every file is `stat`ed before it is read; `still_current()` says whether all of them are as they were, so a build
whose inputs changed while it ran is not remembered under keys of what it did not read.

This module imports nothing heavy: the no-change path answers before the pipeline is imported.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import shutil
import site
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dashbuild.cache_dir import CACHE_DIR
from dashbuild.stat_hashes import StatHashes, StatKey, stat_key
from dashbuild.transaction import OUTPUT_AREAS

# The generator: its code and data decide every output byte.
GENERATOR_PACKAGES = ("dashbuild", "panels", "rules", "moddash")
TOOLS = ("promtool", "amtool")
# Folders that never hold build inputs: version control, caches, virtual environments, environments' output.
_SKIPPED_DIRS = frozenset({".git", ".hg", CACHE_DIR, "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache",
                           ".pytest_cache", ".hypothesis", "deploy"})
_INPUT_FOLDERS = ("dashboards", "environments")
MODULES_FOLDER = "dashboards"
# As dashbuild.discover.module_paths: these files in dashboards/ are not module files.
_NOT_MODULES = frozenset({"__init__", "settings"})
# Text that may import another module file; only a file holding one is parsed.
_IMPORT_HINTS = (b"dashboards", b"from .", b"import_module", b"__import__", b"importlib", b"runpy", b"exec",
                 b"eval", b"Loader")
_DYNAMIC_CALLS = frozenset({"__import__", "import_module", "exec", "eval", "run_path", "run_module",
                            "spec_from_file_location", "SourceFileLoader", "reload"})
ALL_MODULES = "*"

def files_under(folder: str) -> Iterator[str]:
    """Yield every file under `folder` as a relative POSIX path, in a stable order (skipped folders left out)."""
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS
                         and not os.path.exists(os.path.join(current, d, "pyvenv.cfg")))
        relative = os.path.relpath(current, folder)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in sorted(names):
            yield prefix + name


def is_module_file(relative: str) -> bool:
    """Return True for a module file's relative path, `dashboards/<name>.py` (as discovery finds them)."""
    folder, slash, name = relative.partition("/")
    stem, dot, extension = name.rpartition(".")
    return (folder == MODULES_FOLDER and bool(slash) and "/" not in name and bool(dot) and extension == "py"
            and stem not in _NOT_MODULES and not stem.startswith(("_", ".")))


def _project_inputs(files: Sequence[str], generated: frozenset[str], manifest: str) -> Iterator[str]:
    """Yield the project files (of `files`, relative paths) the build may read."""
    for relative in files:
        top = relative.partition("/")[0]
        if relative in generated or relative == manifest:
            continue
        if top in OUTPUT_AREAS or top in _INPUT_FOLDERS or relative.endswith(".py"):
            # A hand-made file in an output folder counts too: Prometheus loads hand-made rules with ours, and
            # the build refuses or warns about hand-made dashboards next to generated ones.
            yield relative


def _generator_inputs() -> Iterator[tuple[str, str]]:
    for package in GENERATOR_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in sorted(spec.submodule_search_locations or []) if spec else []:
            for relative in files_under(location):
                yield f"generator:{package}/{relative}", os.path.join(location, relative)


def environment_lines() -> Iterator[str]:
    """Yield what of the machine decides the build: Python, the installed distributions, promtool and amtool."""
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


def _imported_names(node: ast.AST) -> Iterator[str]:
    """Yield the names of module files an import statement reads (ALL_MODULES when it cannot tell)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == MODULES_FOLDER:
                yield parts[1] if len(parts) > 1 else ALL_MODULES
    elif isinstance(node, ast.ImportFrom):
        parts = (node.module or "").split(".") if node.module else []
        if node.level == 1:  # a module file is `dashboards.<name>`: `.` is the dashboards package
            parts = [MODULES_FOLDER, *parts]
        elif node.level > 1:
            yield ALL_MODULES
            return
        if not parts or parts[0] != MODULES_FOLDER:
            return
        if len(parts) > 1:
            yield parts[1]
        else:
            yield from (ALL_MODULES if alias.name == "*" else alias.name for alias in node.names)


def module_dependencies(source: bytes) -> frozenset[str]:
    """Return the names of the module files `source` imports, or {ALL_MODULES} when it may import any."""
    if not any(hint in source for hint in _IMPORT_HINTS):
        return frozenset()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()  # it cannot load, so nothing of it is remembered
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) \
                else None
            if name in _DYNAMIC_CALLS:
                return frozenset({ALL_MODULES})
        names.update(_imported_names(node))
    return frozenset({ALL_MODULES}) if ALL_MODULES in names else frozenset(names)


class InputSnapshot:
    """The hashes of everything a build of `root` reads, taken once, and the stat of each file read."""

    def __init__(self, root: str, generated: frozenset[str], manifest: str, files: Sequence[str] | None = None,
                 hashes: StatHashes | None = None) -> None:
        self.root = root
        self.hashes = hashes if hashes is not None else StatHashes(Path(root))
        every = list(files_under(root)) if files is None else files
        self._stats: list[tuple[str, StatKey | None]] = []
        environment = list(environment_lines())
        entries: list[tuple[str, str]] = []
        dependencies: dict[str, frozenset[str]] = {}
        for relative in _project_inputs(every, generated, manifest):
            module = is_module_file(relative)
            digest, derived = self._digest(os.path.join(root, relative), _dependency_list if module else None)
            entries.append((f"project:{relative}", digest))
            if module:
                dependencies[relative] = frozenset(derived) if isinstance(derived, list) else frozenset()
        for label, path in _generator_inputs():
            entries.append((label, self._digest(path)[0]))
        self.fingerprint = _hash([*environment, *(f"{label}\0{digest}" for label, digest in entries)])
        self.global_key = _hash([*environment, *(f"{label}\0{digest}" for label, digest in entries
                                               if not is_module_file(label.removeprefix("project:")))])
        hashes_of_modules = {relative: digest for label, digest in entries
                             if is_module_file(relative := label.removeprefix("project:"))}
        self.module_keys = _module_keys(self.global_key, hashes_of_modules, dependencies)

    def _digest(self, path: str, derive: Callable[[bytes], Any] | None = None) -> tuple[str, Any]:
        digest, derived, stat = self.hashes.digest(path, derive)
        self._stats.append((path, stat))
        return digest, derived

    def still_current(self) -> bool:
        """Return True when no file read for the snapshot has changed since (size, times, inode)."""
        return all(stat_key(path) == stat for path, stat in self._stats)


def _dependency_list(source: bytes) -> list[str]:
    return sorted(module_dependencies(source))


def _hash(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def _module_keys(global_key: str, hashes: dict[str, str], direct: dict[str, frozenset[str]]) -> dict[str, str]:
    """Return each module file's key: the global key, its hash and the hashes of the module files it imports."""
    by_name = {relative.rpartition("/")[2].removesuffix(".py"): relative for relative in hashes}
    keys = {}
    for relative in hashes:
        reached, pending = {relative}, [relative]
        while pending:
            names = direct[pending.pop()]
            targets = set(hashes) if ALL_MODULES in names else {by_name[n] for n in names if n in by_name}
            for target in targets - reached:
                reached.add(target)
                pending.append(target)
        keys[relative] = _hash([global_key, *(f"{r}\0{hashes[r]}" for r in sorted(reached))])
    return keys
