"""One build at a time: an advisory `flock` on `.build.lock` in the repository (never committed)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from dashbuild.transaction import describe

LOCK = ".build.lock"
DEFAULT_WAIT_SECONDS = 5.0


class LockBusy(Exception):
    """Another build held the lock for longer than we were willing to wait."""


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        if text.isdigit():
            return f" (pid {text})"
    return ""


@contextlib.contextmanager
def build_lock(root: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Iterator[None]:
    """Hold the repository's build lock for the block; wait up to `wait_seconds`, then raise LockBusy.

    The lock file stays (removing it would let a third build lock a different inode); the kernel drops
    the lock when the process ends, however it ends.
    """
    try:
        fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise LockBusy(f"{LOCK}: cannot create the build lock: {describe(error)}") from None
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(f"{LOCK}: another build of this repository is running{_holder(fd)}; waited "
                                   f"{wait_seconds:g} s: try again when it has finished") from None
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
