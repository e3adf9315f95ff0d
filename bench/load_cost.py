"""Dashboard load cost on the real Prometheus server, with 24 h of backfilled synthetic data.

For N modules: write their series as OpenMetrics (scaffold contracts, the label cardinality the demo
uses), backfill with `promtool tsdb create-blocks-from openmetrics`, start Prometheus on it, backfill the
generated recording rules with `promtool tsdb create-blocks-from rules`, restart, then run each
dashboard's queries as Grafana does on open (panels of collapsed rows wait until opened): `query_range`
over the last 6 h with the step of a ~1,600-pixel panel, instant queries at the end.
"""

from __future__ import annotations

import math
import re
import shutil
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

import attrs

from bench import synthetic
from bench.direct_overview import build_direct_overview
from dashbuild.discover import ModuleFile
from dashbuild.files import dump_yaml
from dashbuild.overview import build_overview
from dashbuild.pipeline import module_spec
from dashbuild.prometheus import recording_rules_file
from dashbuild.render import render_dashboard
from dashbuild.verify import PrometheusClient, plan_panel, resolve_variables, run_query
from moddash.contract import ModuleContract
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


def backfill(folder: Path, modules: Sequence[ModuleFile], end: int, hours: float) -> dict[str, float]:
    """Write `hours` of data for `modules` into `folder/data`; return the seconds each step took."""
    times = list(range(end - int(hours * 3600), end, SCRAPE_SECONDS))
    data, seconds = folder / "data", {}
    data.mkdir(parents=True)
    started = time.perf_counter()
    source = folder / "series.om"
    with source.open("w") as out:
        for index, module in enumerate(modules):
            out.write("\n".join(module_series(module.contract, index, times)))
            out.write("\n")
        out.write("# EOF\n")
    seconds["write OpenMetrics"] = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data)],
                   check=True, capture_output=True, timeout=3600)
    seconds["promtool create-blocks-from openmetrics"] = time.perf_counter() - started
    source.unlink()
    (folder / "prometheus.yml").write_text(f"global:\n  scrape_interval: {SCRAPE_SECONDS}s\n")
    rules = folder / "recording.yml"
    rules.write_bytes(dump_yaml(recording_rules_file([m.contract for m in modules])))
    started = time.perf_counter()
    with running_prometheus(folder, timeout=120) as url:
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "rules", f"--url={url}", f"--start={times[0]}",
                        f"--end={end}", "--eval-interval=60s", f"--output-dir={folder / 'rule-blocks'}", str(rules)],
                       check=True, capture_output=True, timeout=3600)
    for block in (folder / "rule-blocks").iterdir():
        shutil.move(str(block), data / block.name)
    seconds["promtool create-blocks-from rules"] = time.perf_counter() - started
    return seconds


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, flags=re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def wait_for_compaction(url: str, timeout: float = 900) -> float:
    """Wait until Prometheus has merged the backfilled blocks (as a long-running server would have).

    Backfilling writes one block per rule and 2 h range; Prometheus merges overlapping blocks in its
    compaction loop, which first runs a minute after start. Return the seconds waited.
    """
    started = time.perf_counter()
    initial = _metric(url, "prometheus_tsdb_blocks_loaded")
    stable_since, last = time.perf_counter(), initial
    while time.perf_counter() - started < timeout:
        time.sleep(2)
        blocks = _metric(url, "prometheus_tsdb_blocks_loaded")
        if blocks != last:
            stable_since, last = time.perf_counter(), blocks
        compacted = _metric(url, "prometheus_tsdb_compactions_total") > 0
        if compacted and blocks < initial and time.perf_counter() - stable_since > 10:
            return time.perf_counter() - started
    raise RuntimeError(f"Prometheus did not compact the backfilled blocks within {timeout} s")


def loaded_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the panels Grafana queries when the dashboard opens (not those of collapsed rows)."""
    return [p for p in dashboard.get("panels", []) if p.get("type") != "row"]


@attrs.frozen
class DashboardLoad:
    """The queries one dashboard runs on open, and how long Prometheus takes for them."""

    dashboard: str
    queries: int
    seconds: float
    empty: int


def time_dashboard(client: PrometheusClient, dashboard: dict[str, Any], end: float, runs: int) -> DashboardLoad:
    """Return the median time of all of a dashboard's on-open queries (variables first), run one after another."""
    resolved, variable_queries = resolve_variables(client, dashboard, end, QUERY_RANGE_SECONDS)

    def plan() -> list[Any]:
        return [q for panel in loaded_panels(dashboard)
                for q in plan_panel(dashboard, panel, QUERY_RANGE_SECONDS, SCRAPE_SECONDS, resolved)]

    planned = plan()
    empty = 0
    for query in planned:  # warm-up, and a check that every query has data
        answer = run_query(client, query, end, QUERY_RANGE_SECONDS)
        if answer.get("status") != "success":
            raise RuntimeError(f"{dashboard['title']}: {query.expr}: {answer.get('error')}")
        empty += not answer["data"]["result"]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        resolved_now, _count = resolve_variables(client, dashboard, end, QUERY_RANGE_SECONDS)
        for query in planned:
            run_query(client, query, end, QUERY_RANGE_SECONDS)
        samples.append(time.perf_counter() - started)
        assert resolved_now == resolved
    return DashboardLoad(str(dashboard["title"]), len(planned) + variable_queries, statistics.median(samples), empty)


@attrs.frozen
class LoadResult:
    """Load cost for one module count."""

    modules: int
    series_samples: int
    backfill_seconds: dict[str, float]
    loads: tuple[DashboardLoad, ...]


def measure(count: int, hours: float, runs: int, workdir: Path) -> LoadResult:
    """Return the load cost of the overview (recorded and direct) and of one module dashboard at `count`."""
    modules = synthetic.load(synthetic.compiled_sources(count))
    end = int(time.time()) // 60 * 60 - 120
    folder = workdir / f"n{count}"
    seconds = backfill(folder, modules, end, hours)
    pairs = [(m.contract, m.dashboard) for m in modules]
    dashboards = [render_dashboard(build_overview(pairs)), render_dashboard(build_direct_overview(pairs)),
                  render_dashboard(module_spec(modules[0]))]
    with running_prometheus(folder, timeout=120) as url:
        seconds["Prometheus compaction of the backfilled blocks"] = wait_for_compaction(url)
        client = PrometheusClient(url, timeout=120)
        loads = tuple(time_dashboard(client, d, end, runs) for d in dashboards)
    samples = count * (8 + 8 + 4 * 12 + 4 + 4 + 2 + 1 + 2 + 1) * int(hours * 3600 / SCRAPE_SECONDS)
    shutil.rmtree(folder)
    return LoadResult(count, samples, seconds, loads)
