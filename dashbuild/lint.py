"""Lint rules run on every build, in the manner of grafana/dashboard-linter.

Each rule is a `Rule(name, description, severity, check)`: `check` takes one compiled dashboard and the
context of the whole build and yields `(panel title or None, message)`. Errors fail the build, warnings
are printed. A module file silences a rule for one panel with `.silence(rule, reason)`; there is no
global switch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, Literal

import attrs
import promql_parser

from dashbuild.compiled import CompiledDashboard
from dashbuild.queries import (
    BUILTIN_SERIES,
    GRAFANA_VARIABLES,
    RATE_INTERVAL_SECONDS,
    function_name,
    parse,
    range_seconds,
    referenced_variables,
    selector_name,
    substitute_variables,
    walk,
)
from dashbuild.schema import grafana_units

Severity = Literal["error", "warning"]
Issue = tuple[str | None, str]
TARGET_PANELS = frozenset({"stat", "singlestat", "graph", "table", "timeseries", "gauge", "bargauge", "piechart",
                           "state-timeline"})
RATE_FUNCTIONS = frozenset({"rate", "irate"})
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
RECORDED_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")
PLAIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
NON_BASE_UNITS = re.compile(r"_(milliseconds|microseconds|ms|minutes|hours|kilobytes|megabytes|kb|mb|percent)(_|$)")
VARIABLE_QUERY = re.compile(r"^(label_values|label_names|metrics|query_result)\((.*)\)$", re.DOTALL)


@attrs.frozen
class LintContext:
    """What rules may know about the whole build."""

    uids: frozenset[str]
    # Parsed queries per dashboard, shared by the target rules (keyed by id, holding the dashboard).
    queries: dict[int, tuple[CompiledDashboard, list[tuple[str, str, Walked]]]] = attrs.field(factory=dict, eq=False)


Check = Callable[[CompiledDashboard, LintContext], Iterable[Issue]]


@attrs.frozen
class Rule:
    """One lint rule."""

    name: str
    description: str
    severity: Severity
    check: Check


@attrs.frozen
class Finding:
    """A rule's finding, tied to the file (and panel) a reviewer has to change."""

    rule: str
    severity: Severity
    file: str
    dashboard: str
    panel: str | None
    message: str

    def __str__(self) -> str:
        where = f'{self.file}: panel "{self.panel}"' if self.panel else self.file
        return f"{where}: [{self.rule}] {self.dashboard}: {self.message}"


def _variables(d: CompiledDashboard) -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = d.json.get("templating", {}).get("list", [])
    return variables


def _values(d: CompiledDashboard) -> dict[str, str]:
    return {**GRAFANA_VARIABLES, **{v["name"]: ".*" for v in _variables(d) if v.get("type") == "query"}}


def _target_panels(d: CompiledDashboard) -> Iterator[dict[str, Any]]:
    return (p for p in d.panels() if p.get("type") in TARGET_PANELS)


Walked = tuple[tuple[Any, tuple[Any, ...]], ...]


@lru_cache(maxsize=65536)
def _walked(expr: str) -> Walked:
    return tuple(walk(parse(expr)))


def _queries(d: CompiledDashboard, context: LintContext) -> list[tuple[str, str, Walked]]:
    """Return (panel title, refId, every node with its parents) for each target that parses (computed once)."""
    cached = context.queries.get(id(d))
    if cached is not None and cached[0] is d:
        return cached[1]
    values = _values(d)
    found = []
    for panel in _target_panels(d):
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            if referenced_variables(expr) - values.keys():
                continue
            try:
                nodes = _walked(substitute_variables(expr, values))
            except ValueError:
                continue
            found.append((panel.get("title", ""), target.get("refId", "?"), nodes))
    context.queries[id(d)] = (d, found)
    return found


# -- dashboard and template rules -------------------------------------------------------------------

def template_datasource(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """A `datasource` variable of type datasource for Prometheus exists."""
    sources = [v for v in _variables(d) if v.get("type") == "datasource"]
    if not sources:
        yield None, "no datasource template variable"
        return
    for variable in sources:
        expected = "datasource" if len(sources) == 1 else f"{variable.get('query')}_datasource"
        if variable.get("name") != expected:
            yield None, f"datasource variable is named {variable.get('name')!r}, expected {expected!r}"
        if variable.get("query") != "prometheus":
            yield None, f"datasource variable {variable.get('name')!r} is not of type prometheus"


def template_on_time_change(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Query variables reload on time range change (refresh: 2)."""
    for variable in _variables(d):
        if variable.get("type") == "query" and variable.get("refresh") != 2:
            yield None, f"variable {variable['name']!r} has refresh {variable.get('refresh')}, expected 2"


def template_label_promql(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Query variables use label_values()/label_names()/metrics()/query_result() over valid PromQL."""
    values = _values(d)
    for variable in _variables(d):
        if variable.get("type") != "query":
            continue
        query = str(variable.get("query", ""))
        match = VARIABLE_QUERY.fullmatch(query.strip())
        if not match:
            yield None, f"variable {variable['name']!r}: {query!r} is not label_values(...) or similar"
            continue
        function, argument = match.groups()
        selector = argument.rsplit(",", 1)[0] if function == "label_values" and "," in argument else argument
        if not selector.strip():
            continue
        try:
            parse(substitute_variables(selector, values))
        except ValueError as error:
            yield None, f"variable {variable['name']!r}: {selector!r} does not parse: {error}"


def uneditable_dashboard(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Provisioned dashboards are not editable in the UI: the Python is the source."""
    if d.json.get("editable") is not False:
        yield None, "editable is not false"


def dashboard_links(d: CompiledDashboard, context: LintContext) -> Iterator[Issue]:
    """Links to `/d/<uid>` point to a generated dashboard."""
    for link in d.json.get("links", []):
        url = str(link.get("url", ""))
        if url.startswith("/d/") and url.removeprefix("/d/").split("/")[0] not in context.uids:
            yield None, f"link {link.get('title')!r} points to {url}, which is not a generated dashboard"


# -- panel rules ------------------------------------------------------------------------------------

def panel_datasource(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Panels and targets use the datasource variable, not a hard-coded uid."""
    names = {v["name"] for v in _variables(d) if v.get("type") == "datasource"}
    allowed = {f"${n}" for n in names} | {f"${{{n}}}" for n in names}
    for panel in _target_panels(d):
        refs = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        for ref in refs:
            uid = ref.get("uid") if isinstance(ref, dict) else ref
            if uid not in allowed:
                yield panel.get("title"), f"datasource {uid!r} is not the datasource variable"
                break


def panel_title_description(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Panels have a title and a description."""
    for panel in _target_panels(d):
        if not str(panel.get("title", "")).strip():
            yield panel.get("title"), "panel has no title"
        if not str(panel.get("description", "")).strip():
            yield panel.get("title"), "panel has no description"


def panel_units(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Panels set a unit from Grafana's unit list."""
    units = grafana_units()
    for panel in _target_panels(d):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            for prop in override.get("properties", []):
                if prop.get("id") == "unit":
                    unit = prop.get("value")
        if not unit:
            yield panel.get("title"), "panel sets no unit"
        elif unit not in units:
            yield panel.get("title"), f"unit {unit!r} is not one of Grafana's unit ids"


def panel_no_targets(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Panels have at least one target."""
    for panel in _target_panels(d):
        if not panel.get("targets"):
            yield panel.get("title"), "panel has no targets"


def panel_title_unique(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Panel titles are unique within a dashboard."""
    seen: set[str] = set()
    for panel in d.panels():
        title = panel.get("title", "")
        if title in seen:
            yield title, "panel title used twice in this dashboard"
        seen.add(title)


def panel_grid(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Panels fit the 24-column grid and do not overlap."""
    def boxes(panels: Iterable[dict[str, Any]]) -> Iterator[Issue]:
        # One bit mask of occupied columns per grid line; the placed boxes name who overlaps whom.
        lines: dict[int, int] = {}
        placed: list[tuple[str, int, int, int, int]] = []
        for panel in panels:
            pos, title = panel.get("gridPos", {}), panel.get("title", "")
            x, y, w, h = (int(pos.get(k, 0)) for k in ("x", "y", "w", "h"))
            if w > 24 or x + w > 24 or x < 0:
                yield title, f"panel spans columns {x}..{x + w}, past the 24-column grid"
            mask = ((1 << max(w, 0)) - 1) << max(x, 0)
            if any(lines.get(line, 0) & mask for line in range(y, y + h)):
                clash = sorted({other for other, ox, oy, ow, oh in placed
                                if ox < x + w and x < ox + ow and oy < y + h and y < oy + oh})
                yield title, f"panel overlaps {', '.join(clash)}"
            for line in range(y, y + h):
                lines[line] = lines.get(line, 0) | mask
            placed.append((title, x, y, w, h))

    top = d.json.get("panels", [])
    yield from boxes(top)
    for row in top:
        if row.get("type") == "row" and row.get("panels"):
            yield from boxes(row["panels"])


def panel_thresholds_ascending(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Threshold steps ascend, after a base step without value."""
    for panel in d.panels():
        steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
        values = [s.get("value") for s in steps[1:]]
        if any(v is None for v in values) or values != sorted(values) or len(set(values)) != len(values):
            yield panel.get("title"), f"threshold values {values} do not strictly ascend"


# -- target rules -----------------------------------------------------------------------------------

def target_promql(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Every target's PromQL parses after Grafana's and the dashboard's variables are substituted."""
    values = _values(d)
    for panel in _target_panels(d):
        for target in panel.get("targets", []):
            expr, ref = target.get("expr", ""), target.get("refId", "?")
            unknown = sorted(referenced_variables(expr) - values.keys())
            if unknown:
                yield panel.get("title"), (f"query {ref} uses {', '.join('$' + u for u in unknown)}, which this "
                                           "dashboard does not define")
                continue
            try:
                parse(substitute_variables(expr, values))
            except ValueError as error:
                yield panel.get("title"), f"query {ref} does not parse ({error}): {expr}"


def target_rate_interval(d: CompiledDashboard, context: LintContext) -> Iterator[Issue]:
    """rate()/irate() use [$__rate_interval]; $__rate_interval appears nowhere else."""
    for title, ref, nodes in _queries(d, context):
        for node, parents in nodes:
            if not isinstance(node, promql_parser.MatrixSelector):
                continue
            is_rate = bool(parents) and function_name(parents[-1]) in RATE_FUNCTIONS
            uses_rate_interval = range_seconds(node) == RATE_INTERVAL_SECONDS
            if is_rate and not uses_rate_interval:
                yield title, f"query {ref}: {function_name(parents[-1])}() over a fixed window, use $__rate_interval"
            elif uses_rate_interval and not is_rate:
                yield title, f"query {ref}: $__rate_interval outside rate()/irate()"


def target_counter_agg(d: CompiledDashboard, context: LintContext) -> Iterator[Issue]:
    """Counters (`*_total`) are read through rate(), irate() or increase(), never raw."""
    for title, ref, nodes in _queries(d, context):
        for node, parents in nodes:
            if not isinstance(node, promql_parser.VectorSelector) or not selector_name(node).endswith("_total"):
                continue
            wrapped = (len(parents) >= 2 and isinstance(parents[-1], promql_parser.MatrixSelector)
                       and function_name(parents[-2]) in COUNTER_FUNCTIONS)
            if not wrapped:
                yield title, f"query {ref}: counter {selector_name(node)} is not under rate()/increase()"


def target_metric_declared(d: CompiledDashboard, context: LintContext) -> Iterator[Issue]:
    """Every selected metric is declared by a module contract or produced by a recording rule."""
    for title, ref, nodes in _queries(d, context):
        for node, _parents in nodes:
            if isinstance(node, promql_parser.VectorSelector):
                name = selector_name(node)
                if name not in d.known_series and name not in BUILTIN_SERIES:
                    yield title, f"query {ref} selects {name or 'no metric name'}, which no module contract declares"


def metric_naming(d: CompiledDashboard, context: LintContext) -> Iterator[Issue]:
    """Selected metrics follow the naming convention: snake_case, base units, recording rules level:metric:op."""
    for title, ref, nodes in _queries(d, context):
        for node, _parents in nodes:
            if not isinstance(node, promql_parser.VectorSelector):
                continue
            name = selector_name(node)
            if ":" in name:
                if not RECORDED_NAME.fullmatch(name):
                    yield title, f"query {ref}: recorded series {name} is not named level:metric:operation"
            elif not PLAIN_NAME.fullmatch(name):
                yield title, f"query {ref}: metric {name} is not lowercase snake_case"
            elif NON_BASE_UNITS.search(name):
                yield title, f"query {ref}: metric {name} does not use base units (seconds, bytes, ratios)"


def histogram_quantile_le(d: CompiledDashboard, context: LintContext) -> Iterator[Issue]:
    """histogram_quantile() reads `_bucket` series and every aggregation under it keeps `le`."""
    for title, ref, nodes in _queries(d, context):
        for node, _parents in nodes:
            if function_name(node) != "histogram_quantile":
                continue
            for inner, _inner_parents in walk(node.args[1]):
                if isinstance(inner, promql_parser.VectorSelector) and not selector_name(inner).endswith("_bucket"):
                    yield title, f"query {ref}: histogram_quantile over {selector_name(inner)}, not a _bucket series"
                if isinstance(inner, promql_parser.AggregateExpr):
                    modifier = inner.modifier
                    labels = list(modifier.labels) if modifier else []
                    keeps = modifier is not None and (("le" in labels) == (modifier.type ==
                                                                           promql_parser.AggModifierType.By))
                    if not keeps:
                        yield title, f"query {ref}: {inner.op} under histogram_quantile drops the le label"


def target_legend(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """A query split `by (labels)` names its series with those labels in the legend."""
    values = _values(d)
    for panel in _target_panels(d):
        for target in panel.get("targets", []):
            legend = str(target.get("legendFormat", ""))
            if legend == "__auto" or "{{" in legend:
                continue
            try:
                tree = parse(substitute_variables(target.get("expr", ""), values))
            except ValueError:
                continue
            modifier = getattr(tree, "modifier", None) if isinstance(tree, promql_parser.AggregateExpr) else None
            if modifier is not None and modifier.type == promql_parser.AggModifierType.By and modifier.labels:
                yield panel.get("title"), (f"query {target.get('refId')} is split by {', '.join(modifier.labels)} "
                                           f"but every series is labelled {legend!r}")


# Labels the instrumentation fills itself, by metric: `status` and `type` from the naming convention's values,
# `error_type` from the class names of the exceptions the service's own code raises (bounded by that code, not
# by request data, and capped like any undeclared label).
CONVENTION_LABELS = frozenset({("operations_total", "status"), ("tokens_total", "type"),
                               ("errors_total", "error_type")})


def contract_label_values(d: CompiledDashboard, _: LintContext) -> Iterator[Issue]:
    """Every label of a module's contract has declared values; others are capped, not bounded by the contract."""
    contract = d.contract
    if contract is None:
        return
    declared = {label for label, _values in contract.label_values}
    undeclared: dict[str, list[str]] = {}
    for metric in contract.metrics:
        short_name = metric.name.removeprefix(f"{contract.name}_")
        for label in metric.labels:
            if label not in declared and (short_name, label) not in CONVENTION_LABELS:
                undeclared.setdefault(label, []).append(metric.name)
    for label, metrics in sorted(undeclared.items()):
        yield None, (f"label {label!r} ({', '.join(metrics)}) has no declared values: the instrumentation keeps "
                     f"its first max_label_values (default 100) per process and records later ones as 'other'; "
                     f"declare label_values={{{label!r}: (...)}} in the contract to bound it exactly")


RULES: tuple[Rule, ...] = (
    Rule("template-datasource-rule", "A Prometheus datasource variable named `datasource` exists.", "error",
         template_datasource),
    Rule("template-on-time-change-reload-rule", "Query variables refresh on time range change.", "error",
         template_on_time_change),
    Rule("template-label-promql-rule", "Query variables use label_values() etc. over valid PromQL.", "error",
         template_label_promql),
    Rule("uneditable-dashboard", "Dashboards are not editable in the UI.", "warning", uneditable_dashboard),
    Rule("dashboard-links-rule", "Dashboard links resolve to generated dashboards.", "error", dashboard_links),
    Rule("panel-datasource-rule", "Panels use the datasource variable.", "error", panel_datasource),
    Rule("panel-title-description-rule", "Panels have a title and a description.", "error", panel_title_description),
    Rule("panel-units-rule", "Panels set a valid Grafana unit.", "error", panel_units),
    Rule("panel-no-targets-rule", "Panels have at least one target.", "error", panel_no_targets),
    Rule("panel-title-unique-rule", "Panel titles are unique per dashboard.", "error", panel_title_unique),
    Rule("panel-grid-rule", "Panels fit 24 columns and do not overlap.", "error", panel_grid),
    Rule("panel-thresholds-rule", "Threshold steps ascend.", "error", panel_thresholds_ascending),
    Rule("target-promql-rule", "Queries parse as PromQL with variables substituted.", "error", target_promql),
    Rule("target-rate-interval-rule", "rate()/irate() use $__rate_interval.", "error", target_rate_interval),
    Rule("target-counter-agg-rule", "Counters are wrapped in rate()/increase().", "error", target_counter_agg),
    Rule("target-metric-declared-rule", "Selected metrics exist in a contract or recording rule.", "error",
         target_metric_declared),
    Rule("metric-naming-rule", "Metric names follow the naming convention.", "error", metric_naming),
    Rule("histogram-quantile-le-rule", "histogram_quantile() keeps `le` over `_bucket` series.", "error",
         histogram_quantile_le),
    Rule("target-legend-rule", "Queries split by labels show those labels in the legend.", "warning",
         target_legend),
    Rule("contract-label-values-rule", "Every contract label declares its values (else it is capped).", "warning",
         contract_label_values),
)
RULE_NAMES = frozenset(rule.name for rule in RULES)


def lint_dashboard(d: CompiledDashboard, context: LintContext, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Return the findings of every rule on one dashboard, silences applied, unknown silences reported."""
    silences = d.silences
    findings: list[Finding] = []
    for silenced_panel, silenced in sorted(silences.items()):
        for unknown in sorted(set(silenced) - RULE_NAMES):
            findings.append(Finding("lint-silence", "error", d.source_of(silenced_panel), d.filename, silenced_panel,
                                    f"silences unknown rule {unknown!r} (rules: python build.py lint --rules)"))
    for rule in rules:
        for panel, message in rule.check(d, context):
            if panel is not None and rule.name in silences.get(panel, {}):
                continue
            findings.append(Finding(rule.name, rule.severity, d.source_of(panel), d.filename, panel, message))
    return findings


def lint(dashboards: Sequence[CompiledDashboard], rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Return the findings on every dashboard, errors first."""
    context = LintContext(uids=frozenset(str(d.json.get("uid")) for d in dashboards))
    findings = [f for d in dashboards for f in lint_dashboard(d, context, rules)]
    return sorted(findings, key=lambda f: f.severity != "error")
