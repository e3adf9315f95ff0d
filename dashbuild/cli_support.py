"""What every build.py command shares: the project it works on, and failures reported as `error:` lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import attrs
import click

from dashbuild.errors import BuildError, BuildFailed, ModuleLoadInterrupted


@attrs.frozen
class Project:
    """What every command of one build.py run shares: the group's checked `--root` and `--lock-timeout`."""

    root: Path
    lock_timeout: float


pass_project = click.make_pass_decorator(Project)
"""Decorator passing a command the `Project` the group stored on the context."""


def exit_with_error(message: str, code: int = 1) -> NoReturn:
    """Print `message` as one `error:` line on stderr and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def exit_with_errors(failure: BuildFailed, *, summary: bool, shown: str = "") -> NoReturn:
    """Print one `error:` line per error of `failure` on stderr and exit 1.

    With `summary` (the commands that build) a last line counts the errors and says that no file was changed.
    `shown` prefixes each error's path (an environment's folder, `deploy/NAME/`).
    """
    for error in failure.errors:
        click.echo(f"error: {shown}{error}", err=True)
    if summary:
        click.echo(f"build failed with {len(failure.errors)} error(s); no file was changed", err=True)
    sys.exit(1)


@contextmanager
def exiting_on_failure(*, building: bool) -> Iterator[None]:
    """Exit with `error:` lines instead of a traceback when the block raises BuildFailed or BuildError (exit 1).

    `building`: the block only builds in memory, so a failure also gets the summary line, and Ctrl-C exits 130
    saying that no file was changed. Otherwise Ctrl-C is left to the CLI's own handling of it.
    """
    try:
        yield
    except BuildFailed as failure:
        exit_with_errors(failure, summary=building)
    except BuildError as error:
        exit_with_error(str(error))
    except KeyboardInterrupt as interrupted:
        if not building:
            raise
        # ModuleLoadInterrupted names the module file it stopped; a bare Ctrl-C has nothing to add.
        what = str(interrupted) if isinstance(interrupted, ModuleLoadInterrupted) else "interrupted"
        exit_with_error(f"{what}; no file was changed", 130)
