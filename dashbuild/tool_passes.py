"""Checks by promtool and amtool that passed, remembered by what they checked (issue 16).

A check is a function of the tool binary and the bytes it reads: when both are the same as in a check that
passed, it passes again, so a build whose Prometheus tree or Alertmanager config did not change (most dashboard
edits) does not start the tool. Only passes are remembered; a failure is always run again and reported as today.
The record is `.dashbuild-cache/tool-passes.json` (JSON, the most recent passes per tool); a record the disk
refuses, or a damaged one, only means the tool runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from dashbuild.cache_dir import CACHE_DIR, write_cached
from dashbuild.manifest import sha256

RECORD_NAME = "tool-passes.json"
RECORD = f"{CACHE_DIR}/{RECORD_NAME}"
KEPT = 32


def check_key(tool: str, inputs: Mapping[str, bytes], *extra: str) -> str:
    """Return the key of checking `inputs` (relative path -> bytes) with the `tool` binary (and `extra` options)."""
    digest = hashlib.sha256()
    try:
        stat = os.stat(tool)
        digest.update(f"{os.path.realpath(tool)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    except OSError:
        digest.update(f"{tool}\0missing\0".encode())
    for part in extra:
        digest.update(part.encode() + b"\0")
    for path, content in sorted(inputs.items()):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(sha256(content)))
    return digest.hexdigest()


@attrs.define
class ToolPasses:
    """The passes of one project (`root`). New passes are kept in memory until `save`, which the build calls once
    its files are applied: a build that fails, or `--check`, leaves the cache as it was."""

    root: Path
    _new: list[tuple[str, str]] = attrs.field(factory=list, init=False)

    def _load(self) -> dict[str, list[str]]:
        try:
            data = json.loads((self.root / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {tool: [k for k in keys if isinstance(k, str)] for tool, keys in data.items()
                if isinstance(tool, str) and isinstance(keys, list)}

    def passed(self, tool: str, key: str) -> bool:
        """Return True when `tool` passed a check with this key."""
        return key in self._load().get(tool, [])

    def record(self, tool: str, key: str) -> None:
        """Note that `tool` passed a check with this key, for `save`."""
        self._new.append((tool, key))

    def save(self) -> None:
        """Write the passes noted since the last save (best effort: a disk that refuses it is ignored)."""
        if not self._new:
            return
        record = self._load()
        for tool, key in self._new:
            keys = [k for k in record.get(tool, []) if k != key][-(KEPT - 1):]
            record[tool] = [*keys, key]
        self._new.clear()
        write_cached(self.root, RECORD_NAME, json.dumps(record, sort_keys=True))
