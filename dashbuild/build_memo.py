"""The no-change fast path: when nothing the build reads has changed since the last build, and the files on disk
are exactly what that build wrote, the answer is known without building (issue 16).

What the build reads is fingerprinted (dashbuild/input_snapshot.py: every Python file of the project, everything
under `dashboards/` and `environments/`, the generator's own packages and schemas, the installed distributions,
Python, promtool and amtool, and the hand-made files next to ours; files are hashed or, unchanged since, their
digests remembered by stat, dashbuild/stat_hashes.py). The last successful build stores that fingerprint with the
hashes of the files it generated, its summary and its warnings in `.dashbuild-cache/memo.json` (JSON, never
code; a memo that claims other files than those on disk is not believed). The fast path applies only when the
fingerprint is equal, the manifest on disk is the one those hashes make, every generated file has its hash, no
file in the output folders is unknown to the manifest, and no build was left half-applied; anything else, or
`--no-cache`, builds as always.

This module imports nothing heavy: the point is to answer before the pipeline is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from dashbuild.cache_dir import CACHE_DIR, write_cached
from dashbuild.input_snapshot import InputSnapshot, files_under
from dashbuild.manifest import MANIFEST, is_safe_path, manifest_bytes_from_hashes, sha256
from dashbuild.stat_hashes import StatHashes
from dashbuild.transaction import JOURNAL, OUTPUT_AREAS, is_leftover_temp

MEMO_NAME = "memo.json"
MEMO = f"{CACHE_DIR}/{MEMO_NAME}"
MEMO_VERSION = 2


def fingerprint(root: Path, generated: frozenset[str], files: Sequence[str] | None = None) -> str:
    """Return the hash of everything the build of `root` reads; `generated` are the files it wrote (outputs),
    `files` every file under `root` (walked when not given)."""
    return InputSnapshot(str(root), generated, MANIFEST, files).fingerprint


def store(root: Path, inputs: InputSnapshot, files: Mapping[str, bytes], summary: Sequence[str],
          warnings: Sequence[str]) -> None:
    """Remember a successful build of `root` (its files now on disk) that read `inputs`, taken before it ran; a
    build whose inputs changed while it ran is not remembered, and a cache the disk refuses is skipped."""
    if not inputs.still_current():
        return
    hashes = {path: sha256(content) for path, content in sorted(files.items())}
    memo = {"version": MEMO_VERSION, "fingerprint": inputs.fingerprint, "files": hashes,
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


class Lookup(NamedTuple):
    """The memo when a build now would change nothing (else None), and the snapshot of the build's inputs."""

    memo: dict[str, Any] | None
    inputs: InputSnapshot


def _manifest_paths(root: Path) -> frozenset[str]:
    try:
        files = json.loads((root / MANIFEST).read_bytes())["files"]
        return frozenset(path for path in files if isinstance(path, str))
    except (OSError, ValueError, TypeError, KeyError):
        return frozenset()


def look_up(root: Path) -> Lookup:
    """Return the snapshot of what a build of `root` reads and, when the build would produce exactly the files on
    disk and change nothing, the last build's memo."""
    memo = _load(root)
    base = str(root)
    files = list(files_under(base))
    hashes = StatHashes(root)
    inputs = InputSnapshot(base, frozenset(memo["files"]) if memo else _manifest_paths(root), MANIFEST, files, hashes)
    answered = memo is not None and _answers(base, memo, files, inputs)
    return Lookup(memo if answered else None, inputs)


def unchanged(root: Path) -> dict[str, Any] | None:
    """Return the last build's memo when a build of `root` now would produce exactly the files on disk and change
    nothing; None when the build must run."""
    return look_up(root).memo


def _answers(base: str, memo: dict[str, Any], files: Sequence[str], inputs: InputSnapshot) -> bool:
    if inputs.fingerprint != memo["fingerprint"]:  # first: it costs nothing more, and edits fail here
        return False
    hashes: dict[str, str] = memo["files"]
    generated = frozenset(hashes)
    try:
        with open(os.path.join(base, MANIFEST), "rb") as handle:
            if handle.read() != manifest_bytes_from_hashes(hashes):
                return False
    except OSError:
        return False
    if any(inputs.hashes.digest(os.path.join(base, path))[0] != expected for path, expected in hashes.items()):
        return False
    if os.path.lexists(os.path.join(base, JOURNAL)) or any(os.path.islink(os.path.join(base, a))
                                                          for a in OUTPUT_AREAS):
        return False
    for relative in files:
        top, slash, _rest = relative.partition("/")
        # A file in an output folder the last build did not write (hand-made, or a half-applied build's temp), or
        # a temp file a killed build left in the root.
        if (slash and top in OUTPUT_AREAS and relative not in generated) or is_leftover_temp(relative):
            return False
    return True
