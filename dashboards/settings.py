"""Settings of this project: the titles people know the dashboards by. Edit freely; `python build.py` reads it.

Uids never derive from titles (the overview is `modules-overview`, a module's dashboard its kebab-case
name), so changing a title keeps every bookmarked `/d/<uid>` link working.
"""

from panels.settings import ProjectSettings

SETTINGS = ProjectSettings(
    overview_title="Trainer Modules Overview",
    module_title="{title} Dashboard",  # {title}, {name} (prompt_manager) or {slug} (prompt-manager)
)
