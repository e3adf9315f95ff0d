"""`build-manifest.json`: which files the build generated, with their hashes; damaged manifests are refused."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

import attrs

from dashbuild.json_out import dump_json

MANIFEST = "build-manifest.json"
GENERATOR = "python build.py"
REPAIR_HINT = (f"resolve it with `git checkout --theirs {MANIFEST}` (the next build rewrites it) "
               "or run `python build.py --repair`")
_CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7}|\|{7})( |$)", re.MULTILINE)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ManifestError(Exception):
    """The manifest exists but cannot be trusted; the message names the problem and the fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"{MANIFEST}: {self.reason}; {REPAIR_HINT}"


@attrs.frozen
class Manifest:
    """The files a previous build generated, by repository-relative path, with their SHA-256."""

    files: Mapping[str, str] = attrs.field(factory=dict)
    exists: bool = False

    def __contains__(self, path: object) -> bool:
        return path in self.files


# A build hashes the same file contents several times (reuse, checks, manifest, memo): each digest is kept for
# the bytes it was computed from. Bounded, so that a long-lived process does not keep every content it saw.
_DIGESTS: dict[bytes, str] = {}
_DIGESTS_MAX = 50_000


def sha256(content: bytes) -> str:
    """Return the hex SHA-256 of `content`."""
    digest = _DIGESTS.get(content)
    if digest is None:
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        digest = _DIGESTS[content] = hashlib.sha256(content).hexdigest()
    return digest


def manifest_bytes(files: Mapping[str, bytes]) -> bytes:
    """Return the manifest listing every generated file with its SHA-256."""
    return manifest_bytes_from_hashes({path: sha256(content) for path, content in files.items()})


def manifest_bytes_from_hashes(hashes: Mapping[str, str]) -> bytes:
    """Return the manifest listing every generated file, given each file's SHA-256."""
    return dump_json({"generator": GENERATOR, "files": dict(sorted(hashes.items()))})


def is_safe_path(path: str) -> bool:
    """Return True for a plain relative path inside the repository (no `..`, not absolute, not in .git)."""
    # String operations, not PurePosixPath: the no-change fast path checks thousands of paths per run.
    parts = path.split("/")
    return (bool(path) and "\\" not in path and "\x00" not in path and all(parts)
            and "." not in parts and ".." not in parts and parts[0] != ".git")


def parse_manifest(text: str) -> dict[str, str]:
    """Return the manifest's files; raise ManifestError saying what is wrong with the text."""
    marker = _CONFLICT_MARKER.search(text)
    if marker:
        line = text.count("\n", 0, marker.start()) + 1
        raise ManifestError(f"has merge conflict markers (line {line})")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ManifestError(f"is not valid JSON ({error})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("generator") != GENERATOR:
        raise ManifestError("is not a manifest written by `python build.py`")
    for path, digest in files.items():
        if not is_safe_path(path) or path == MANIFEST:
            raise ManifestError(f"lists {path!r}, which is not a path inside the repository")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ManifestError(f"has no valid SHA-256 for {path!r}")
    return dict(files)


def read_manifest(root: Path) -> Manifest:
    """Return the previous build's manifest (empty when there is none); raise ManifestError when damaged."""
    path = root / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Manifest()
    except OSError as error:
        raise ManifestError(f"cannot be read ({(error.strerror or str(error)).lower()})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError("is not UTF-8 text") from None
    return Manifest(parse_manifest(text), exists=True)


def salvage_hashes(text: str) -> dict[str, set[str]]:
    """Return every (path, hash) pair that a damaged manifest text still shows, whatever its shape.

    Used by `--repair` only: both sides of a merge conflict, a truncated file, or hand edits all still
    show `"path": "sha256"` lines for the files a build once generated.
    """
    found: dict[str, set[str]] = {}
    for match in re.finditer(r'"((?:[^"\\]|\\.)+)"\s*:\s*"([0-9a-f]{64})"', text):
        try:
            path = json.loads(f'"{match.group(1)}"')
        except ValueError:
            continue
        if is_safe_path(path):
            found.setdefault(path, set()).add(match.group(2))
    return found
