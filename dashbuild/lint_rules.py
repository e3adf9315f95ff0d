"""The lint rules. Adding one: write its check for the scope it needs, add it to RULES, add its test.

Dashboard checks yield a message, or (panel, message) for a panel only the whole dashboard can judge; panel
and target checks yield messages (see dashbuild/lint_model.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import promql_parser

from dashbuild.compiled import CompiledDashboard, CompiledPanel, CompiledTarget
from dashbuild.lint_model import LintContext, Rule
from dashbuild.queries import (
    BUILTIN_SERIES,
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

# Panel types that run queries; others (text, rows) have no targets, description or unit to check.
TARGET_PANELS = frozenset({"stat", "singlestat", "graph", "table", "timeseries", "gauge", "bargauge", "piechart",
                           "state-timeline", "status-history", "heatmap", "histogram"})
RATE_FUNCTIONS = frozenset({"rate", "irate"})
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
RECORDED_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")
PLAIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
NON_BASE_UNITS = re.compile(r"_(milliseconds|microseconds|ms|minutes|hours|kilobytes|megabytes|kb|mb|percent)(_|$)")
VARIABLE_QUERY = re.compile(r"^(label_values|label_names|metrics|query_result)\((.*)\)$", re.DOTALL)
# Labels the instrumentation fills itself, by metric: `status` and `type` from the naming convention's values,
# `error_type` from the class names of the exceptions the service's own code raises (bounded by that code, not
# by request data, and capped like any undeclared label).
CONVENTION_LABELS = frozenset({("operations_total", "status"), ("tokens_total", "type"),
                               ("errors_total", "error_type")})
DashboardIssue = str | tuple[CompiledPanel, str]
UNDECLARED_SUFFIX = ", which no module contract declares"
_UNDECLARED = re.compile(r" selects (\S+)" + re.escape(UNDECLARED_SUFFIX))


# -- dashboard and template rules -------------------------------------------------------------------

def template_datasource(d: CompiledDashboard, _: LintContext) -> Iterator[DashboardIssue]:
    """A `datasource` variable of type datasource for Prometheus exists; other datasource variables (a second
    Prometheus, e.g. a long-term store) are Prometheus ones too, since every query is PromQL."""
    sources = [v for v in d.variables() if v.get("type") == "datasource"]
    if not sources:
        yield "no datasource template variable"
        return
    names = [str(v.get("name")) for v in sources]
    if "datasource" not in names:
        yield (f"datasource variable is named {names[0]!r}, expected 'datasource'" if len(names) == 1 else
               f"none of the datasource variables {', '.join(names)} is named 'datasource'")
    for variable in sources:
        if variable.get("query") != "prometheus":
            yield f"datasource variable {variable.get('name')!r} is not of type prometheus"


def template_on_time_change(d: CompiledDashboard, _: LintContext) -> Iterator[DashboardIssue]:
    """Query variables reload on time range change (refresh: 2)."""
    for variable in d.variables():
        if variable.get("type") == "query" and variable.get("refresh") != 2:
            yield f"variable {variable['name']!r} has refresh {variable.get('refresh')}, expected 2"


def template_label_promql(d: CompiledDashboard, context: LintContext) -> Iterator[DashboardIssue]:
    """Query variables use label_values()/label_names()/metrics()/query_result() over valid PromQL."""
    values = context.values(d)
    for variable in d.variables():
        if variable.get("type") != "query":
            continue
        query = str(variable.get("query", ""))
        match = VARIABLE_QUERY.fullmatch(query.strip())
        if not match:
            yield f"variable {variable['name']!r}: {query!r} is not label_values(...) or similar"
            continue
        function, argument = match.groups()
        selector = argument.rsplit(",", 1)[0] if function == "label_values" and "," in argument else argument
        if not selector.strip():
            continue
        try:
            parse(substitute_variables(selector, values))
        except ValueError as error:
            yield f"variable {variable['name']!r}: {selector!r} does not parse: {error}"


def uneditable_dashboard(d: CompiledDashboard, _: LintContext) -> Iterator[DashboardIssue]:
    """Provisioned dashboards are not editable in the UI: the Python is the source."""
    if d.json.get("editable") is not False:
        yield "editable is not false"


def dashboard_links(d: CompiledDashboard, context: LintContext) -> Iterator[DashboardIssue]:
    """Links to `/d/<uid>` point to a generated dashboard."""
    for link in d.json.get("links", []):
        url = str(link.get("url", ""))
        if url.startswith("/d/") and url.removeprefix("/d/").split("/")[0] not in context.uids:
            yield f"link {link.get('title')!r} points to {url}, which is not a generated dashboard"


def annotation_promql(d: CompiledDashboard, context: LintContext) -> Iterator[DashboardIssue]:
    """Prometheus annotations use a datasource variable, and their queries parse and select declared metrics."""
    values = context.values(d)
    sources = {str(v.get("name")) for v in d.variables() if v.get("type") == "datasource"}
    for annotation in d.json.get("annotations", {}).get("list", []):
        if annotation.get("builtIn"):
            continue
        name, expr = annotation.get("name"), str(annotation.get("expr", ""))
        source = annotation.get("datasource", {}).get("uid", "")
        if source not in {f"${{{n}}}" for n in sources} | {f"${n}" for n in sources}:
            yield f"annotation {name!r}: datasource {source!r} is not a datasource variable"
        unknown = sorted(referenced_variables(expr) - values.keys())
        if unknown:
            yield (f"annotation {name!r} uses {', '.join('$' + u for u in unknown)}, which this dashboard does not "
                   "define")
            continue
        try:
            selected = {selector_name(node) for node, _parents in walk(parse(substitute_variables(expr, values)))
                        if isinstance(node, promql_parser.VectorSelector)}
        except ValueError as error:
            yield f"annotation {name!r} does not parse ({error}): {expr}"
            continue
        for series in sorted(selected - d.known_series - BUILTIN_SERIES):
            yield f"annotation {name!r} selects {series or 'no metric name'}, which no module contract declares"


def panel_title_unique(d: CompiledDashboard, _: LintContext) -> Iterator[DashboardIssue]:
    """Panel titles are unique within a dashboard."""
    seen: set[str] = set()
    for panel in d.panels:
        if panel.title in seen:
            yield panel, "panel title used twice in this dashboard"
        seen.add(panel.title)


def panel_grid(d: CompiledDashboard, _: LintContext) -> Iterator[DashboardIssue]:
    """Panels fit the 24-column grid and do not overlap (rows' own children checked among themselves)."""
    def boxes(panels: Iterable[tuple[CompiledPanel | None, dict[str, Any]]]) -> Iterator[DashboardIssue]:
        # One bit mask of occupied columns per grid line; the placed boxes name who overlaps whom.
        lines: dict[int, int] = {}
        placed: list[tuple[str, int, int, int, int]] = []
        for panel, data in panels:
            pos, title = data.get("gridPos", {}), str(data.get("title", ""))
            x, y, w, h = (int(pos.get(k, 0)) for k in ("x", "y", "w", "h"))
            issues = []
            if w > 24 or x + w > 24 or x < 0:
                issues.append(f"panel spans columns {x}..{x + w}, past the 24-column grid")
            mask = ((1 << max(w, 0)) - 1) << max(x, 0)
            if any(lines.get(line, 0) & mask for line in range(y, y + h)):
                clash = sorted({other for other, ox, oy, ow, oh in placed
                                if ox < x + w and x < ox + ow and oy < y + h and y < oy + oh})
                issues.append(f"panel overlaps {', '.join(clash)}")
            for issue in issues:
                yield (panel, issue) if panel is not None else f"row {title!r}: {issue}"
            for line in range(y, y + h):
                lines[line] = lines.get(line, 0) | mask
            placed.append((title, x, y, w, h))

    by_id = {id(p.json): p for p in d.panels}
    top = d.json.get("panels", [])
    yield from boxes((by_id.get(id(item)), item) for item in top)
    for row in top:
        if row.get("type") == "row" and row.get("panels"):
            yield from boxes((by_id.get(id(child)), child) for child in row["panels"])


def contract_label_values(d: CompiledDashboard, _: LintContext) -> Iterator[DashboardIssue]:
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
        yield (f"label {label!r} ({', '.join(metrics)}) has no declared values: the instrumentation keeps "
               f"its first max_label_values (default 100) per process and records later ones as 'other'; "
               f"declare label_values={{{label!r}: (...)}} in the contract to bound it exactly")


# -- panel rules ------------------------------------------------------------------------------------

def panel_datasource(d: CompiledDashboard, panel: CompiledPanel, _: LintContext) -> Iterator[str]:
    """Panels and targets use the datasource variable, not a hard-coded uid."""
    if panel.kind not in TARGET_PANELS:
        return
    names = {v["name"] for v in d.variables() if v.get("type") == "datasource"}
    allowed = {f"${n}" for n in names} | {f"${{{n}}}" for n in names}
    for ref in [panel.json.get("datasource")] + [t.json.get("datasource") for t in panel.targets]:
        uid = ref.get("uid") if isinstance(ref, dict) else ref
        if uid not in allowed:
            yield f"datasource {uid!r} is not the datasource variable"
            return


def panel_title_description(_d: CompiledDashboard, panel: CompiledPanel, _: LintContext) -> Iterator[str]:
    """Panels have a title and a description."""
    if panel.kind not in TARGET_PANELS:
        return
    if not panel.title.strip():
        yield "panel has no title"
    if not str(panel.json.get("description", "")).strip():
        yield "panel has no description"


def panel_units(_d: CompiledDashboard, panel: CompiledPanel, _: LintContext) -> Iterator[str]:
    """Panels set a unit from Grafana's unit list."""
    if panel.kind not in TARGET_PANELS:
        return
    field_config = panel.json.get("fieldConfig", {})
    # The defaults' unit, then each override's (a table may give its columns their own units).
    units = [field_config.get("defaults", {}).get("unit")]
    units.extend(prop.get("value") for override in field_config.get("overrides", [])
                 for prop in override.get("properties", []) if prop.get("id") == "unit")
    if not any(units):
        yield "panel sets no unit"
    for unit in units:
        if unit and unit not in grafana_units():
            yield f"unit {unit!r} is not one of Grafana's unit ids"


def panel_no_targets(_d: CompiledDashboard, panel: CompiledPanel, _: LintContext) -> Iterator[str]:
    """Panels have at least one target."""
    if panel.kind in TARGET_PANELS and not panel.targets:
        yield "panel has no targets"


def panel_thresholds_ascending(_d: CompiledDashboard, panel: CompiledPanel, _: LintContext) -> Iterator[str]:
    """Threshold steps ascend, after a base step without value."""
    steps = panel.json.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    values = [s.get("value") for s in steps[1:]]
    if any(v is None for v in values) or values != sorted(values) or len(set(values)) != len(values):
        yield f"threshold values {values} do not strictly ascend"


# -- target rules -----------------------------------------------------------------------------------

def _queries_of(panel: CompiledPanel) -> bool:
    return panel.kind in TARGET_PANELS


def target_promql(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                  context: LintContext) -> Iterator[str]:
    """Every target's PromQL parses after Grafana's and the dashboard's variables are substituted."""
    if not _queries_of(panel):
        return
    values = context.values(d)
    unknown = sorted(referenced_variables(target.expr) - values.keys())
    if unknown:
        yield (f"query {target.ref_id} uses {', '.join('$' + u for u in unknown)}, which this dashboard does not "
               "define")
        return
    try:
        parse(substitute_variables(target.expr, values))
    except ValueError as error:
        yield f"query {target.ref_id} does not parse ({error}): {target.expr}"


def target_rate_interval(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                         context: LintContext) -> Iterator[str]:
    """rate()/irate() use [$__rate_interval]; $__rate_interval appears nowhere else."""
    for node, parents in (context.nodes(d, target) or ()) if _queries_of(panel) else ():
        if not isinstance(node, promql_parser.MatrixSelector):
            continue
        is_rate = bool(parents) and function_name(parents[-1]) in RATE_FUNCTIONS
        uses_rate_interval = range_seconds(node) == RATE_INTERVAL_SECONDS
        if is_rate and not uses_rate_interval:
            yield f"query {target.ref_id}: {function_name(parents[-1])}() over a fixed window, use $__rate_interval"
        elif uses_rate_interval and not is_rate:
            yield f"query {target.ref_id}: $__rate_interval outside rate()/irate()"


def target_counter_agg(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                       context: LintContext) -> Iterator[str]:
    """Counters (`*_total`) are read through rate(), irate() or increase(), never raw."""
    for node, parents in (context.nodes(d, target) or ()) if _queries_of(panel) else ():
        if not isinstance(node, promql_parser.VectorSelector) or not selector_name(node).endswith("_total"):
            continue
        wrapped = (len(parents) >= 2 and isinstance(parents[-1], promql_parser.MatrixSelector)
                   and function_name(parents[-2]) in COUNTER_FUNCTIONS)
        if not wrapped:
            yield f"query {target.ref_id}: counter {selector_name(node)} is not under rate()/increase()"


def target_metric_declared(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                           context: LintContext) -> Iterator[str]:
    """Every selected metric is declared by a module contract or produced by a recording rule."""
    for node, _parents in (context.nodes(d, target) or ()) if _queries_of(panel) else ():
        if isinstance(node, promql_parser.VectorSelector):
            name = selector_name(node)
            if name not in d.known_series and name not in BUILTIN_SERIES:
                yield (f"query {target.ref_id} selects {name or 'no metric name'}{UNDECLARED_SUFFIX} (declare it in "
                       "CONTRACT.metrics, or in ModuleDashboard(external_metrics=...) when another exporter "
                       "exposes it)")


def _without_module_prefix(name: str, module_names: frozenset[str]) -> str:
    """Return the metric name after the longest module name it starts with (the part the convention names)."""
    prefixes = sorted((m for m in module_names if name.startswith(f"{m}_")), key=len, reverse=True)
    return name[len(prefixes[0]):] if prefixes else name


def metric_naming(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                  context: LintContext) -> Iterator[str]:
    """Selected metrics follow the naming convention: snake_case, base units, recording rules level:metric:op.

    Other exporters' metrics (`external_metrics`) keep the names their exporters give them.
    """
    for node, _parents in (context.nodes(d, target) or ()) if _queries_of(panel) else ():
        if not isinstance(node, promql_parser.VectorSelector) or selector_name(node) in d.external_series:
            continue
        name, ref = selector_name(node), target.ref_id
        if ":" in name:
            if not RECORDED_NAME.fullmatch(name):
                yield f"query {ref}: recorded series {name} is not named level:metric:operation"
        elif not PLAIN_NAME.fullmatch(name):
            yield f"query {ref}: metric {name} is not lowercase snake_case"
        elif NON_BASE_UNITS.search(_without_module_prefix(name, d.module_names)):
            yield f"query {ref}: metric {name} does not use base units (seconds, bytes, ratios)"


def histogram_quantile_le(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                          context: LintContext) -> Iterator[str]:
    """histogram_quantile() reads `_bucket` series and every aggregation under it keeps `le`."""
    for node, _parents in (context.nodes(d, target) or ()) if _queries_of(panel) else ():
        if function_name(node) != "histogram_quantile":
            continue
        for inner, _inner_parents in walk(node.args[1]):
            if isinstance(inner, promql_parser.VectorSelector) and not selector_name(inner).endswith("_bucket"):
                yield (f"query {target.ref_id}: histogram_quantile over {selector_name(inner)}, not a _bucket "
                       "series")
            if isinstance(inner, promql_parser.AggregateExpr):
                modifier = inner.modifier
                labels = list(modifier.labels) if modifier else []
                keeps = modifier is not None and (("le" in labels) == (modifier.type ==
                                                                       promql_parser.AggModifierType.By))
                if not keeps:
                    yield f"query {target.ref_id}: {inner.op} under histogram_quantile drops the le label"


def target_legend(d: CompiledDashboard, panel: CompiledPanel, target: CompiledTarget,
                  context: LintContext) -> Iterator[str]:
    """A query split `by (labels)` names its series with those labels in the legend."""
    legend = target.legend
    # No legend shows each series' full name and labels; a table shows labels as columns, not a legend.
    if not _queries_of(panel) or legend in ("__auto", "") or "{{" in legend or target.json.get("format") == "table":
        return
    try:
        tree = parse(substitute_variables(target.expr, context.values(d)))
    except ValueError:
        return
    modifier = getattr(tree, "modifier", None) if isinstance(tree, promql_parser.AggregateExpr) else None
    if modifier is not None and modifier.type == promql_parser.AggModifierType.By and modifier.labels:
        yield (f"query {target.ref_id} is split by {', '.join(modifier.labels)} but every series is labelled "
               f"{legend!r}")


def undeclared_metrics(messages: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Return, per file, the metric names target-metric-declared-rule found undeclared, from (file, message)."""
    found: dict[str, set[str]] = {}
    for file, message in messages:
        match = _UNDECLARED.search(message)
        if match:
            found.setdefault(file, set()).add(match.group(1))
    return {file: sorted(names) for file, names in sorted(found.items())}


RULES: tuple[Rule, ...] = (
    Rule("template-datasource-rule", "A Prometheus datasource variable named `datasource` exists.", "error",
         "dashboard", template_datasource),
    Rule("template-on-time-change-reload-rule", "Query variables refresh on time range change.", "error",
         "dashboard", template_on_time_change),
    Rule("template-label-promql-rule", "Query variables use label_values() etc. over valid PromQL.", "error",
         "dashboard", template_label_promql),
    Rule("uneditable-dashboard", "Dashboards are not editable in the UI.", "warning", "dashboard",
         uneditable_dashboard),
    Rule("dashboard-links-rule", "Dashboard links resolve to generated dashboards.", "error", "dashboard",
         dashboard_links),
    Rule("annotation-promql-rule", "Prometheus annotations parse and select declared metrics.", "error",
         "dashboard", annotation_promql),
    Rule("panel-datasource-rule", "Panels use the datasource variable.", "error", "panel", panel_datasource),
    Rule("panel-title-description-rule", "Panels have a title and a description.", "error", "panel",
         panel_title_description),
    Rule("panel-units-rule", "Panels set a valid Grafana unit.", "error", "panel", panel_units),
    Rule("panel-no-targets-rule", "Panels have at least one target.", "error", "panel", panel_no_targets),
    Rule("panel-title-unique-rule", "Panel titles are unique per dashboard.", "error", "dashboard",
         panel_title_unique),
    Rule("panel-grid-rule", "Panels fit 24 columns and do not overlap.", "error", "dashboard", panel_grid),
    Rule("panel-thresholds-rule", "Threshold steps ascend.", "error", "panel", panel_thresholds_ascending),
    Rule("target-promql-rule", "Queries parse as PromQL with variables substituted.", "error", "target",
         target_promql),
    Rule("target-rate-interval-rule", "rate()/irate() use $__rate_interval.", "error", "target",
         target_rate_interval),
    Rule("target-counter-agg-rule", "Counters are wrapped in rate()/increase().", "error", "target",
         target_counter_agg),
    Rule("target-metric-declared-rule", "Selected metrics exist in a contract or recording rule.", "error",
         "target", target_metric_declared),
    Rule("metric-naming-rule", "Metric names follow the naming convention.", "error", "target", metric_naming),
    Rule("histogram-quantile-le-rule", "histogram_quantile() keeps `le` over `_bucket` series.", "error",
         "target", histogram_quantile_le),
    Rule("target-legend-rule", "Queries split by labels show those labels in the legend.", "warning", "target",
         target_legend),
    Rule("contract-label-values-rule", "Every contract label declares its values (else it is capped).", "warning",
         "dashboard", contract_label_values),
)
