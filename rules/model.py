"""Rule values: a recording rule, an alert, and the text helpers their annotations need."""

from __future__ import annotations

import re

import attrs


@attrs.frozen
class RecordingRule:
    """`record: expr`, evaluated in order within its group."""

    record: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class AlertRule:
    """An alert with its duration, severity, human-readable annotations and the runbook section to follow."""

    alert: str
    expr: str
    for_: str
    severity: str
    module: str  # "" for alerts about the monitoring itself
    summary: str
    description: str
    runbook_url: str = ""


# `{{` opens a Go template action; so does a trailing `{` if the template goes on with `{{ ... }}`.
_TEMPLATE_OPENERS = re.compile(r"\{\{|\{$")


def template_literal(text: str) -> str:
    """Return `text` as Go template source that prints it literally (alert annotations are Go templates).

    Each `{{` becomes the action `{{ "{{" }}`, which prints two braces; text from a module file can then
    neither break the rule file nor run template code such as `{{ $labels.job }}`.
    """
    return _TEMPLATE_OPENERS.sub(lambda match: '{{ "' + match.group() + '" }}', text)


def runbook(base: str, kind: str) -> str:
    """Return the link to the runbook section for an alert kind (`ModuleDown` → `RUNBOOKS.md#moduledown`)."""
    return f"{base}#{kind.lower()}"
