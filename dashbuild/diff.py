"""`python build.py diff`: what a change does to every generated file, item by item, for a PR comment.

Files are compared parsed (key order never matters): dashboards panel by panel (dashbuild/diff_dashboard.py),
rule files rule by rule, prometheus.yml job by job, other YAML leaf by leaf (dashbuild/diff_yaml.py). The
base's files are those its manifest lists, so hand-made files in the same folders are left out, and so is the
manifest, which only lists hashes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from dashbuild.diff_dashboard import added_dashboard, diff_dashboard
from dashbuild.diff_model import Change, FileDiff
from dashbuild.diff_yaml import added_rules, diff_rules, diff_scrape_config, diff_settings
from dashbuild.manifest import MANIFEST, ManifestError, parse_manifest
from dashbuild.provisioning import DASHBOARDS_DIR

Format = Literal["text", "markdown"]
PROMETHEUS_CONFIG = "prometheus/prometheus.yml"
RULES_PREFIX = "prometheus/rules/"
# GitHub refuses comments over 65,536 characters; what does not fit is counted, not cut mid-line.
MARKDOWN_LIMIT = 60_000


def git_files(root: Path, ref: str, folders: Sequence[str]) -> dict[str, bytes]:
    """Return the generated files at git revision `ref`: those its build manifest lists, or every file under
    `folders` when it has no manifest that parses. Raise ValueError when git cannot tell.
    """
    def git(*args: str) -> bytes:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False, timeout=60)
        if result.returncode != 0:
            raise ValueError(result.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed")
        return result.stdout

    git("rev-parse", "--verify", f"{ref}^{{commit}}")
    listed = _listed(git, ref)
    # Hand-made files beside generated ones (a rule file of one's own) are no build's output: without the
    # manifest's list they would show as removed on every diff.
    areas = sorted({*folders, *(path.partition("/")[0] for path in listed or ())})
    names = git("ls-tree", "-r", "--name-only", ref, "--", *areas).decode().splitlines()
    return {name: git("show", f"{ref}:{name}") for name in names if listed is None or name in listed}


def _listed(git: Callable[..., bytes], ref: str) -> frozenset[str] | None:
    """Return the paths the manifest at `ref` lists; None when it has none that parses."""
    try:
        return frozenset(parse_manifest(git("show", f"{ref}:{MANIFEST}").decode("utf-8")))
    except (ValueError, ManifestError):  # no manifest at ref, not UTF-8, or damaged
        return None


def _parsed(path: str, content: bytes) -> Any:
    """Return a file's data; text that does not parse is compared as text."""
    try:
        return json.loads(content) if path.endswith(".json") else yaml.safe_load(content)
    except (ValueError, yaml.YAMLError):
        return {"(text)": content.decode(errors="replace")}


def _diff_one(path: str, before: bytes | None, after: bytes | None, layout: bool,
              sections: Mapping[str, str]) -> FileDiff | None:
    is_dashboard = path.startswith(DASHBOARDS_DIR + "/") and path.endswith(".json")
    is_rules = path.startswith(RULES_PREFIX)
    if before is None and after is not None:
        data = _parsed(path, after)
        if is_dashboard:
            return added_dashboard(path, data)
        return added_rules(path, data) if is_rules else FileDiff(path, "file", "added")
    if after is None or before is None:
        return FileDiff(path, "dashboard" if is_dashboard else "rules" if is_rules else "file", "removed")
    if before == after:
        return None
    old, new = _parsed(path, before), _parsed(path, after)
    if is_dashboard:
        return diff_dashboard(path, old, new, layout, sections)
    if is_rules:
        return diff_rules(path, old, new)
    if path == PROMETHEUS_CONFIG:
        return diff_scrape_config(path, old, new)
    return diff_settings(path, "settings", old, new)


def diff_files(before: Mapping[str, bytes], after: Mapping[str, bytes], layout: bool = False,
               sections: Mapping[str, str] | None = None) -> list[FileDiff]:
    """Return the changes between two sets of generated files, by path.

    `sections` maps an overview row title to the module file it comes from, to group those changes.
    """
    result = []
    for path in sorted((before.keys() | after.keys()) - {MANIFEST}):
        change = _diff_one(path, before.get(path), after.get(path), layout, sections or {})
        if change is not None:
            result.append(change)
    return result


_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def _grouped(changes: Sequence[Change]) -> Iterator[tuple[str, list[Change]]]:
    """Yield the changes without a group first, then each group's, in first-seen order."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.group, []).append(change)
    if "" in groups:
        yield "", groups.pop("")
    yield from groups.items()


def render_text(diffs: Sequence[FileDiff]) -> str:
    """Return the changes as plain text."""
    if not diffs:
        return "no changes to generated files\n"
    lines: list[str] = []
    for diff in diffs:
        suffix = f" ({len(diff.changes)} items)" if diff.kind == "added" and diff.changes else ""
        lines.append(f"{_SIGN[diff.kind]} {diff.file} {diff.title}{suffix}")
        if diff.kind == "added":
            continue
        lines.extend(f"    {detail}" for detail in diff.details)
        for group, changes in _grouped(diff.changes):
            indent = "  "
            if group:
                lines.append(f"  {group}:")
                indent = "    "
            for change in changes:
                lines.append(f"{indent}{_SIGN[change.kind]} {change.what}")
                lines.extend(f"{indent}    {detail}" for detail in change.details)
                for label, was, now in change.code:
                    lines.append(f"{indent}    {label}:")
                    lines.extend(line for line in (f"{indent}      - {was}" if was is not None else "",
                                                   f"{indent}      + {now}" if now is not None else "") if line)
    return "\n".join(lines) + "\n"


def _markdown_file(diff: FileDiff) -> list[str]:
    out = [f"### {diff.kind.capitalize()}: `{diff.file}` ({diff.title})", ""]
    if diff.kind == "added":
        out.extend(f"- {change.what}" for change in diff.changes)
        return [*out, ""]
    out.extend(f"- {detail}" for detail in diff.details)
    for group, changes in _grouped(diff.changes):
        indent = ""
        if group:
            out.append(f"- {group}")
            indent = "  "
        for change in changes:
            out.append(f"{indent}- {change.kind} {change.what}")
            out.extend(f"{indent}  - {detail}" for detail in change.details)
            for label, was, now in change.code:
                out.extend(["", f"{indent}  {label}:", "", f"{indent}  ```diff"])
                out.extend(line for line in (f"{indent}  - {was}" if was is not None else "",
                                             f"{indent}  + {now}" if now is not None else "") if line)
                out.append(f"{indent}  ```")
    return [*out, ""]


def render_markdown(diffs: Sequence[FileDiff], limit: int = MARKDOWN_LIMIT) -> str:
    """Return the changes as Markdown for a pull-request comment, at most about `limit` characters."""
    if not diffs:
        return "No changes to generated files.\n"
    out: list[str] = ["## Generated file changes", ""]
    size = sum(len(line) + 1 for line in out)
    for index, diff in enumerate(diffs):
        block = _markdown_file(diff)
        block_size = sum(len(line) + 1 for line in block)
        if size + block_size > limit:
            left = len(diffs) - index
            out.append(f"_{left} more changed file(s) not shown: run `python build.py diff` locally._")
            break
        out.extend(block)
        size += block_size
    return "\n".join(out) + "\n"


def iter_lines(diffs: Sequence[FileDiff], fmt: Format) -> Iterator[str]:
    """Yield the rendered report line by line."""
    yield from (render_markdown(diffs) if fmt == "markdown" else render_text(diffs)).splitlines()
