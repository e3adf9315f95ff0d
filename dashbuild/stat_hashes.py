"""File digests remembered by stat, as git's index does: a file whose size, modification and change times and
inode are what they were when it was hashed is not read again.

A content change always moves the change time (the kernel sets it on every write; no system call sets it back),
and a file replaced by rename has another inode. The one blind spot is a second write within the same timestamp
tick as the stat that was remembered: so a file changed less than `RACY_NS` before it was read is not remembered
at all ("racily clean" in git), and is read and hashed every time until it has been still that long.

The cache is written only by a build that succeeded (build.py): a failing build or `--check` leaves it as it was.
Like git's index it is trusted: a damaged file is ignored, but one rewritten with false digests for the current
stats would hide a change (whoever can write `.dashbuild-cache/` can as well write the module files it serves).

Kept in `.dashbuild-cache/hashes.json` (JSON, never code; a damaged one is ignored). Anything read for a digest
can be derived from the same bytes and remembered with it (a module file's imports, dashbuild/input_snapshot.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashbuild.cache_dir import CACHE_DIR, write_cached

HASHES_NAME = "hashes.json"
HASHES = f"{CACHE_DIR}/{HASHES_NAME}"
HASHES_VERSION = 1
# Far above the timestamp tick of any local Linux file system (jiffies: 1 to 10 ms).
RACY_NS = 1_000_000_000
UNREADABLE = "unreadable"

StatKey = tuple[int, int, int, int]


def stat_key(path: str) -> StatKey | None:
    """Return the size, modification and change times (ns) and inode of `path`; None when it cannot be stat'ed."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def read_file(path: str) -> bytes | None:
    """Return the bytes of the file at `path`, or None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


class StatHashes:
    """Digests (and what was derived from the same bytes) of files, by path, valid while their stat is unchanged."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dirty = False
        self._used: set[str] = set()  # only these are written back: files no longer read drop out
        try:
            loaded = json.loads((root / HASHES).read_bytes())
            entries = loaded["entries"] if loaded.get("version") == HASHES_VERSION else {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            entries = {}
        self._entries: dict[str, list[Any]] = entries if isinstance(entries, dict) else {}

    def digest(self, path: str, derive: Callable[[bytes], Any] | None = None) -> tuple[str, Any, StatKey | None]:
        """Return the SHA-256 of the file at `path` ("unreadable" when it cannot be read), `derive` of its bytes,
        and the stat the two belong to (taken before the file was read)."""
        hashed_at = time.time_ns()
        stat = stat_key(path)
        entry = self._entries.get(path)
        self._used.add(path)
        if (stat is not None and isinstance(entry, list) and len(entry) == 3 and entry[0] == list(stat)
                and isinstance(entry[1], str) and (derive is None or entry[2] is not None)):
            return entry[1], entry[2], stat
        content = read_file(path)
        if content is None:
            return UNREADABLE, None, stat
        digest = hashlib.sha256(content).hexdigest()
        derived = derive(content) if derive is not None else None
        # Remembered when unchanged while it was read, and still long enough before it was read that a later
        # write cannot fall in the same timestamp tick.
        if stat is not None and stat_key(path) == stat and max(stat[1], stat[2]) < hashed_at - RACY_NS:
            self._entries[path] = [list(stat), digest, derived]
            self.dirty = True
        else:
            self._entries.pop(path, None)
        return digest, derived, stat

    def save(self) -> None:
        """Write the digests of the files read in this run; a disk that refuses is ignored."""
        if not self.dirty and self._used.issuperset(self._entries):
            return
        entries = {path: entry for path, entry in sorted(self._entries.items())
                   if path in self._used and isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], list)
                   and len(entry[0]) == 4}
        write_cached(self.root, HASHES_NAME, json.dumps({"version": HASHES_VERSION, "entries": entries},
                                                       sort_keys=True))
        self.dirty = False
