"""Project settings: what the users call their dashboards. One value object, read by every output."""

from __future__ import annotations

import string

import attrs

from contract import ModuleContract

# The names the users' own README tells people to look for.
DEFAULT_OVERVIEW_TITLE = "Trainer Modules Overview"
DEFAULT_MODULE_TITLE = "{title} Dashboard"
_FIELDS = frozenset({"title", "name", "slug"})


def _title_text(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ValueError(f"{attribute.name} must be non-blank printable text, got {value!r}")


def _title_pattern(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _title_text(instance, attribute, value)
    try:
        parsed = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(value)
                  if field is not None]
    except ValueError as error:
        raise ValueError(f"{attribute.name} {value!r} is not a title pattern: {error}") from None
    used = {field for field, _, _ in parsed}
    if not used or used - _FIELDS or any(spec or conversion for _, spec, conversion in parsed):
        raise ValueError(f"{attribute.name} {value!r} may use only {{title}}, {{name}} and {{slug}} (at least one), "
                         "without format specs")


@attrs.frozen
class ProjectSettings:
    """Settings of the whole project (`dashboards/settings.py: SETTINGS`); the defaults are the users' names.

    Uids do not depend on titles: the overview stays `modules-overview` and each module dashboard its
    module's slug, so bookmarked `/d/<uid>` links keep working when a title changes.
    """

    overview_title: str = attrs.field(default=DEFAULT_OVERVIEW_TITLE, validator=_title_text)
    module_title: str = attrs.field(default=DEFAULT_MODULE_TITLE, validator=_title_pattern)

    def dashboard_title(self, contract: ModuleContract) -> str:
        """Return the title of a module's dashboard, e.g. `Prompt Manager Dashboard`."""
        return self.title_of(contract.name, contract.title)

    def title_of(self, name: str, title: str) -> str:
        """Return the dashboard title of a module named `name` (snake_case) with the given module title."""
        return self.module_title.format(title=title, name=name, slug=name.replace("_", "-"))
