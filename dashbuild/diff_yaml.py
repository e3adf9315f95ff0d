"""How the Prometheus, Alertmanager and provisioning files changed: rules, scrape jobs, settings.

Rules are matched by group and name: recording rules with their labels too (one record per module shares a
name), alerts by their place among the alerts of that name in the group, so a changed label is a change, not
a removal and an addition. Scrape jobs are matched by `job_name`. Anything else is compared leaf by leaf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashbuild.diff_model import Change, FileDiff, field_changes, shown

RuleKey = tuple[str, str, str]


def _rules(data: Any) -> dict[RuleKey, Mapping[str, Any]]:
    """Return every rule of a rule file by (group, kind and name, identity)."""
    found: dict[RuleKey, Mapping[str, Any]] = {}
    groups = data.get("groups", []) if isinstance(data, Mapping) else []
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, Mapping):
            continue
        seen: dict[str, int] = {}
        for rule in group.get("rules", []) or []:
            if not isinstance(rule, Mapping):
                continue
            if "record" in rule:
                name, identity = f"record {rule['record']}", shown(rule.get("labels", {}))
            else:
                name = f"alert {rule.get('alert')}"
                seen[name] = seen.get(name, 0) + 1
                identity = str(seen[name])
            found[(str(group.get("name", "")), name, identity)] = rule
    return found


def _groups(data: Any) -> dict[str, Mapping[str, Any]]:
    groups = data.get("groups", []) if isinstance(data, Mapping) else []
    return {str(g.get("name", "")): g for g in groups if isinstance(g, Mapping)} if isinstance(groups, list) else {}


def _rule_label(key: RuleKey, rule: Mapping[str, Any]) -> str:
    group, name, _identity = key
    if name.startswith("record ") and rule.get("labels"):
        labels = ", ".join(f"{k}={v}" for k, v in sorted(rule["labels"].items()))
        return f"{name} {{{labels}}} (group {group})"
    return f"{name} (group {group})"


def diff_rules(file: str, before: Any, after: Any) -> FileDiff | None:
    """Return how a Prometheus rule file changed: rules added, removed, or changed in expr, for, labels..."""
    old, new = _rules(before), _rules(after)
    changes: list[Change] = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        if was is None and now is not None:
            changes.append(Change("added", _rule_label(key, now), code=(("expr", None, str(now.get("expr"))),)))
        elif now is None and was is not None:
            changes.append(Change("removed", _rule_label(key, was)))
        elif was is not None and now is not None:
            details = field_changes(was, now, frozenset({"expr"}))
            code = (("expr", str(was.get("expr")), str(now.get("expr"))),) if was.get("expr") != now.get("expr") else ()
            if details or code:
                changes.append(Change("changed", _rule_label(key, now), tuple(details), code))
    old_groups, new_groups = _groups(before), _groups(after)
    details = [f"group {name}: {change}" for name in new_groups if name in old_groups
               for change in field_changes(old_groups[name], new_groups[name], frozenset({"rules"}))]
    if not changes and not details:
        return None
    return FileDiff(file, "rules", "changed", tuple(changes), tuple(details))


def _jobs(data: Any) -> dict[str, Mapping[str, Any]]:
    configs = data.get("scrape_configs", []) if isinstance(data, Mapping) else []
    return {str(c.get("job_name")): c for c in configs if isinstance(c, Mapping)} if isinstance(configs, list) else {}


def _targets(job: Mapping[str, Any]) -> str:
    targets = [t for config in job.get("static_configs", []) or [] if isinstance(config, Mapping)
               for t in config.get("targets", []) or []]
    return ", ".join(map(str, targets)) or "no static targets"


def diff_scrape_config(file: str, before: Any, after: Any) -> FileDiff | None:
    """Return how prometheus.yml changed: scrape jobs added, removed or changed, and its other settings."""
    old, new = _jobs(before), _jobs(after)
    changes: list[Change] = []
    for name in [*new, *(n for n in old if n not in new)]:
        was, now = old.get(name), new.get(name)
        if was is None and now is not None:
            changes.append(Change("added", f"scrape job {name}", (f"targets: {_targets(now)}",)))
        elif now is None and was is not None:
            changes.append(Change("removed", f"scrape job {name}"))
        elif was is not None and now is not None and (details := field_changes(was, now)):
            changes.append(Change("changed", f"scrape job {name}", tuple(details)))
    skip = frozenset({"scrape_configs"})
    details = field_changes(before if isinstance(before, Mapping) else {}, after if isinstance(after, Mapping) else {},
                            skip)
    if not changes and not details:
        return None
    return FileDiff(file, "Prometheus configuration", "changed", tuple(changes), tuple(details))


def diff_settings(file: str, title: str, before: Any, after: Any) -> FileDiff | None:
    """Return the leaves of any other generated file that changed."""
    old = before if isinstance(before, Mapping) else {"(document)": before}
    new = after if isinstance(after, Mapping) else {"(document)": after}
    details = field_changes(old, new)
    return FileDiff(file, title, "changed", (), tuple(details)) if details else None


def added_rules(file: str, after: Any) -> FileDiff:
    """Return a new rule file: its rules, one line each."""
    return FileDiff(file, "rules", "added", tuple(Change("added", _rule_label(key, rule))
                                                  for key, rule in _rules(after).items()))
