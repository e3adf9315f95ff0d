"""Why a target shows nothing (fresh): small follow-up questions to Prometheus about the series it selects.

For each selector of the emitted query (verify_shape) verify asks
`max(timestamp(sel))` now (fresh when the newest sample is at most `stale_after` old), and only for selectors
that are not fresh: the newest sample in the window (`max_over_time(timestamp(sel)[window:step])`, which sees
past Prometheus' staleness markers), whether the metric exists at all, which matcher selects nothing, and which
label is missing. Recording-rule series (`module:*`, `all:*`) are checked against the loaded rules. Every
answer is cached per question, so the number of queries grows with the distinct selectors, not the panels.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from dashbuild.queries import selected_series
from dashbuild.verify_client import PrometheusClient, answer_error
from dashbuild.verify_health import format_age
from dashbuild.verify_plan import format_duration
from dashbuild.verify_shape import Grouping, Matcher, Selector, with_matcher

Status = Literal["ok", "stale", "no series", "NaN/Inf", "query error"]
STATUSES: tuple[Status, ...] = ("ok", "stale", "no series", "NaN/Inf", "query error")
MAX_VALUES_SHOWN = 5
MAX_RULE_INPUTS_CHECKED = 20
RECENT_SECONDS = 300
RULE_FILE_HINT = "is its rule file (prometheus/rules/*.yml) in rule_files, and was Prometheus reloaded?"


@attrs.frozen
class Finding:
    """A target's status, a stable machine-readable cause and a one-line detail."""

    status: Status
    cause: str = ""
    detail: str = ""


OK = Finding("ok")


class ProbeError(Exception):
    """Prometheus rejected a follow-up question; str() is its one-line message."""


class Prober:
    """Small follow-up questions to Prometheus at time `at`, each asked once (answers cached per question)."""

    def __init__(self, client: PrometheusClient, at: float, step_seconds: int, stale_after: float,
                 job_health: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.at = at
        self.step = format_duration(step_seconds)
        self.stale_after = stale_after
        self.job_health = dict(job_health or {})
        self._answers: dict[tuple[str, ...], Any] = {}

    def _cached(self, key: tuple[str, ...], ask: Any) -> Any:
        if key not in self._answers:
            answer = ask()
            if answer.get("status") != "success":
                self._answers[key] = ProbeError(f"{key[-1]}: {answer_error(answer)}")
            else:
                self._answers[key] = answer["data"]
        value = self._answers[key]
        if isinstance(value, ProbeError):
            raise value
        return value

    def samples(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """Return the (labels, value) pairs of an instant query at `at`; raise ProbeError if it is rejected."""
        data = self._cached(("query", expr), lambda: self.client.query(expr, self.at))
        if data.get("resultType") != "vector":
            return []
        return [(dict(s.get("metric", {})), _number(s.get("value", [0, "NaN"])[1])) for s in data["result"]]

    def _single(self, expr: str) -> float | None:
        found = self.samples(expr)
        return found[0][1] if found else None

    def newest_now(self, selector: Selector) -> float | None:
        """Return the newest sample time of the series the selector matches now (not marked stale)."""
        return self._single(f"max(timestamp({selector.text}))")

    def newest_in(self, selector: Selector, window: float) -> float | None:
        """Return the newest sample time within the window, also of series Prometheus has marked stale since.

        The last minutes are looked at second by second, the rest of the window at the scrape interval: a
        subquery sees a sample only if one of its steps falls before the next sample or staleness marker.
        """
        recent = min(window, RECENT_SECONDS)
        found = self._single(f"max(max_over_time(timestamp({selector.text})[{format_duration(recent)}:1s]))")
        if found is None and window > recent:
            found = self._single(f"max(max_over_time(timestamp({selector.text})[{format_duration(window)}:"
                                 f"{self.step}]))")
        return found

    def count_in(self, text: str, window: float) -> int:
        """Return how many series `text` selects within the window."""
        return int(self._single(f"count(last_over_time({text}[{format_duration(window)}]))") or 0)

    def label_names(self, text: str, window: float) -> frozenset[str]:
        """Return the label names of the series `text` selects within the window."""
        data = self._cached(("labels", text, str(window)),
                            lambda: self.client.label_names(text, self.at - window, self.at))
        return frozenset(data)

    def label_values(self, name: str, label: str, window: float) -> list[str]:
        """Return the values a label has on a metric within the window, most frequent first."""
        found = self.samples(f"count by ({label}) (last_over_time({name}[{format_duration(window)}]))")
        return [labels.get(label, "") for labels, _ in sorted(found, key=lambda pair: (-pair[1], str(pair[0])))]

    def recording_rules(self, name: str) -> list[dict[str, Any]]:
        """Return the loaded recording rules that record `name`."""
        data = self._cached(("rules",), self.client.rules)
        return [rule for group in data.get("groups", []) for rule in group.get("rules", [])
                if isinstance(rule, dict) and rule.get("name") == name]

    def stale_limit(self, name: str) -> float:
        """Return how old the newest sample of `name` may be: `stale_after`, or, for a recorded series (its
        name has a colon, by convention), three evaluation intervals of the rule group recording it.

        An SLO group evaluated once a minute has samples up to a minute old while perfectly healthy.
        """
        if ":" not in name:
            return self.stale_after
        data = self._cached(("rules",), self.client.rules)
        intervals = [_number(group.get("interval")) for group in data.get("groups", []) if isinstance(group, dict)
                     for rule in group.get("rules", []) if isinstance(rule, dict) and rule.get("name") == name]
        return max([self.stale_after, *(3 * interval for interval in intervals if interval > 0)])

    def freshness(self, selector: Selector, window: float) -> Finding:
        """Return ok when the selector's newest sample is recent enough (`stale_limit`), else stale or no series."""
        now = self.newest_now(selector)
        if now is not None and self.at - now <= self.stale_limit(selector.name):
            return OK
        last = now if now is not None else self.newest_in(selector, window)
        if last is not None:
            return Finding("stale", "stale", f"{selector.text}: last sample {format_age(self.at - last)} ago"
                                             f"{self._why_stale(selector, window)}")
        if self.count_in(selector.text, window):
            return Finding("stale", "stale", f"{selector.text}: no sample now, some in the last "
                                             f"{format_duration(window)}{self._why_stale(selector, window)}")
        return self.missing(selector, window)

    def _why_stale(self, selector: Selector, window: float) -> str:
        """Return a hint naming the scrape jobs of the stale series: down, or up but no longer exposing them."""
        found = self.samples(f"count by (job) (last_over_time({selector.text}[{format_duration(window)}]))")
        jobs = sorted({labels.get("job", "") for labels, _ in found} & set(self.job_health))
        down = [job for job in jobs if self.job_health[job] != "up"]
        if down:
            return f" (target {', '.join(down)} is down)"
        if jobs:
            return f" (target {', '.join(jobs)} is up but no longer exposes it: renamed or removed?)"
        return ""

    def presence(self, selector: Selector, window: float) -> Finding:
        """Return ok when the selector has series within the window, else no series with the cause."""
        return OK if self.count_in(selector.text, window) else self.missing(selector, window)

    def missing(self, selector: Selector, window: float) -> Finding:
        """Return why a selector has no series within the window: no metric, a matcher, a missing label."""
        span = format_duration(window)
        if not selector.name or selector.alternatives:
            return Finding("no series", "no-match", f"no series matches {selector.text} (last {span})")
        if not self.count_in(selector.name, window):
            if ":" in selector.name:
                return self.rule_output_missing(selector.name, window)
            return Finding("no series", "metric-missing",
                           f"metric {selector.name} does not exist in Prometheus (no series in the last {span})")
        failing = [m for m in selector.matchers if not self.count_in(with_matcher(selector, m), window)]
        if not failing:
            return Finding("no series", "no-match", f"{selector.name} has series for each matcher of "
                                                    f"{selector.text}, but none for all of them (last {span})")
        return self._matcher_finding(selector, failing[0], window)

    def _matcher_finding(self, selector: Selector, matcher: Matcher, window: float) -> Finding:
        if matcher.label not in self.label_names(selector.name, window):
            return Finding("no series", "label-missing",
                           f"{selector.name} has no label {matcher.label} (the query selects {matcher.text})")
        values = self.label_values(selector.name, matcher.label, window)
        shown = ", ".join(v or '""' for v in values[:MAX_VALUES_SHOWN]) + (", …" if len(values) > MAX_VALUES_SHOWN
                                                                         else "")
        return Finding("no series", "label-value",
                       f"{selector.name} has no series with {matcher.text} ({matcher.label} is {shown})")

    def rule_output_missing(self, name: str, window: float) -> Finding:
        """Return why a recording rule's series is missing: the rule is not loaded, fails, or lacks raw series."""
        rules = self.recording_rules(name)
        if not rules:
            return Finding("no series", "rule-not-loaded", f"recording rule {name} has produced no series: no "
                                                           f"loaded rule records it: {RULE_FILE_HINT}")
        failing = [str(rule.get("lastError")) for rule in rules if rule.get("lastError")]
        if failing:
            return Finding("no series", "rule-error", f"recording rule {name} fails: {failing[0]}")
        absent = [raw for raw in _rule_inputs(rules) if not self.count_in(raw, window)]
        if absent:
            return Finding("no series", "rule-no-output", f"recording rule {name} is loaded but has produced no "
                                                          f"series: the raw series behind it are missing "
                                                          f"({', '.join(absent[:3])})")
        return Finding("no series", "rule-no-output", f"recording rule {name} is loaded but has produced no series "
                                                      f"yet (its raw series exist; a rate needs two scrapes)")

    def grouping(self, grouping: Grouping, window: float) -> Finding | None:
        """Return no series when no selected metric has a label the query groups by, else None."""
        present: set[str] = set()
        for selector in grouping.selectors:
            present |= self.label_names(selector.text, window)
        absent = [label for label in grouping.labels if label not in present | grouping.produced]
        if not present or not absent:
            return None
        names = ", ".join(sorted({s.name or s.text for s in grouping.selectors}))
        return Finding("no series", "label-missing", f"{names} has no label {absent[0]} (the query groups by it)")


def _rule_inputs(rules: list[dict[str, Any]]) -> Iterator[str]:
    seen: set[str] = set()
    for rule in rules:
        try:
            names = selected_series(str(rule.get("query", "")))
        except ValueError:
            continue
        for name in sorted(names - seen):
            seen.add(name)
            if len(seen) > MAX_RULE_INPUTS_CHECKED:
                return
            yield name


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


EMPTY_RESULT = Finding("no series", "empty-result", "the query returns no series although the series it selects have "
                       "data: its operands do not match on labels, or a comparison filters every series out")
