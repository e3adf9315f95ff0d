"""Shared fixtures: a throw-away copy of the repository, the build CLI, and Debian's promtool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COPIED = ("build.py", "pyproject.toml", "build-manifest.json", "moddash-service", "panels", "rules", "dashboards",
          "dashbuild", "provisioning", "prometheus", "alertmanager")
GENERATED_DIRS = ("provisioning", "prometheus", "alertmanager")

BuildRunner = Callable[..., subprocess.CompletedProcess[str]]


def copy_repository(root: Path) -> Path:
    """Copy the repository's sources and generated files into the new folder `root`; return it."""
    root.mkdir()
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
        else:
            shutil.copy2(source, root / name)
    return root


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """Return a copy of the repository's sources and generated files in a temp folder."""
    return copy_repository(tmp_path / "repo")


def run_build(root: Path, *args: str, hash_seed: str | None = None,
              input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python build.py ARGS` in `root` as a user would, and return the finished process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([sys.executable, str(root / "build.py"), *args], cwd=root, env=env, input=input_text,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def build_cli() -> BuildRunner:
    """Return a function running the build CLI of a given repository root."""
    return run_build


def snapshot(root: Path, folders: tuple[str, ...] = GENERATED_DIRS,
             files: tuple[str, ...] = ("build-manifest.json",)) -> dict[str, bytes]:
    """Return every generated file's bytes under `root`, by relative path."""
    result = {f: (root / f).read_bytes() for f in files if (root / f).is_file()}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                result[path.relative_to(root).as_posix()] = path.read_bytes()
    return result


@pytest.fixture(scope="session")
def promtool() -> str:
    """Return the path of Debian's promtool; fail (not skip) when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: apt-get install -y --no-install-recommends prometheus")
    return path


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
