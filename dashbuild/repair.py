"""`python build.py --repair`: rebuild a lost or damaged manifest from what the builder can prove it generated.

A file counts as generated when its bytes hash to a value some manifest recorded for that path (what is
left of the damaged manifest, both sides of a merge conflict, and every committed version of the
manifest in git), when it equals what the build generates now, or when it is YAML carrying the build's
do-not-edit header. Anything else is left alone as hand-made.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs

from dashbuild.files import YAML_HEADER
from dashbuild.manifest import MANIFEST, Manifest, is_safe_path, salvage_hashes, sha256
from dashbuild.transaction import OUTPUT_AREAS, leftover_temps

GIT_VERSIONS = 200
GIT_TIMEOUT_SECONDS = 20.0


@attrs.frozen
class Repair:
    """The manifest `--repair` could prove, and the files it left alone as hand-made."""

    manifest: Manifest
    hand_made: tuple[str, ...]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=GIT_TIMEOUT_SECONDS,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def recorded_hashes(root: Path) -> dict[str, set[str]]:
    """Return every (path, SHA-256) pair the manifest on disk or any committed version of it records."""
    known: dict[str, set[str]] = {}

    def add(text: str) -> None:
        for path, digests in salvage_hashes(text).items():
            known.setdefault(path, set()).update(digests)

    with contextlib.suppress(OSError):
        add((root / MANIFEST).read_text(encoding="utf-8", errors="replace"))
    revisions = _git(root, "log", "--format=%H", "-n", str(GIT_VERSIONS), "--", MANIFEST) or ""
    for revision in revisions.split():
        add(_git(root, "show", f"{revision}:./{MANIFEST}") or "")
    return known


def _candidates(root: Path, files: Mapping[str, bytes], known: Mapping[str, set[str]]) -> set[str]:
    temps = set(leftover_temps(root))
    paths = {p for p in (*files, *known) if is_safe_path(p)}
    for area in OUTPUT_AREAS:
        folder = root / area
        if folder.is_dir():
            paths.update(p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
    return {p for p in paths - temps if (root / p).is_file() and not (root / p).is_symlink()}


def _is_generated(path: str, content: bytes, files: Mapping[str, bytes], known: Mapping[str, set[str]]) -> bool:
    if files.get(path) == content or sha256(content) in known.get(path, set()):
        return True
    return path.endswith((".yml", ".yaml")) and content.startswith(YAML_HEADER.encode())


def prove_generated(root: Path, files: Mapping[str, bytes]) -> Repair:
    """Return the manifest of files proven generated, and the files left alone as hand-made."""
    known = recorded_hashes(root)
    proven, hand_made = {}, []
    for path in sorted(_candidates(root, files, known)):
        content = (root / path).read_bytes()
        if _is_generated(path, content, files, known):
            proven[path] = sha256(content)
        else:
            hand_made.append(path)
    return Repair(Manifest(proven, exists=True), tuple(hand_made))
