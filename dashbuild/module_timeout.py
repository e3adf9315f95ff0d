"""The time limit of each module file's import (`--module-timeout`, `$DASHBUILD_MODULE_TIMEOUT`, default 10 s),
apart from the loader so the command line can set it without importing the pipeline."""

from __future__ import annotations

import os

MODULE_TIMEOUT_ENV = "DASHBUILD_MODULE_TIMEOUT"
DEFAULT_MODULE_TIMEOUT = 10.0

_module_timeout: float | None = None


def set_module_timeout(seconds: float | None) -> None:
    """Set the time limit of each module file's import; None: `$DASHBUILD_MODULE_TIMEOUT`, else 10 s."""
    global _module_timeout
    if seconds is not None and not seconds > 0:
        raise ValueError(f"module timeout must be a positive number of seconds, got {seconds!r}")
    _module_timeout = seconds


def module_timeout() -> float:
    """Return the time limit of each module file's import, in seconds."""
    if _module_timeout is not None:
        return _module_timeout
    raw = os.environ.get(MODULE_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_MODULE_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"{MODULE_TIMEOUT_ENV}={raw!r} is not a positive number of seconds")
    return seconds
