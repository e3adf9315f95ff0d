"""The one error type the pipeline raises: it always names a file, and a panel when there is one."""

from __future__ import annotations


class BuildError(Exception):
    """A build failure tied to a source file (and panel), printed as one line."""

    def __init__(self, file: str, message: str, panel: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.panel = panel
        self.message = message

    def __str__(self) -> str:
        where = f'{self.file}: panel "{self.panel}"' if self.panel else self.file
        return f"{where}: {self.message}"


class BuildFailed(Exception):
    """One or more BuildErrors; the build wrote nothing."""

    def __init__(self, errors: list[BuildError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


class ModuleLoadInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a KeyboardInterrupt the module raised) while a module file was loading: stop the build."""

    def __init__(self, file: str) -> None:
        super().__init__(f"interrupted while loading {file}")
        self.file = file
