"""Load the project's settings (`dashboards/settings.py: SETTINGS`), with the limits of a module file."""

from __future__ import annotations

from pathlib import Path

from dashbuild.discover import import_contained
from dashbuild.errors import BuildError
from panels.settings import ProjectSettings

SETTINGS_FILE = "dashboards/settings.py"


def load_settings(root: Path) -> ProjectSettings:
    """Return the settings of the project at `root` (the defaults when it has no settings file)."""
    path = root / SETTINGS_FILE
    if not path.exists():
        return ProjectSettings()
    module = import_contained(path.resolve(), SETTINGS_FILE)
    settings = getattr(module, "SETTINGS", None)
    if not isinstance(settings, ProjectSettings):
        raise BuildError(SETTINGS_FILE, "defines no SETTINGS = ProjectSettings(...)")
    return settings
