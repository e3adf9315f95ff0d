"""Dashboard load cost on the real Prometheus server, with backfilled synthetic data.

For N scaffolded modules: their raw series (scaffold contracts, the label cardinality the demo uses, one
sample every SCRAPE_SECONDS) and the recorded series the dashboards read (the recording rules' names and
labels, one sample per evaluation interval: `SCRAPE_INTERVAL` for `module:*` and `all:*`, the SLO group's
interval for `module:slo_*`) are written as OpenMetrics and backfilled with
`promtool tsdb create-blocks-from openmetrics`. The recorded series are written, not evaluated by
`promtool tsdb create-blocks-from rules`: that writes one block per rule, thousands at 300 modules, which no
running server has. Prometheus is then started on each data folder and each dashboard's queries are run as
Grafana runs them on open (panels of collapsed rows wait until opened): the variables first, `query_range`
over the last 6 h with the step of a ~1,600-pixel panel, instant queries at the end, one after another. Each
collapsed row's queries are then timed apart, as opening it runs them.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from itertools import accumulate
from pathlib import Path
from typing import Any

import attrs

from bench import synthetic
from dashbuild.discover import ModuleFile
from dashbuild.files import dump_json
from dashbuild.overview import build_overview
from dashbuild.pipeline import module_spec
from dashbuild.render import render_dashboard
from dashbuild.verify import PlannedQuery, PrometheusClient, plan_panel, resolve_variables, run_query
from moddash.contract import ModuleContract
from panels import promql
from panels.settings import SCRAPE_INTERVAL
from panels.settings import SCRAPE_SECONDS as PROJECT_SCRAPE_SECONDS
from rules import slo
from rules.recording import module_recording_rules, recording_rules
from tests.prometheus_server import running_prometheus

SCRAPE_SECONDS = 30
QUERY_RANGE_SECONDS = 6 * 3600
OPERATIONS = ("create", "render", "search", "update")
STATUS_ERROR = 0.02
ERROR_TYPES = ("TimeoutError", "ValidationError")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _cdf(value: float, median: float, sigma: float = 0.6) -> float:
    return 0.5 * (1 + math.erf(math.log(value / median) / (sigma * math.sqrt(2))))


def module_series(contract: ModuleContract, index: int, times: Sequence[int]) -> Iterator[str]:
    """Yield OpenMetrics lines of one module's series over `times` (label cardinality as in the demo)."""
    labels = f'instance="host:{contract.target.port}",job="{contract.job}",module="{contract.slug}"'
    phase = index * 0.7
    load = [1 + 0.5 * math.sin(2 * math.pi * t / 86400 + phase) for t in times]
    cumulative = list(accumulate(value * SCRAPE_SECONDS for value in load))  # per unit rate, per second

    def family(name: str, rows: list[tuple[str, float]]) -> Iterator[str]:
        yield f"# TYPE {name} unknown"
        for extra, rate in rows:
            series = f"{name}{{{labels}{extra}}}"
            yield from (f"{series} {rate * c:.6f} {t}" for c, t in zip(cumulative, times, strict=True))

    name = contract.name
    base = 2.0 + (index % 5)  # operations per second, varying across modules
    per_op = [(op, base / (rank + 1.5)) for rank, op in enumerate(OPERATIONS)]
    total = sum(rate for _, rate in per_op)
    yield from family(f"{name}_operations_total", [
        (f',operation="{op}",status="{status}"', rate * share) for op, rate in per_op
        for status, share in (("success", 1 - STATUS_ERROR), ("error", STATUS_ERROR))])
    yield from family(f"{name}_errors_total", [
        (f',error_type="{kind}",operation="{op}"', rate * STATUS_ERROR / len(ERROR_TYPES)) for op, rate in per_op
        for kind in ERROR_TYPES])
    for rank, (op, rate) in enumerate(per_op):
        median = 0.04 * (rank + 1)
        yield from family(f"{name}_operation_duration_seconds_bucket", [
            (f',le="{le}",operation="{op}"', rate * _cdf(le, median)) for le in BUCKETS] + [
            (f',le="+Inf",operation="{op}"', rate)])
    yield from family(f"{name}_operation_duration_seconds_count",
                      [(f',operation="{op}"', rate) for op, rate in per_op])
    yield from family(f"{name}_operation_duration_seconds_sum",
                      [(f',operation="{op}"', rate * 0.06 * (rank + 1)) for rank, (op, rate) in enumerate(per_op)])
    yield from family(f"{name}_tokens_total", [(',type="prompt"', total * 400), (',type="completion"', total * 150)])
    yield from family(f"{name}_cost_total", [("", total * 550 * 0.000004)])
    yield from family(f"{name}_cache_hits_total", [("", total * 0.8)])
    yield from family(f"{name}_cache_misses_total", [("", total * 0.2)])
    yield "# TYPE up unknown"
    yield from (f"up{{{labels}}} 1 {t}" for t in times)


def _references(expr: str, names: Iterable[str]) -> set[str]:
    return {name for name in names if re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr)}


@attrs.frozen
class Recorded:
    """A recorded series as a rule writes it: its name and labels, one sample per evaluation interval (and the
    rule's expression, the module it belongs to)."""

    record: str
    labels: tuple[tuple[str, str], ...]
    interval_seconds: int
    module: str
    expr: str


def recorded_series(contracts: Sequence[ModuleContract], queried: str) -> list[Recorded]:
    """Return the series of the recording rules that the dashboards' queries (`queried`, their JSON text) read,
    directly or through other rules: each rule's name and static labels (every rule aggregates its expression to
    one series with no other label; tests/test_bench.py checks this on Prometheus) at its group's evaluation
    interval."""
    per_module = [(c.slug, rule, int(promql.seconds(SCRAPE_INTERVAL))) for c in contracts
                  for rule in module_recording_rules(c)]
    per_module += [(c.slug, rule, int(promql.seconds(slo.EVALUATION_INTERVAL))) for c in contracts
                   for rule in slo.recording_rules(slo.slo_spec(c))]
    total = [("", rule, int(promql.seconds(SCRAPE_INTERVAL))) for rule in recording_rules(contracts)
             if rule.record.startswith("all:")]
    everything = [*per_module, *total]
    names = {rule.record for _, rule, _ in everything}
    reads: dict[str, set[str]] = {}
    for _, rule, _ in everything:
        reads.setdefault(rule.record, set()).update(_references(rule.expr, names) - {rule.record})
    needed, todo = set(), _references(queried, names)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo |= reads[name]
    return [Recorded(rule.record, rule.labels, interval, module, rule.expr) for module, rule, interval in everything
            if rule.record in needed]


def _recorded_value(series: Recorded, index: int, load: float) -> float:
    # Values do not change which samples a query reads; they only have to be plausible and differ by module.
    if series.record.endswith(":up:avg"):
        return 1.0
    if "ratio" in series.record:
        return min(0.999, 0.01 * (1 + index % 5) * load)
    return (2.0 + index % 5) * load


def recorded_lines(series: Sequence[Recorded], modules: Sequence[str], end: int, hours: float) -> Iterator[str]:
    """Yield OpenMetrics lines of the recorded series, family by family (a family's series are written together)."""
    order = {slug: index for index, slug in enumerate(modules)}
    by_record: dict[str, list[Recorded]] = {}
    for each in series:
        by_record.setdefault(each.record, []).append(each)
    for record, members in by_record.items():
        yield f"# TYPE {record} unknown"
        for each in members:
            index = order.get(each.module, 0)
            labels = ",".join(f'{k}="{v}"' for k, v in each.labels)
            for t in range(end - int(hours * 3600), end, each.interval_seconds):
                load = 1 + 0.5 * math.sin(2 * math.pi * t / 86400 + index * 0.7)
                yield f"{record}{{{labels}}} {_recorded_value(each, index, load):.6f} {t}"


def backfill(folder: Path, modules: Sequence[ModuleFile], end: int, hours: float, queried: str) -> dict[str, float]:
    """Write `hours` of data for `modules` into `folder/data`: their raw series, and the recorded series the
    dashboards read (`queried`: their JSON); return the seconds each step took."""
    times = list(range(end - int(hours * 3600), end, SCRAPE_SECONDS))
    data, seconds_taken = folder / "data", {}
    data.mkdir(parents=True)
    started = time.perf_counter()
    source = folder / "series.om"
    contracts = [m.contract for m in modules]
    with source.open("w") as out:
        for index, module in enumerate(modules):
            out.write("\n".join(module_series(module.contract, index, times)))
            out.write("\n")
        for line in recorded_lines(recorded_series(contracts, queried), [c.slug for c in contracts], end, hours):
            out.write(line + "\n")
        out.write("# EOF\n")
    seconds_taken["write OpenMetrics"] = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data)],
                   check=True, capture_output=True, timeout=7200)
    seconds_taken["promtool create-blocks-from openmetrics"] = time.perf_counter() - started
    source.unlink()
    (folder / "prometheus.yml").write_text(f"global:\n  scrape_interval: {SCRAPE_SECONDS}s\n")
    return seconds_taken


def loaded_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the panels Grafana queries when the dashboard opens (not those of collapsed rows)."""
    return [p for p in dashboard.get("panels", []) if p.get("type") != "row"]


def collapsed_rows(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the collapsed rows, whose panels Grafana queries when the row is opened."""
    return [p for p in dashboard.get("panels", []) if p.get("type") == "row" and p.get("collapsed")]


@attrs.frozen
class DashboardLoad:
    """The queries one dashboard runs on open, and how long Prometheus takes for them, run by run."""

    dashboard: str
    queries: int
    seconds: tuple[float, ...]
    empty: int
    # What each load spent, by part: the variables' queries together, then each panel query (title and ref id).
    parts: tuple[tuple[str, tuple[float, ...]], ...] = ()
    # Each collapsed row opened after the load: its title, its query count and the seconds its queries took.
    opened: tuple[tuple[str, int, tuple[float, ...]], ...] = ()


@attrs.frozen
class Dataset:
    """A Prometheus data folder for `modules` scaffolded modules, and the dashboards measured on it."""

    modules: int
    folder: Path
    end: int
    dashboards: tuple[tuple[dict[str, Any], int], ...]  # (dashboard JSON, the scrape interval it is planned with)
    backfill_seconds: dict[str, float]


def prepare(count: int, hours: float, workdir: Path) -> Dataset:
    """Backfill `hours` of data for `count` scaffolded modules; the overview and the first module's dashboard are
    measured on it."""
    modules = synthetic.load(synthetic.compiled_sources(count))
    end = int(time.time()) // 60 * 60 - 120
    overview = render_dashboard(build_overview([(m.contract, m.dashboard) for m in modules]))
    module = render_dashboard(module_spec(modules[0]))
    folder = workdir / f"n{count}"
    seconds_taken = backfill(folder, modules, end, hours, (dump_json(overview) + dump_json(module)).decode())
    # The overview reads recorded series, evaluated every SCRAPE_INTERVAL as on the real server; the module
    # dashboard raw series, here one sample per SCRAPE_SECONDS.
    return Dataset(count, folder, end, ((overview, PROJECT_SCRAPE_SECONDS), (module, SCRAPE_SECONDS)), seconds_taken)


class _Timed:
    """One dashboard on one server: its planned queries, run as Grafana runs them on open."""

    def __init__(self, client: PrometheusClient, dashboard: dict[str, Any], scrape_seconds: int, end: int) -> None:
        self.client, self.dashboard, self.end = client, dashboard, end
        self.resolved, self.variable_queries = resolve_variables(client, dashboard, end, QUERY_RANGE_SECONDS)
        self.planned = [(f"{panel['title']} {q.ref_id}", q) for panel in loaded_panels(dashboard)
                        for q in plan_panel(dashboard, panel, QUERY_RANGE_SECONDS, scrape_seconds, self.resolved)]
        self.rows = [(str(row["title"]), [q for panel in row.get("panels", []) for q in plan_panel(
            dashboard, panel, QUERY_RANGE_SECONDS, scrape_seconds, self.resolved)])
            for row in collapsed_rows(dashboard)]
        self.empty = 0
        for _label, query in self.planned:  # a warm-up, and a count of queries without data
            self.empty += not self._run(query)["data"]["result"]
        for _title, queries in self.rows:
            for query in queries:
                self._run(query)
        self.samples: list[float] = []
        self.parts: dict[str, list[float]] = {}
        self.opened: dict[str, list[float]] = {}

    def _run(self, query: PlannedQuery) -> dict[str, Any]:
        answer = run_query(self.client, query, self.end, QUERY_RANGE_SECONDS)
        if answer.get("status") != "success":
            raise RuntimeError(f"{self.dashboard['title']}: {query.expr}: {answer.get('error')}")
        return answer

    def load(self) -> None:
        """Time one load: the variables' queries first, then every panel query, one after another."""
        started = time.perf_counter()
        resolved, _count = resolve_variables(self.client, self.dashboard, self.end, QUERY_RANGE_SECONDS)
        times = [("variables", time.perf_counter())]
        for label, query in self.planned:
            run_query(self.client, query, self.end, QUERY_RANGE_SECONDS)
            times.append((label, time.perf_counter()))
        self.samples.append(times[-1][1] - started)
        for (label, finished), (_, before) in zip(times, [("", started), *times[:-1]], strict=True):
            self.parts.setdefault(label, []).append(finished - before)
        if resolved != self.resolved:
            raise AssertionError(f"{self.dashboard['title']}: the top-5 variables changed between loads")
        for title, queries in self.rows:
            started = time.perf_counter()
            for query in queries:
                run_query(self.client, query, self.end, QUERY_RANGE_SECONDS)
            self.opened.setdefault(title, []).append(time.perf_counter() - started)

    def result(self) -> DashboardLoad:
        """Return the loads measured."""
        return DashboardLoad(str(self.dashboard["title"]), len(self.planned) + self.variable_queries,
                             tuple(self.samples), self.empty,
                             tuple((label, tuple(values)) for label, values in self.parts.items()),
                             tuple((title, len(queries), tuple(self.opened.get(title, ())))
                                   for title, queries in self.rows))


@attrs.frozen
class LoadResult:
    """Load cost at one module count."""

    modules: int
    backfill_seconds: dict[str, float]
    loads: tuple[DashboardLoad, ...]


def measure(datasets: Sequence[Dataset], runs: int) -> list[LoadResult]:
    """Serve every dataset at once and time each dashboard's load `runs` times, interleaved across datasets and
    dashboards (after one warm-up load each)."""
    with ExitStack() as stack:
        urls = [stack.enter_context(running_prometheus(d.folder, timeout=300)) for d in datasets]
        timed = [[_Timed(PrometheusClient(url, timeout=300), dashboard, scrape, d.end) for dashboard, scrape in
                  d.dashboards] for d, url in zip(datasets, urls, strict=True)]
        for _ in range(runs):
            for dashboards in timed:
                for each in dashboards:
                    each.load()
    return [LoadResult(d.modules, d.backfill_seconds, tuple(each.result() for each in dashboards))
            for d, dashboards in zip(datasets, timed, strict=True)]
