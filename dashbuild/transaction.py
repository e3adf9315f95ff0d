"""Apply a build to disk as one transaction, and finish or undo one that a crash interrupted.

A build is applied in three phases:

1. **stage**: every new file is written beside its target as `.<name>.dashbuild-<random>.tmp` and fsynced,
   and every file to be replaced or removed gets a hard-linked backup `.<name>.dashbuild-<random>.bak`.
   This is the real test of permissions and free space: a failure here removes what was staged and
   nothing visible has changed.
2. **journal**: `.build-journal.json` (written atomically) lists each step. From this instant on, a crash
   is rolled *forward* by the next build (`recover`): the staged files are renamed into place.
3. **replace**: renames and removals, with SIGINT/SIGTERM/SIGHUP held back; the directories are fsynced,
   then the journal is removed (the commit point) and the backups are dropped. If a rename fails, the
   journal is switched to rollback and every step done so far is undone from the backups.

The manifest is the last file replaced, so it only ever lists files that are in place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import signal
import threading
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from dashbuild.manifest import MANIFEST, Manifest, is_safe_path, manifest_bytes, sha256

JOURNAL = ".build-journal.json"
_TEMP_NAME = re.compile(r"^\..+\.dashbuild-[0-9a-f]{12}\.(tmp|bak)$")
# Folders generated files live in; leftover temp files are swept there (and in the repository root).
OUTPUT_AREAS = ("provisioning", "prometheus", "alertmanager")
_DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class ApplyError(Exception):
    """Applying the build to disk failed; nothing was changed (or everything was restored)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def describe(error: OSError) -> str:
    """Return an OS error as a short lowercase reason (`permission denied`, `no space left on device`)."""
    if error.errno is not None:
        return os.strerror(error.errno).lower()
    return str(error) or type(error).__name__


@attrs.frozen
class Plan:
    """What a build changes on disk: files to write (manifest last) and files to remove."""

    writes: dict[str, bytes]
    removes: tuple[str, ...]
    unchanged: tuple[str, ...]


@attrs.frozen
class WriteReport:
    """What an applied build changed on disk (the manifest is not listed)."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def _current(path: Path | str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        return b""  # differs from any content: staging reports the folder in the way


def plan_changes(root: Path, files: Mapping[str, bytes], previous: Manifest,
                 read_from_disk: Collection[str] = frozenset()) -> Plan:
    """Return the writes and removals that turn the tree into `files`; only manifest files are removed.
    `read_from_disk` are files whose content the build has just read from disk (under the build lock): they are
    not read again."""
    writes: dict[str, bytes] = {}
    unchanged = []
    base = str(root)
    for relative, content in sorted(files.items()):
        # Not pathlib: this runs for every generated file.
        if relative in read_from_disk or _current(os.path.join(base, relative)) == content:
            unchanged.append(relative)
        else:
            writes[relative] = content
    removes = tuple(p for p in sorted(set(previous.files) - files.keys()) if os.path.lexists(root / p))
    manifest = manifest_bytes(files)
    if writes or removes or _current(root / MANIFEST) != manifest:
        writes[MANIFEST] = manifest
    return Plan(writes, removes, tuple(unchanged))


def _temp_name(relative: str, kind: str) -> str:
    directory, _, name = relative.rpartition("/")
    temp = f".{name}.dashbuild-{secrets.token_hex(6)}.{kind}"
    return f"{directory}/{temp}" if directory else temp


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_file(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o644)


def _make_dirs(root: Path, relative: str, created: list[Path]) -> None:
    missing = []
    parent = (root / relative).parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir()
        created.append(folder)


def _backup(root: Path, relative: str) -> str:
    backup = _temp_name(relative, "bak")
    try:
        os.link(root / relative, root / backup, follow_symlinks=False)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP):
            raise
        _write_file(root / backup, (root / relative).read_bytes())  # no hard links here: a copy
    return backup


def _check_free_space(root: Path, writes: Mapping[str, bytes]) -> None:
    needed: dict[int, tuple[int, Path, str]] = {}
    for relative, content in writes.items():
        folder = (root / relative).parent
        while not folder.exists():
            folder = folder.parent
        device = folder.stat().st_dev
        total, _folder, first = needed.get(device, (0, folder, relative))
        needed[device] = (total + len(content) + 4096, folder, first)
    for total, folder, first in needed.values():
        stats = os.statvfs(folder)
        free = (stats.f_bfree if os.geteuid() == 0 else stats.f_bavail) * stats.f_frsize
        if total > free:
            raise ApplyError(first, f"not enough free space: {total} bytes needed, {free} available")


def _journal_bytes(steps: list[dict[str, Any]], mode: str) -> bytes:
    return json.dumps({"version": 1, "mode": mode, "steps": steps}, indent=1, sort_keys=True).encode()


def _write_journal(root: Path, steps: list[dict[str, Any]], mode: str) -> None:
    temp = root / _temp_name(JOURNAL, "tmp")
    try:
        _write_file(temp, _journal_bytes(steps, mode))
        os.replace(temp, root / JOURNAL)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(root)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP for the block; they are delivered when it ends."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _discard(root: Path, steps: list[dict[str, Any]], created: list[Path]) -> None:
    for step in steps:
        for key in ("staged", "backup"):
            if step.get(key):
                with contextlib.suppress(OSError):
                    (root / step[key]).unlink()
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _stage(root: Path, plan: Plan, created: list[Path]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    current = ""
    try:
        _check_free_space(root, plan.writes)
        for relative, content in plan.writes.items():
            current = relative
            _make_dirs(root, relative, created)
            if (root / relative).is_dir():
                raise ApplyError(relative, "is a folder, not a file: move it away")
            step: dict[str, Any] = {"action": "write", "path": relative, "sha256": sha256(content),
                                    "staged": _temp_name(relative, "tmp"), "backup": None}
            steps.append(step)
            _write_file(root / step["staged"], content)
            if os.path.lexists(root / relative):
                step["backup"] = _backup(root, relative)
        for relative in plan.removes:
            current = relative
            steps.append({"action": "remove", "path": relative, "backup": None})
            steps[-1]["backup"] = _backup(root, relative)
        current = JOURNAL
        _write_journal(root, steps, "forward")
    except OSError as error:
        _discard(root, steps, created)
        raise ApplyError(current, describe(error)) from None
    except BaseException:
        _discard(root, steps, created)
        raise
    return steps


def _do(root: Path, step: Mapping[str, Any]) -> None:
    if step["action"] == "write":
        os.replace(root / step["staged"], root / step["path"])
    else:
        (root / step["path"]).unlink(missing_ok=True)


def _undo(root: Path, step: Mapping[str, Any]) -> None:
    target = root / step["path"]
    if step.get("backup") and os.path.lexists(root / step["backup"]):
        os.replace(root / step["backup"], target)
    elif step["action"] == "write" and _current(target) is not None and sha256(target.read_bytes()) == step["sha256"]:
        target.unlink()


def _finish(root: Path, steps: list[dict[str, Any]]) -> None:
    for folder in sorted({(root / step["path"]).parent for step in steps}):
        _fsync_dir(folder)
    (root / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(root)
    _discard(root, steps, [])


def _rollback(root: Path, steps: list[dict[str, Any]], done: int) -> None:
    _write_journal(root, steps, "rollback")
    failed: OSError | None = None
    for step in reversed(steps[:done]):  # a failed rename or unlink did nothing: it is atomic
        try:
            _undo(root, step)
        except OSError as error:
            failed = error
    if failed is not None:
        raise failed  # the rollback journal stays: the next build finishes undoing
    _finish(root, steps)


def apply_plan(root: Path, plan: Plan) -> WriteReport:
    """Apply `plan` as one transaction; raise ApplyError (with nothing changed) when the disk refuses."""
    report = WriteReport(tuple(p for p in plan.writes if p != MANIFEST), plan.unchanged, plan.removes)
    if not plan.writes and not plan.removes:
        return report
    created: list[Path] = []
    with signals_deferred():
        steps = _stage(root, plan, created)
        done = 0
        try:
            for step in steps:
                _do(root, step)
                done += 1
        except OSError as error:
            # If the rollback fails too, the journal stays and the next build completes the transaction.
            with contextlib.suppress(OSError):
                _rollback(root, steps, done)
            raise ApplyError(steps[done]["path"], describe(error)) from None
        _finish(root, steps)
    return report


def _journal_steps(root: Path) -> tuple[str, list[dict[str, Any]]]:
    try:
        data = json.loads((root / JOURNAL).read_text(encoding="utf-8"))
        mode, steps = data["mode"], data["steps"]
        assert mode in ("forward", "rollback") and isinstance(steps, list)
        for step in steps:
            assert step["action"] in ("write", "remove") and is_safe_path(step["path"])
            for key in ("staged", "backup"):
                temp = step.get(key)
                assert temp is None or (is_safe_path(temp) and _TEMP_NAME.fullmatch(temp.rpartition("/")[2])
                                        and temp.rpartition("/")[0] == step["path"].rpartition("/")[0])
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise ApplyError(JOURNAL, "is damaged and cannot be completed: run `python build.py --repair`") from None
    return mode, steps


def recover(root: Path) -> int:
    """Complete (or undo) a transaction a crash interrupted, sweep leftover temp files; return steps redone."""
    if not (root / JOURNAL).exists():
        sweep_temps(root)
        return 0
    mode, steps = _journal_steps(root)
    try:
        with signals_deferred():
            for step in steps if mode == "forward" else reversed(steps):
                if mode == "rollback":
                    _undo(root, step)
                elif step["action"] == "remove" or os.path.lexists(root / step["staged"]):
                    _do(root, step)
            _finish(root, steps)
    except OSError as error:
        raise ApplyError(JOURNAL, f"cannot complete the interrupted build: {describe(error)}") from None
    sweep_temps(root)
    return len(steps)


def discard_journal(root: Path) -> None:
    """Remove a journal that cannot be completed (`--repair`), with the temp files it names."""
    if (root / JOURNAL).is_dir():
        raise ApplyError(JOURNAL, "is a folder, not the build's journal: move it away")
    try:
        (root / JOURNAL).unlink(missing_ok=True)
    except OSError as error:
        raise ApplyError(JOURNAL, describe(error)) from None
    sweep_temps(root)


def is_leftover_temp(relative: str) -> bool:
    """Return True when a file (repository-relative path) is a temp file a killed build left behind."""
    return bool(_TEMP_NAME.fullmatch(relative.rpartition("/")[2]))


def leftover_temps(root: Path, extra_areas: tuple[str, ...] = ()) -> list[str]:
    """Return the temp files a killed build left in the output folders or the repository root."""
    found = [p.name for p in root.glob(".*") if _TEMP_NAME.fullmatch(p.name)]
    for area in sorted({*OUTPUT_AREAS, *extra_areas}):
        folder = root / area
        if folder.is_dir() and not folder.is_symlink():
            found.extend(p.relative_to(root).as_posix() for p in folder.rglob(".*") if _TEMP_NAME.fullmatch(p.name))
    return sorted(found)


def sweep_temps(root: Path) -> list[str]:
    """Remove the temp files a killed build left behind; return their paths."""
    areas = tuple(p.partition("/")[0] for p in _manifest_paths(root) if "/" in p)
    temps = leftover_temps(root, areas)
    for relative in temps:
        with contextlib.suppress(OSError):
            (root / relative).unlink()
    return temps


def _manifest_paths(root: Path) -> list[str]:
    from dashbuild.manifest import ManifestError, read_manifest

    try:
        return list(read_manifest(root).files)
    except ManifestError:
        return []
