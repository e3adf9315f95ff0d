"""`.dashbuild-cache/`: what builds remember to go faster (dashbuild/build_memo.py, dashbuild/tool_passes.py).

Nothing in it is needed: deleting it, or a disk that refuses it, only makes the next build slower. It ignores
itself for git, so a repository without our .gitignore does not commit it either.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CACHE_DIR = ".dashbuild-cache"


def write_cached(root: Path, name: str, text: str) -> None:
    """Write `text` to `.dashbuild-cache/<name>` atomically; a disk that refuses it is ignored."""
    folder = root / CACHE_DIR
    target = folder / name
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
