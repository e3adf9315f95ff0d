"""Where environments are declared and built (`environments/<name>.py`, `deploy/<name>/`), apart from their
loader so the command line can tell whether there are any without importing the pipeline."""

from __future__ import annotations

from pathlib import Path

ENVIRONMENTS_DIR = "environments"
DEPLOY_DIR = "deploy"


def environment_paths(root: Path) -> list[Path]:
    """Return the environment files of the project, sorted (none when it has no `environments/` folder)."""
    folder = root / ENVIRONMENTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
