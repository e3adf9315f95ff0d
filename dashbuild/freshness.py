"""`python build.py --check`: does the tree on disk equal a fresh build, with nothing half-applied?"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from dashbuild.manifest import MANIFEST, manifest_bytes, read_manifest
from dashbuild.transaction import JOURNAL, leftover_temps


@attrs.frozen
class Freshness:
    """Files that differ between disk and a fresh build, and traces of an interrupted build."""

    missing: tuple[str, ...]
    stale: tuple[str, ...]
    orphaned: tuple[str, ...]
    interrupted: tuple[str, ...] = ()

    @property
    def fresh(self) -> bool:
        """Return True when disk matches the fresh build exactly and no build was left half-applied."""
        return not (self.missing or self.stale or self.orphaned or self.interrupted)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def check_outputs(root: Path, files: Mapping[str, bytes]) -> Freshness:
    """Return which generated files are missing, stale or orphaned; raise ManifestError on a damaged manifest."""
    previous = read_manifest(root)
    expected = {**files, MANIFEST: manifest_bytes(files)}
    on_disk = {path: _read(root / path) for path in expected}
    missing = tuple(p for p in sorted(expected) if on_disk[p] is None)
    stale = tuple(p for p in sorted(expected) if on_disk[p] is not None and on_disk[p] != expected[p])
    orphaned = tuple(p for p in sorted(set(previous.files) - files.keys()) if os.path.lexists(root / p))
    areas = tuple(p.partition("/")[0] for p in (*files, *previous.files) if "/" in p)
    interrupted = ((JOURNAL,) if os.path.lexists(root / JOURNAL) else ()) + tuple(leftover_temps(root, areas))
    return Freshness(missing, stale, orphaned, interrupted)
