"""Run the lint rules (dashbuild/lint_rules.py) over compiled dashboards; silences are found by panel key."""

from __future__ import annotations

from collections.abc import Sequence

from dashbuild.compiled import CompiledDashboard
from dashbuild.lint_model import Finding, LintContext, Rule
from dashbuild.lint_rules import RULES

RULE_NAMES = frozenset(rule.name for rule in RULES)
__all__ = ["RULES", "RULE_NAMES", "Finding", "LintContext", "Rule", "lint", "lint_dashboard"]


def lint_dashboard(d: CompiledDashboard, context: LintContext, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Return the findings of `rules` on one dashboard, silences applied, unknown silences reported."""
    silences = d.silences
    findings: list[Finding] = []
    for key, silenced in sorted(silences.items()):
        panel = d.panel(key)
        title = panel.label if panel else key
        for unknown in sorted(set(silenced) - RULE_NAMES):
            findings.append(Finding("lint-silence", "error", d.source_of(key), d.filename, title,
                                    f"silences unknown rule {unknown!r} (rules: python build.py lint --rules)", key))
    whole = dict(d.spec.silenced)
    for unknown in sorted(set(whole) - RULE_NAMES):
        findings.append(Finding("lint-silence", "error", d.source, d.filename, None,
                                f"silences unknown rule {unknown!r} (rules: python build.py lint --rules)"))
    for rule in rules:
        for panel, message in rule.run(d, context):
            if panel is not None and rule.name in silences.get(panel.key, {}):
                continue
            if panel is None and rule.name in whole:
                continue
            source = panel.source if panel is not None and panel.source else d.source
            findings.append(Finding(rule.name, rule.severity, source, d.filename, panel.label if panel else None,
                                    message, panel.key if panel else None))
    return findings


def lint(dashboards: Sequence[CompiledDashboard], rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Return the findings on every dashboard, errors first."""
    context = LintContext(uids=frozenset(str(d.json.get("uid")) for d in dashboards))
    findings = [f for d in dashboards for f in lint_dashboard(d, context, rules)]
    return sorted(findings, key=lambda f: f.severity != "error")
