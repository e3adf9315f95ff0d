"""Environments beyond the local stack (`environments/<name>.py`, see panels/environment.py) and their output.

An environment's files are written under `deploy/<name>/`, which is a build root of its own: its own manifest,
journal and freshness check, so building one environment never touches the local stack's files or another
environment's. The local build is checked and linted first; the environment's files are made from the same
compiled dashboards and contracts.
"""

from __future__ import annotations

from pathlib import Path

from dashbuild.discover import import_contained, load_each
from dashbuild.environment_paths import DEPLOY_DIR, ENVIRONMENTS_DIR, environment_paths
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.kubernetes import kubernetes_files
from dashbuild.pipeline import BuildResult
from dashbuild.rule_namespaces import rule_namespace_files
from dashbuild.static_environment import setting_problems, static_files
from panels.environment import Environment

__all__ = ["DEPLOY_DIR", "ENVIRONMENTS_DIR", "environment_named", "environment_paths", "environment_result",
           "environment_root", "environments", "load_environment"]


def load_environment(path: Path, root: Path) -> Environment:
    """Return the ENVIRONMENT a file defines; raise BuildError naming the file when it defines none or another."""
    shown = path.relative_to(root).as_posix()
    module = import_contained(path.resolve(), shown)
    environment = getattr(module, "ENVIRONMENT", None)
    if not isinstance(environment, Environment):
        raise BuildError(shown, "defines no ENVIRONMENT = Environment(...)")
    if environment.name != path.stem:
        raise BuildError(shown, f"ENVIRONMENT is named {environment.name!r}: name it after its file, {path.stem!r}")
    return environment


def environments(root: Path) -> list[Environment]:
    """Return every environment of the project; raise BuildFailed naming each file that cannot be loaded."""
    return load_each(environment_paths(root), lambda path: load_environment(path, root))


def environment_named(root: Path, name: str) -> Environment:
    """Return the environment called `name`; raise BuildError listing the known ones when there is none."""
    known = environments(root)
    for environment in known:
        if environment.name == name:
            return environment
    names = ", ".join(e.name for e in known) or f"none: add {ENVIRONMENTS_DIR}/{name}.py"
    raise BuildError(f"{ENVIRONMENTS_DIR}/{name}.py", f"no environment {name!r} (known: {names})")


def environment_root(root: Path, environment: Environment) -> Path:
    """Return the folder an environment's files are written to (its own build root)."""
    return root / DEPLOY_DIR / environment.name


def environment_result(environment: Environment, local: BuildResult, runbooks: str) -> BuildResult:
    """Return the environment's files (relative to its root) made from a checked local build; alerts link to
    `runbooks` as the local stack's do. Raise BuildFailed whose every error names the environment's file first."""
    source = f"{ENVIRONMENTS_DIR}/{environment.name}.py"
    try:
        return _environment_files(environment, local, runbooks, source)
    except BuildFailed as failure:
        raise BuildFailed([error if error.file == source else
                           BuildError(source, f"{error.file}: {error.message}", error.panel)
                           for error in failure.errors]) from None


def _environment_files(environment: Environment, local: BuildResult, runbooks: str, source: str) -> BuildResult:
    files: dict[str, bytes] = {}
    shown = f"{DEPLOY_DIR}/{environment.name}/"
    if environment.kubernetes is not None:
        unknown = sorted(set(dict(environment.kubernetes.workloads)) - {c.slug for c in local.contracts})
        if unknown:
            raise BuildFailed([BuildError(source, f"workloads names no module {', '.join(map(repr, unknown))} "
                                                  f"(modules: {', '.join(c.slug for c in local.contracts)})")])
        files.update(kubernetes_files(local.contracts, local.dashboards, environment.kubernetes,
                                      f"{shown}kubernetes", runbooks))
    if environment.static is not None:
        problems = setting_problems(local.contracts, environment.static)
        if problems:
            raise BuildFailed([BuildError(source, f"static: {problems[0]}")])
        files.update(static_files(local.contracts, local.files, environment.static, shown))
    if environment.rules is not None:
        files.update(rule_namespace_files(local.contracts, environment.rules,
                                          f"{shown}rules/{environment.rules.kind}", runbooks))
    relative = {path.removeprefix(shown): content for path, content in files.items()}
    return BuildResult(files=dict(sorted(relative.items())), summary=(), dashboards=(), contracts=local.contracts)
