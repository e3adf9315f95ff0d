"""`amtool check-config` over the generated Alertmanager config, in a temp folder, before anything is written.

Like the promtool stage: without amtool on PATH the build prints one note and goes on. An amtool older
than the Alertmanager the config needs (a webhook `url_file` needs 0.26) cannot judge it; that is a note
too, not an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import attrs

from dashbuild.alertmanager import CONFIG_FILE
from dashbuild.errors import BuildError
from dashbuild.settings import SETTINGS_FILE
from dashbuild.tool_passes import ToolPasses, check_key
from dashbuild.tool_run import run_tool

TIMEOUT_SECONDS = 30.0
NOT_FOUND_NOTE = "amtool not found: the generated Alertmanager config was not checked by amtool"
_VERSION = re.compile(r"version (\d+)\.(\d+)\.(\d+)")
_MAX_MESSAGE = 600


@attrs.frozen
class AmtoolOutcome:
    """What the amtool stage found: errors fail the build, notes are printed once."""

    errors: tuple[BuildError, ...] = ()
    notes: tuple[str, ...] = ()


def amtool_version(amtool: str, timeout: float = TIMEOUT_SECONDS) -> tuple[int, int, int] | None:
    """Return amtool's version (major, minor, patch), or None when it cannot tell."""
    try:
        _code, output = run_tool([amtool, "--version"], None, timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(output)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def failure_message(output: str) -> str:
    """Return amtool check-config's finding as one line, without its `Checking` preamble and exit summary."""
    lines = [line.strip() for line in output.splitlines()
             if line.strip() and not line.startswith("amtool: error: failed to validate")]
    text = " ".join(lines)
    text = text.split("FAILED:", 1)[1] if "FAILED:" in text else text
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 1] + "…"


def check_alertmanager_config(content: bytes, *, requires: tuple[int, int] = (0, 25), amtool: str | None = None,
                              timeout: float = TIMEOUT_SECONDS, passes: ToolPasses | None = None) -> AmtoolOutcome:
    """Run `amtool check-config` on the generated alertmanager.yml; errors name the file and the settings file.

    `requires` is the oldest Alertmanager (major, minor) that reads the config; `amtool` defaults to the one
    on PATH. With `passes`, a config this amtool passed before passes without running it.
    """
    executable = amtool or shutil.which("amtool")
    if executable is None:
        return AmtoolOutcome(notes=(NOT_FOUND_NOTE,))
    if requires > (0, 25):
        version = amtool_version(executable, timeout)
        if version is None or version[:2] < requires:
            found = ".".join(map(str, version)) if version else "of unknown version"
            needed = ".".join(map(str, requires))
            return AmtoolOutcome(notes=(f"amtool {found} predates Alertmanager {needed}, which {CONFIG_FILE} "
                                        "needs (webhook url_file): the config was not checked by amtool",))
    key = check_key(executable, {CONFIG_FILE: content}, "check-config")
    if passes is not None and passes.passed("amtool", key):
        return AmtoolOutcome()
    outcome = _check_config(executable, content, timeout)
    if passes is not None and not outcome.errors:
        passes.record("amtool", key)
    return outcome


def _check_config(executable: str, content: bytes, timeout: float) -> AmtoolOutcome:
    try:
        with tempfile.TemporaryDirectory(prefix="dashbuild-amtool-") as folder:
            target = Path(folder, CONFIG_FILE)
            target.parent.mkdir(parents=True)
            target.write_bytes(content)
            try:
                code, output = run_tool([executable, "check-config", CONFIG_FILE], folder, timeout)
            except subprocess.TimeoutExpired:
                return _failed(f"amtool check-config did not finish within {timeout:g} s")
            except OSError as error:
                return _failed(f"cannot run {executable}: {error.strerror or error}")
    except OSError as error:  # the temp folder: a full or read-only TMPDIR
        return _failed(f"cannot be checked by amtool: temp folder: {(error.strerror or str(error)).lower()} "
                       "(set TMPDIR to a writable folder with free space)")
    if code == 0:
        return AmtoolOutcome()
    how = f"crashed (killed by signal {-code})" if code < 0 else "failed"
    return _failed(f"amtool check-config {how}: {failure_message(output) or 'no output'}")


def _failed(message: str) -> AmtoolOutcome:
    return AmtoolOutcome(errors=(BuildError(SETTINGS_FILE, f"{CONFIG_FILE}: {message}"),))
