"""Property-based: any valid module declaration builds to schema-valid, lint-clean, parseable output."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashbuild.checks import run_checks, slugify
from dashbuild.discover import ModuleFile
from dashbuild.lint import lint
from dashbuild.pipeline import compile_dashboards
from dashbuild.prometheus import prometheus_files
from dashbuild.queries import GRAFANA_VARIABLES, parse, substitute_variables
from moddash.contract import COUNTER, HISTOGRAM, Metric, ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row
from panels import helpers as h
from panels.promql import eq, variable
from panels.settings import DEFAULT_OVERVIEW_TITLE as OVERVIEW_TITLE

LABELS = ("tenant", "region", "model", "result", "queue")
names = st.from_regex(r"[a-z][a-z0-9]{1,8}(_[a-z0-9]{1,6}){0,2}", fullmatch=True).filter(
    lambda n: n not in {"overview", "modules_overview"})
titles = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -"), min_size=1,
                 max_size=30).filter(lambda t: any(c.isalnum() and c.isascii() for c in t))
label_values = st.text(max_size=12).filter(lambda v: not re.search(r"\$\w|\$\{|\[\[", v))
label_sets = st.lists(st.sampled_from(LABELS), unique=True, max_size=3).map(tuple)


@st.composite
def modules(draw: st.DrawFn, port: int) -> ModuleFile:
    """Return a random but valid module: contract, extra metrics, rows of random helper panels."""
    name = draw(names)
    extras = draw(st.lists(st.tuples(st.sampled_from((COUNTER, HISTOGRAM)), label_sets), max_size=3))
    metrics = [*standard_metrics(name)]
    for index, (kind, labels) in enumerate(extras):
        suffix = f"extra{index}_total" if kind == COUNTER else f"extra{index}_seconds"
        metrics.append(Metric(f"{name}_{suffix}", kind, f"Extra metric {index}.", labels))
    contract = ModuleContract(name, draw(titles), ScrapeTarget(port), metrics)
    counters = [m for m in metrics if m.type == COUNTER]
    histograms = [m for m in metrics if m.type == HISTOGRAM]
    ops = contract.metric("operations_total")
    use_variable = draw(st.booleans())

    def pick_counter() -> Metric:
        return draw(st.sampled_from(counters))

    def subset(metric: Metric) -> tuple[str, ...]:
        return tuple(draw(st.lists(st.sampled_from(metric.labels), unique=True, max_size=2))) if metric.labels else ()

    def rate() -> Panel:
        metric = pick_counter()
        where = (variable("operation"),) if use_variable and metric is ops else ()
        return h.rate_per_second(metric, by=subset(metric), where=where)

    def quantiles() -> Panel:
        metric = draw(st.sampled_from(histograms))
        qs = draw(st.lists(st.sampled_from((0.5, 0.9, 0.95, 0.99)), unique=True, min_size=1, max_size=3))
        return h.duration_quantiles(metric, sorted(qs), by=subset(metric),
                                    objective_seconds=draw(st.none() | st.floats(0.01, 60)))

    def labelled_counter() -> Metric:
        return draw(st.sampled_from([m for m in counters if m.labels]))

    factories: list[Callable[[], Panel]] = [
        rate, quantiles,
        lambda: h.error_ratio(contract.metric("errors_total"), ops,
                              critical=draw(st.floats(0.001, 1, exclude_min=True))),
        lambda: h.cache_hit_ratio(contract.metric("cache_hits_total"), contract.metric("cache_misses_total")),
        lambda: h.token_usage(contract.metric("tokens_total")),
        lambda: h.cost_over_range(contract.metric("cost_total")),
        lambda: h.cost_rate(contract.metric("cost_total")),
        lambda: h.count_over_range(pick_counter()),
        lambda: h.event_timeline(pick_counter()),
        lambda: h.health(contract.job),
        lambda: (lambda m: h.distribution(m, draw(st.sampled_from(m.labels))))(labelled_counter()),
        lambda: (lambda m: h.success_ratio(m, eq(m.labels[0], draw(label_values))))(labelled_counter()),
    ]
    rows = []
    for row_index in range(draw(st.integers(1, 3))):
        panels = []
        for panel_index in range(draw(st.integers(1, 6))):
            panel = draw(st.sampled_from(factories))()
            panel = panel.titled(f"{panel.title} {row_index}.{panel_index}")
            if draw(st.booleans()):
                panel = panel.sized(width=draw(st.integers(1, 24)), height=draw(st.none() | st.integers(1, 12)))
            if not panel_uses_variables(panel) and draw(st.booleans()):
                panel = panel.in_overview()
            panels.append(panel)
        rows.append(Row(f"Row {row_index}", panels, collapsed=draw(st.booleans())))
    variables = (h.label_variable(ops, "operation"),) if use_variable else ()
    return ModuleFile(f"dashboards/{name}.py", contract, ModuleDashboard(rows=rows, variables=variables))


def panel_uses_variables(panel: Panel) -> bool:
    """Return True when a panel's queries filter on a dashboard variable."""
    return any('=~"$' in target.expr for target in panel.targets)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=modules(port=9001), second=modules(port=9002))
def test_any_valid_module_builds_clean(first: ModuleFile, second: ModuleFile) -> None:
    # Two modules of one registry have distinct names and title slugs; none takes the overview's.
    slugs = {slugify(first.contract.title), slugify(second.contract.title), slugify(OVERVIEW_TITLE)}
    assume(first.contract.name != second.contract.name and len(slugs) == 3)
    registry = [first, second]
    dashboards = compile_dashboards(registry)
    assert run_checks(dashboards) == []
    assert [str(f) for f in lint(dashboards) if f.severity == "error"] == []
    for dashboard in dashboards:
        for _panel, target in dashboard.targets():
            values = {**GRAFANA_VARIABLES, "operation": ".*"}
            parse(substitute_variables(target.expr, values))
    assert prometheus_files([m.contract for m in registry])
