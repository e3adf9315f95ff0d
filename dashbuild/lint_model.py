"""Lint's typed model: rules scoped to a dashboard, a panel or a target, their findings, and shared context.

Rules run on every build, in the manner of grafana/dashboard-linter.

Each rule is a `Rule(name, description, severity, scope, check)`, and its scope says what `check` receives:

- "dashboard": `check(dashboard, context)`, yielding a message, or `(panel, message)` for a finding about
  one panel that only the whole dashboard shows (a repeated title, an overlap);
- "panel": `check(dashboard, panel, context)` for every panel, yielding messages;
- "target": `check(dashboard, panel, target, context)` for every query, yielding messages.

The rules themselves live in `dashbuild/lint_rules.py`, the runner in `dashbuild/lint.py`. Errors fail the
build, warnings are printed. A module file silences a rule for one panel with `.silence(rule, reason)`, found
by the panel's key; there is no global switch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, Literal, cast

import attrs

from dashbuild.compiled import CompiledDashboard, CompiledPanel, CompiledTarget
from dashbuild.queries import parse, referenced_variables, substitute_variables, walk

Severity = Literal["error", "warning"]
Scope = Literal["dashboard", "panel", "target"]
Walked = tuple[tuple[Any, tuple[Any, ...]], ...]
DashboardCheck = Callable[[CompiledDashboard, "LintContext"], Iterable["str | tuple[CompiledPanel, str]"]]
PanelCheck = Callable[[CompiledDashboard, CompiledPanel, "LintContext"], Iterable[str]]
TargetCheck = Callable[[CompiledDashboard, CompiledPanel, CompiledTarget, "LintContext"], Iterable[str]]


@lru_cache(maxsize=65536)
def _walked(expr: str) -> Walked:
    return tuple(walk(parse(expr)))


@attrs.frozen
class LintContext:
    """What rules may know about the whole build."""

    uids: frozenset[str]

    def values(self, d: CompiledDashboard) -> dict[str, str]:
        """Return what each variable of `d` stands for when its queries are parsed."""
        return d.variable_values

    def nodes(self, d: CompiledDashboard, target: CompiledTarget) -> Walked | None:
        """Return every node of a target's query with its parents; None when it uses an unknown variable or does
        not parse (target-promql-rule reports those)."""
        values = self.values(d)
        if referenced_variables(target.expr) - values.keys():
            return None
        try:
            return _walked(substitute_variables(target.expr, values))
        except ValueError:
            return None


@attrs.frozen
class Rule:
    """One lint rule; `check`'s signature follows `scope` (see the module docstring)."""

    name: str
    description: str
    severity: Severity
    scope: Scope
    check: Callable[..., Iterable[Any]]

    def run(self, d: CompiledDashboard, context: LintContext) -> Iterator[tuple[CompiledPanel | None, str]]:
        """Yield (panel or None, message) for each finding of this rule on one dashboard."""
        if self.scope == "dashboard":
            for issue in cast(DashboardCheck, self.check)(d, context):
                yield (None, issue) if isinstance(issue, str) else issue
        elif self.scope == "panel":
            for panel in d.panels:
                yield from ((panel, message) for message in cast(PanelCheck, self.check)(d, panel, context))
        else:
            for panel, target in d.targets():
                yield from ((panel, message) for message in
                            cast(TargetCheck, self.check)(d, panel, target, context))


@attrs.frozen
class Finding:
    """A rule's finding, tied to the file (and panel) a reviewer has to change."""

    rule: str
    severity: Severity
    file: str
    dashboard: str
    panel: str | None  # the panel's title, as reviewers see it
    message: str
    panel_key: str | None = None

    def __str__(self) -> str:
        where = f'{self.file}: panel "{self.panel}"' if self.panel else self.file
        return f"{where}: [{self.rule}] {self.dashboard}: {self.message}"
