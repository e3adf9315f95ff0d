"""The generated recording rules evaluated over a SeriesStore, as Prometheus' rule manager evaluates them.

The rule files are those prometheus.yml's `rule_files` globs name (relative to its folder), in sorted order. Each
group is evaluated at the multiples of its `interval` (else the global evaluation_interval) from start to end; at
each timestamp the groups due are evaluated in file and group order, and a group's rules in order, each result
written back at once (`__name__` = the record, the rule's labels set), so later rules and panels read it. A series a
rule produced at its previous evaluation but not now gets a stale marker, as in Prometheus. A rule that fails at a
timestamp writes nothing then (Prometheus logs it and goes on); failures are counted in RuleRun.

Alerting rules are not evaluated: no generated dashboard or rule reads `ALERTS` or `ALERTS_FOR_STATE`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

import attrs
import yaml

from dashbuild.preview.demo_data import duration_ms, read_config, scrape_times
from dashbuild.preview.promql_ast import Node, QueryError, parse
from dashbuild.preview.promql_eval import Evaluator
from dashbuild.preview.promql_values import Scalar
from dashbuild.preview.series_store import NAME, STALE, Labels, SeriesStore, make_labels

CONFIG_PATH = "prometheus/prometheus.yml"


@attrs.frozen
class RecordingRule:
    """One recording rule: the name it records, its expression (text and tree) and its static labels."""

    record: str
    expr: str
    tree: Node = attrs.field(eq=False)
    labels: tuple[tuple[str, str], ...]


@attrs.frozen
class RuleGroup:
    """One rule group: its file, name, evaluation interval (ms) and recording rules, in order."""

    file: str
    name: str
    interval_ms: int
    rules: tuple[RecordingRule, ...]


@attrs.define
class RuleRun:
    """What an evaluation did: evaluations run, samples written, and failures by (record, error)."""

    evaluations: int = 0
    samples: int = 0
    failures: dict[tuple[str, str], int] = attrs.field(factory=dict)


def rule_file_paths(paths: Sequence[str], prometheus_yml: bytes, config_path: str = CONFIG_PATH) -> list[str]:
    """Return the paths among `paths` that prometheus.yml's `rule_files` globs name (relative to its folder, or as
    given), sorted as Prometheus' glob expansion sorts them."""
    folder = config_path.rsplit("/", 1)[0] + "/" if "/" in config_path else ""
    patterns = [str(p) for p in read_config(prometheus_yml).get("rule_files") or []]
    return sorted(path for path in paths if any(fnmatch.fnmatchcase(path, folder + pattern) or
                                                fnmatch.fnmatchcase(path, pattern) for pattern in patterns))


def load_groups(files: Mapping[str, bytes], prometheus_yml: bytes, config_path: str = CONFIG_PATH) -> list[RuleGroup]:
    """Return the recording rule groups of the rule files among `files` (path -> bytes); raise ValueError for a rule
    whose expression the evaluator refuses (with the rule named)."""
    default_interval = duration_ms(str((read_config(prometheus_yml).get("global") or {})
                                       .get("evaluation_interval", "1m")))
    groups = []
    for path in rule_file_paths(list(files), prometheus_yml, config_path):
        content = yaml.safe_load(files[path]) or {}
        for group in content.get("groups") or []:
            rules = []
            for rule in group.get("rules") or []:
                if "record" not in rule:
                    continue  # alerting rules: see the module docstring
                try:
                    tree = parse(str(rule["expr"]))
                except QueryError as error:
                    raise ValueError(f"{path}: group {group['name']}: rule {rule['record']}: {error}") from None
                labels = tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items()))
                rules.append(RecordingRule(str(rule["record"]), str(rule["expr"]), tree, labels))
            interval = duration_ms(str(group["interval"])) if group.get("interval") else default_interval
            groups.append(RuleGroup(path, str(group["name"]), interval, tuple(rules)))
    return groups


def _output_labels(labels: Labels, rule: RecordingRule) -> Labels:
    result = {k: v for k, v in labels if k != NAME}
    result.update(rule.labels)
    result[NAME] = rule.record
    return make_labels(result)


def evaluate_groups(store: SeriesStore, groups: Sequence[RuleGroup], start: float, end: float,
                    evaluator: Evaluator | None = None) -> RuleRun:
    """Evaluate every group at its timestamps from `start` to `end` (seconds), writing the results into `store`."""
    evaluator = evaluator or Evaluator(store)
    run = RuleRun()
    schedule: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        for t in scrape_times(round(start * 1000), round(end * 1000), group.interval_ms):
            schedule.setdefault(t, []).append(index)
    previous: dict[tuple[int, int], set[Labels]] = {}
    for t in sorted(schedule):
        for index in schedule[t]:
            for position, rule in enumerate(groups[index].rules):
                produced = _evaluate_rule(store, evaluator, rule, t, run)
                for gone in sorted(previous.get((index, position), set()) - produced):
                    store.append(gone, t, STALE)
                previous[(index, position)] = produced
    return run


def _evaluate_rule(store: SeriesStore, evaluator: Evaluator, rule: RecordingRule, t: int, run: RuleRun) -> set[Labels]:
    run.evaluations += 1
    try:
        value = evaluator.evaluate(rule.tree, t)
        vector = [((), value.value)] if isinstance(value, Scalar) else value
        if not isinstance(vector, list):
            raise QueryError("rule result is not a vector")
        samples = [(_output_labels(labels, rule), sample) for labels, sample in vector]  # type: ignore[misc]
        if len({labels for labels, _ in samples}) != len(samples):
            raise QueryError("vector contains metrics with the same labelset after applying rule labels")
    except QueryError as error:
        key = (rule.record, str(error))
        run.failures[key] = run.failures.get(key, 0) + 1
        return set()
    for labels, sample in samples:
        store.append(labels, t, sample)
    run.samples += len(samples)
    return {labels for labels, _ in samples}
