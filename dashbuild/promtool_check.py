"""`promtool check config` over the Prometheus tree as Prometheus would load it, before anything is written.

The tree is the generated prometheus.yml and rule files, plus the hand-made `*.yml` in `prometheus/rules/`
that `rule_files: [rules/*.yml]` loads too. It is written to a temp folder, checked there, and each finding
is mapped back to the repository path (and module file) it concerns.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, cast

import attrs
import yaml

from dashbuild.errors import BuildError
from dashbuild.files import dump_yaml
from dashbuild.manifest import MANIFEST
from dashbuild.prometheus import CONFIG_FILE, RULES_DIR
from dashbuild.tool_passes import ToolPasses, check_key
from dashbuild.tool_run import run_tool

TIMEOUT_SECONDS = 30.0
NOT_FOUND_NOTE = "promtool not found: the generated Prometheus files were not checked by promtool"
_MAX_MESSAGE = 600


@attrs.frozen
class PromtoolOutcome:
    """What the promtool stage found: errors fail the build, notes are printed once."""

    errors: tuple[BuildError, ...] = ()
    notes: tuple[str, ...] = ()


def previously_generated(root: Path) -> frozenset[str]:
    """Return the paths the last build's manifest lists (empty when there is no readable manifest).

    Read leniently: this only decides which rule files on disk are hand-made; a damaged manifest is
    reported by the write stage (dashbuild/manifest.py), with its repair hint.
    """
    try:
        files = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(path for path in files if isinstance(path, str)) if isinstance(files, dict) else frozenset()


def hand_made_rule_files(root: Path, files: Mapping[str, bytes],
                         generated_before: Collection[str]) -> tuple[dict[str, bytes], list[BuildError]]:
    """Return the rule files on disk that Prometheus loads besides ours, and errors for unreadable ones.

    A file the previous build generated and this one does not is left out: the write removes it.
    """
    found: dict[str, bytes] = {}
    errors: list[BuildError] = []
    # Go's filepath.Glob, like pathlib, lets `*` match a leading dot too.
    for path in sorted((root / RULES_DIR).glob("*.yml")):
        relative = f"{RULES_DIR}/{path.name}"
        if relative in files or relative in generated_before or not path.is_file():
            continue
        try:
            found[relative] = path.read_bytes()
        except OSError as error:
            errors.append(BuildError(relative, f"cannot be read, and Prometheus loads it: {error.strerror or error}"))
    return found, errors


def _is_rule_file(path: str) -> bool:
    """Return True for `prometheus/rules/<name>.yml` (the suffix as pathlib reads it; string operations, as this
    runs for every generated file)."""
    folder, _, name = path.rpartition("/")
    dot = name.rfind(".")
    return folder == RULES_DIR and 0 < dot < len(name) - 1 and name[dot:] == ".yml"


def _one_line(text: str) -> str:
    line = re.sub(r"\s+", " ", text).strip()
    return line if len(line) <= _MAX_MESSAGE else line[:_MAX_MESSAGE - 1] + "…"


def parse_findings(output: str) -> tuple[dict[str, list[str]], list[str]]:
    """Return promtool's FAILED messages by the file they concern, and any lines it printed outside a check.

    promtool prints `Checking <file>`, then `SUCCESS…` or `FAILED:` and the messages; stdout and stderr
    must be one stream for the messages to follow their `Checking` line.
    """
    findings: dict[str, list[str]] = {}
    stray: list[str] = []
    current: str | None = None
    failing = False
    for raw in output.splitlines():
        line = raw.strip()
        if raw.startswith("Checking "):
            current, failing = raw[len("Checking "):].strip(), False
        elif not line:
            failing = False
        elif line.startswith("SUCCESS"):
            continue
        elif line.startswith("FAILED:") and current is not None:
            failing = True
            rest = line[len("FAILED:"):].strip()
            if rest:
                findings.setdefault(current, []).append(rest)
            else:
                findings.setdefault(current, [])
        elif failing and current is not None:
            messages = findings[current]
            if raw[0].isspace() or not messages:
                messages.append(line.removeprefix(f"{current}: "))
            else:  # an unindented line goes on the message above (the duplicate-rules lint spans lines)
                messages[-1] += f" {line}"
        else:
            stray.append(line)
    return findings, stray


def _run(promtool: str, cwd: str, timeout: float) -> tuple[int, str]:
    """Run `promtool check config` in `cwd`; return its exit code and merged output. Raise on timeout."""
    return run_tool([promtool, "check", "config", "--lint-fatal", CONFIG_FILE], cwd, timeout)


# A `*_file: <path>` setting (credentials_file, password_file, ca_file, ...); `rule_files:` is not one.
_SECRET_FILE_KEY = re.compile(rb"^[ \t-]*[A-Za-z0-9_]*_file:[ \t]*[^\s#]", re.MULTILINE)


def _with_stand_in_secrets(config: bytes, folder: Path) -> bytes:
    """Return prometheus.yml with every `*_file` secret pointed at a stand-in file in `folder`.

    The real paths (`/run/secrets/...`) exist only inside the Prometheus container, and promtool refuses a
    credentials file it cannot open; the check is about the config, not about this machine's secrets.
    """
    if not _SECRET_FILE_KEY.search(config):
        return config
    data = yaml.load(config, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    stand_in = folder / "stand-in-secret"
    stand_in.write_text("stand-in\n")

    def replace(node: object) -> object:
        if isinstance(node, dict):
            return {key: str(stand_in) if str(key).endswith("_file") and isinstance(value, str) else replace(value)
                    for key, value in node.items()}
        if isinstance(node, list):
            return [replace(item) for item in node]
        return node

    return dump_yaml(cast(dict[str, Any], replace(data)))  # replace() keeps each node's type


def check_prometheus_tree(root: Path, files: Mapping[str, bytes], sources: Mapping[str, str], *,
                          generated_before: Collection[str] = frozenset(), promtool: str | None = None,
                          timeout: float = TIMEOUT_SECONDS, passes: ToolPasses | None = None) -> PromtoolOutcome:
    """Run `promtool check config` on the Prometheus files as the build would leave them under `root`.

    `files` is the build's output by repository path; `sources` names the module file behind a generated
    file (its alert rules), so a finding there names that module too. `promtool` defaults to the one on
    PATH; without one, the outcome is a note and no error. With `passes`, a tree this promtool passed before
    passes without running it.
    """
    executable = promtool or shutil.which("promtool")
    if executable is None:
        return PromtoolOutcome(notes=(NOT_FOUND_NOTE,))
    hand_made, errors = hand_made_rule_files(root, files, generated_before)
    if errors:
        return PromtoolOutcome(errors=tuple(errors))
    tree = {path: content for path, content in files.items() if path == CONFIG_FILE or _is_rule_file(path)}
    tree.update(hand_made)
    key = check_key(executable, tree, "check config")
    if passes is not None and passes.passed("promtool", key):
        return PromtoolOutcome()
    outcome = _check_tree(executable, tree, sources, timeout)
    if passes is not None and not outcome.errors:
        passes.record("promtool", key)
    return outcome


def _check_tree(executable: str, tree: dict[str, bytes], sources: Mapping[str, str],
                timeout: float) -> PromtoolOutcome:
    try:
        with tempfile.TemporaryDirectory(prefix="dashbuild-promtool-") as folder:
            if CONFIG_FILE in tree:
                tree[CONFIG_FILE] = _with_stand_in_secrets(tree[CONFIG_FILE], Path(folder))
            for relative, content in tree.items():
                target = Path(folder, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            try:
                code, output = _run(executable, folder, timeout)
            except subprocess.TimeoutExpired:
                return _failed(f"promtool check config did not finish within {timeout:g} s")
            except OSError as error:
                return _failed(f"cannot run {executable}: {error.strerror or error}")
            output = output.replace(f"{Path(folder).resolve()}/", "").replace(f"{folder}/", "")
    except OSError as error:  # the temp folder: a full or read-only TMPDIR
        return _failed(f"cannot be checked by promtool: temp folder: {(error.strerror or str(error)).lower()} "
                       "(set TMPDIR to a writable folder with free space)")
    findings, stray = parse_findings(output)
    if code == 0 and not findings:
        return PromtoolOutcome()
    if not findings:
        how = f"crashed (killed by signal {-code})" if code < 0 else f"failed (exit status {code})"
        return _failed(f"promtool check config {how}: {_one_line(' '.join(stray)) or 'no output'}")
    return PromtoolOutcome(errors=tuple(
        BuildError(sources.get(path, path),
                   (f"{path}: " if path in sources else "")
                   + f"promtool check config: {_one_line('; '.join(messages)) or 'failed without a message'}")
        for path, messages in sorted(findings.items())
    ))


def _failed(message: str) -> PromtoolOutcome:
    return PromtoolOutcome(errors=(BuildError(CONFIG_FILE, message),))
