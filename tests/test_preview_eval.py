"""The in-memory Prometheus of the previews (dashbuild.preview) against Debian's real Prometheus, and on known answers.

The differential test generates the demo's data for the three real modules, evaluates the recording rules, backfills
both (raw and recorded series) into a real Prometheus with `promtool tsdb create-blocks-from openmetrics`, then asks
both the same queries: every panel target of every generated dashboard as Grafana plans it, every `query_result`
variable, every rule expression, and a list of extra expressions for the functions no dashboard uses yet.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dashbuild.discover import discover
from dashbuild.preview.demo_data import Scraper, scrape_targets
from dashbuild.preview.in_memory import InMemoryPrometheus, demo_prometheus
from dashbuild.preview.pages import DataSource, generated_dashboards, preview_pages
from dashbuild.preview.rule_engine import load_groups
from dashbuild.preview.series_store import NAME, SeriesStore, is_stale, make_labels
from dashbuild.verify_client import PrometheusClient
from dashbuild.verify_plan import dashboard_range, flat_panels, plan_panel, resolve_variables, variable_query
from moddash.instrumentation.demo import ModuleTraffic
from moddash.instrumentation.metrics import ModuleMetrics
from panels.settings import SCRAPE_SECONDS
from tests.conftest import run_build
from tests.prometheus_server import running_prometheus

ROOT = Path(__file__).resolve().parent.parent
# 30 simulated minutes: the generator costs ~20 s per simulated hour on a busy 2-core machine, and this file must
# stay under a minute; 30 minutes still cover every window the panels and rules read but the SLO's longest ones.
HISTORY_SECONDS = 30 * 60
EXTRA_EXPRS = (
    'label_replace(up, "host", "$1", "instance", "([^:]+):.*")',
    'label_replace(up, "x", "${1}-$2$$", "job", "(prompt)-(.*)")',
    'label_join(up, "both", "/", "job", "module")',
    "sort_desc(sum by (module) (rate({__name__=~\".*_operations_total\"}[1m])))",
    "clamp(rate(prompt_manager_cost_total[1m]) * 1e4, 0.5, 2)",
    "clamp_min(-rate(prompt_manager_tokens_total[1m]), -1000)",
    "clamp_max(rate(prompt_manager_tokens_total[1m]), 1000)",
    "round(rate(prompt_manager_tokens_total[1m]), 0.5)",
    "abs(delta(prompt_manager_operation_duration_seconds_sum[1m]))",
    "ceil(irate(prompt_manager_operations_total[1m])) + floor(idelta(prompt_manager_operations_total[30s]))",
    "sqrt(rate(prompt_manager_tokens_total[1m])) + ln(rate(prompt_manager_tokens_total[1m]) + 1)",
    "exp(-rate(llm_provider_cost_total[1m]))",
    "changes(module:operations:rate1m[5m]) - resets(module:operations:rate1m[5m])",
    "quantile(0.3, rate(prompt_manager_operations_total[1m]))",
    "quantile by (status) (0.9, rate(prompt_manager_operations_total[1m]))",
    "stddev by (operation) (rate(prompt_manager_operations_total[1m]))",
    "stdvar without (status) (rate(prompt_manager_operations_total[1m]))",
    "min by (operation) (rate(prompt_manager_operations_total[1m]))",
    "max without (operation, status) (rate(prompt_manager_operations_total[1m]))",
    "avg(rate(prompt_manager_operations_total[1m]))",
    "count_values(\"ops\", round(rate(prompt_manager_operations_total[1m])))",
    "group by (job) (up)",
    "bottomk(2, rate(prompt_manager_operations_total[1m]))",
    # Ties in a range query over an aggregation's output are not compared: Prometheus walks that intermediate
    # matrix in Go map order, so its own answers differ from run to run (topk(1, count by (job) (up)) picks each
    # of the three jobs); over a selector, input order is label order, deterministic on both.
    "topk(1, up)",
    "bottomk(2, up)",
    "topk(3, prompt_manager_operations_total)",
    "absent(nope_total{job=\"x\", module=\"y\"})",
    "absent(up)",
    "absent_over_time(nope_total{job=\"z\"}[1m])",
    "timestamp(up)",
    "timestamp(sum(up))",
    "time() - timestamp(module:up:avg)",
    "scalar(sum(up)) * vector(2)",
    "count(up) > bool 2",
    "up == bool on (module) group_left module:up:avg",
    "up == bool on (job) group_left (module) module:up:avg",  # an error on both: many-to-many
    "rate(prompt_manager_operations_total[1m]) / on (operation) group_left sum by (operation) "
    "(rate(prompt_manager_operations_total[1m]))",
    "sum by (module) (rate(prompt_manager_operations_total[1m])) / ignoring (status) group_right "
    "sum by (module, status) (rate(prompt_manager_operations_total[1m]))",
    "up unless on (job) module:up:avg{module=\"llm-provider\"}",
    "up and module:up:avg",
    "up or vector(0)",
    "prompt_manager_operations_total > 100 < 1000",
    "2 * 3 + 1 - 2 ^ 2 % 3",
    "prompt_manager_operations_total offset 10m",
    "rate(prompt_manager_operations_total[2m] offset 1m)",
    "avg_over_time(module:operations:rate1m[10m]) + min_over_time(module:operations:rate1m[10m])",
    "max_over_time(up[1m]) + count_over_time(up[1m]) + last_over_time(up[1m]) + present_over_time(up[1m])",
    "stddev_over_time(module:operations:rate1m[10m]) + stdvar_over_time(module:operations:rate1m[10m])",
    "quantile_over_time(0.75, module:operations:rate1m[10m])",
    "histogram_quantile(0.5, rate(prompt_manager_operation_duration_seconds_bucket[1m]))",
    "histogram_quantile(1, sum by (le) (rate(prompt_manager_operation_duration_seconds_bucket[20s])))",
    "histogram_quantile(0, sum by (le) (rate(prompt_manager_operation_duration_seconds_bucket[20s])))",
    "sum by (le) (rate(prompt_manager_operation_duration_seconds_bucket[20s])) / 0",
    "-sum(rate(prompt_manager_operation_duration_seconds_created[1m]))",
)


# -- helpers -----------------------------------------------------------------------------------------------------


def _om_value(value: float) -> str:
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _om_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write_openmetrics(store: SeriesStore, path: Path) -> None:
    """Write every series of the store as OpenMetrics, family by family (a stale marker cannot be written)."""
    families: dict[str, list[Any]] = {}
    for series in store:
        families.setdefault(dict(series.labels)[NAME], []).append(series)
    with path.open("w") as out:
        for name in sorted(families):
            out.write(f"# TYPE {name} unknown\n")
            for series in families[name]:
                inner = ",".join(f'{k}="{_om_escape(v)}"' for k, v in series.labels if k != NAME)
                prefix = f"{name}{{{inner}}}" if inner else name
                for t, v in zip(series.times, series.values, strict=True):
                    assert not is_stale(v), "a stale marker cannot be backfilled"
                    out.write(f"{prefix} {_om_value(v)} {t / 1000}\n")
        out.write("# EOF\n")


def _number(text: str) -> float:
    return float(text)


def _close(a: str, b: str) -> bool:
    x, y = _number(a), _number(b)
    if x != x or y != y:
        return x != x and y != y
    return x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)


def _series(answer: dict[str, Any]) -> dict[str, list[Any]]:
    assert answer["status"] == "success", answer
    data = answer["data"]
    if data["resultType"] == "scalar":
        return {"scalar": [data["result"]]}
    out = {}
    for item in data["result"]:
        key = json.dumps(item["metric"], sort_keys=True)
        assert key not in out, f"duplicate series {key}"
        out[key] = item["values"] if "values" in item else [item["value"]]
    return out


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Return how two API answers differ (labels, timestamps, values to 1e-9 relative; NaN equals NaN; errors of the
    same errorType)."""
    if mine["status"] == "error" or theirs["status"] == "error":
        same = mine["status"] == theirs["status"] and mine.get("errorType") == theirs.get("errorType")
        return [] if same else [f"here {mine.get('error', 'success')}, on Prometheus {theirs.get('error', 'success')}"]
    a, b = _series(mine), _series(theirs)
    problems = []
    if set(a) != set(b):
        problems.append(f"series only here: {sorted(set(a) - set(b))[:3]}, only on Prometheus: "
                        f"{sorted(set(b) - set(a))[:3]}")
    for key in sorted(set(a) & set(b)):
        times_a, times_b = [p[0] for p in a[key]], [p[0] for p in b[key]]
        if times_a != times_b:
            problems.append(f"{key}: {len(times_a)} points here, {len(times_b)} on Prometheus "
                            f"(first {times_a[:1]} vs {times_b[:1]})")
            continue
        wrong = [(p[0], p[1], q[1]) for p, q in zip(a[key], b[key], strict=True) if not _close(p[1], q[1])]
        if wrong:
            problems.append(f"{key}: {len(wrong)} values differ, first {wrong[0]}")
    return problems


class Reference:
    """The in-memory Prometheus and the real one, holding the same data."""

    def __init__(self, mine: InMemoryPrometheus, theirs: PrometheusClient, end: int, files: dict[str, bytes]) -> None:
        self.mine, self.theirs, self.end, self.files = mine, theirs, end, files


def _files() -> dict[str, bytes]:
    paths = [*ROOT.glob("prometheus/**/*.yml"), *ROOT.glob("provisioning/dashboards/*.json")]
    return {path.relative_to(ROOT).as_posix(): path.read_bytes() for path in sorted(paths)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """Both Prometheus servers over 30 minutes of demo data ending three hours ago (backfill takes old blocks)."""
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        pytest.fail("promtool and prometheus are needed: apt-get install -y --no-install-recommends prometheus")
    files = _files()
    end = int(time.time()) // 60 * 60 - 3 * 3600
    contracts = [module.contract for module in discover(ROOT)]
    mine = demo_prometheus(contracts, files, files["prometheus/prometheus.yml"], end, HISTORY_SECONDS)
    folder = tmp_path_factory.mktemp("preview-eval")
    source = folder / "series.om"
    write_openmetrics(mine.store, source)
    (folder / "data").mkdir()
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(folder / "data")],
                   check=True, capture_output=True, timeout=120)
    (folder / "prometheus.yml").write_text(f"global:\n  scrape_interval: {SCRAPE_SECONDS}s\n")
    with running_prometheus(folder) as url:
        yield Reference(mine, PrometheusClient(url, timeout=30), end, files)


def test_preview_pages_from_prometheus_equal_those_from_memory(reference: Reference, tmp_path: Path) -> None:
    """`preview --prometheus URL` on the real server draws the pages the in-memory data draws, byte for byte."""
    out = tmp_path / "pages"
    done = run_build(ROOT, "preview", "--out", str(out), "--at", str(reference.end), "--range", f"{HISTORY_SECONDS}s",
                     "--prometheus", reference.theirs.base_url)
    assert done.returncode == 0, done.stderr
    source = DataSource(reference.mine, f"data: Prometheus at {reference.theirs.base_url}")
    mine = preview_pages(generated_dashboards(reference.files), source, reference.end, HISTORY_SECONDS)
    assert sorted(mine) == ["index.html", "llm-provider.html", "modules-overview.html", "prompt-manager.html",
                            "prompt-security.html"]
    assert {page.name: page.read_bytes() for page in out.glob("*.html")} == mine


# -- differential: every query the project asks ----------------------------------------------------------------


def _dashboards(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(body) for path, body in files.items() if path.endswith(".json")]


def test_every_panel_target_and_variable_matches_prometheus(reference: Reference) -> None:
    problems, count = [], 0
    for dashboard in _dashboards(reference.files):
        range_seconds = dashboard_range(dashboard)
        resolved_mine, _ = resolve_variables(reference.mine, dashboard, reference.end, range_seconds)
        resolved_theirs, _ = resolve_variables(reference.theirs, dashboard, reference.end, range_seconds)
        assert resolved_mine == resolved_theirs, dashboard["title"]
        for variable in dashboard.get("templating", {}).get("list", []):
            expr = variable_query(variable, range_seconds)
            if expr is not None:
                count += 1
                problems += [f"{dashboard['title']} ${variable['name']}: {p}" for p in differences(
                    reference.mine.query(expr, reference.end), reference.theirs.query(expr, reference.end))]
        for panel in flat_panels(dashboard):
            for query in plan_panel(dashboard, panel, range_seconds, SCRAPE_SECONDS, resolved_theirs):
                count += 1
                if query.instant:
                    answers = (reference.mine.query(query.expr, reference.end),
                               reference.theirs.query(query.expr, reference.end))
                else:
                    start = reference.end - range_seconds
                    answers = (reference.mine.query_range(query.expr, start, reference.end, query.step),
                               reference.theirs.query_range(query.expr, start, reference.end, query.step))
                problems += [f"{dashboard['title']} / {panel.get('title')} {query.ref_id} {query.expr}: {p}"
                             for p in differences(*answers)]
    assert count > 50
    assert not problems, "\n".join(problems)


def _rules(files: dict[str, bytes]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    found = []
    for path, body in files.items():
        if path.startswith("prometheus/rules/"):
            for group in (yaml.safe_load(body) or {}).get("groups", []):
                found += [(rule, group.get("interval", f"{SCRAPE_SECONDS}s"), group) for rule in group["rules"]]
    return found


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def test_every_rule_expression_matches_prometheus(reference: Reference) -> None:
    problems = []
    rules = _rules(reference.files)
    assert len(rules) > 100
    for rule, interval, _group in rules:
        step = _seconds(interval)
        start = (reference.end - HISTORY_SECONDS) // step * step + step
        mine = reference.mine.query_range(rule["expr"], start, reference.end, step)
        theirs = reference.theirs.query_range(rule["expr"], start, reference.end, step)
        problems += [f"{rule.get('record') or rule.get('alert')}: {rule['expr']}: {p}"
                     for p in differences(mine, theirs)]
    assert not problems, "\n".join(problems)


def test_recorded_series_equal_prometheus_evaluating_each_rule(reference: Reference) -> None:
    problems, compared = [], 0
    groups = load_groups(reference.files, reference.files["prometheus/prometheus.yml"])
    for group in groups:
        step = group.interval_ms // 1000
        start = (reference.end - HISTORY_SECONDS) // step * step + step
        for rule in group.rules:
            answer = reference.theirs.query_range(rule.expr, start, reference.end, step)
            expected = {}
            for item in answer["data"]["result"]:
                metric = {k: v for k, v in item["metric"].items() if k != NAME}
                metric.update(dict(rule.labels))
                metric[NAME] = rule.record
                expected[make_labels(metric)] = [(round(float(t) * 1000), v) for t, v in item["values"]]
            recorded = {s.labels: list(zip(s.times, s.values, strict=True)) for s in reference.mine.store
                        if dict(s.labels).get(NAME) == rule.record
                        and all(dict(s.labels).get(k) == v for k, v in rule.labels)}
            assert set(recorded) == set(expected), rule.record
            for labels, points in expected.items():
                compared += 1
                got = [(t, v) for t, v in recorded[labels] if start * 1000 <= t]
                if [t for t, _ in got] != [t for t, _ in points] or not all(
                        _close(repr(v), text) for (_, v), (_, text) in zip(got, points, strict=True)):
                    problems.append(f"{rule.record} {dict(labels)}")
    assert compared > 50
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("expr", EXTRA_EXPRS)
def test_functions_no_dashboard_uses_yet_match_prometheus(reference: Reference, expr: str) -> None:
    end, step = reference.end, 15
    start = end - HISTORY_SECONDS - 600
    assert not differences(reference.mine.query_range(expr, start, end, step),
                           reference.theirs.query_range(expr, start, end, step))
    assert not differences(reference.mine.query(expr, end - 7), reference.theirs.query(expr, end - 7))


def test_topk_ties_pick_the_same_series_and_order_as_prometheus(reference: Reference) -> None:
    for expr in ("topk(2, count by (job, instance) (up))", "bottomk(2, count by (job, instance) (up))",
                 "sort(count by (job) (up))"):
        mine, theirs = reference.mine.query(expr, reference.end), reference.theirs.query(expr, reference.end)
        assert [s["metric"] for s in mine["data"]["result"]] == [s["metric"] for s in theirs["data"]["result"]]


# -- the demo data --------------------------------------------------------------------------------------------


def test_a_scrape_reads_what_the_text_exposition_says() -> None:
    contract = discover(ROOT)[0].contract
    target = scrape_targets((ROOT / "prometheus/prometheus.yml").read_bytes())[contract.job]
    registry = CollectorRegistry()
    traffic = ModuleTraffic(contract, ModuleMetrics(contract, registry), 7)
    traffic.prime()
    scraper = Scraper(target)
    for now in (1000.0, 1005.0):
        traffic.tick(now, 5)
        text = generate_latest(registry).decode()
        samples = dict(scraper.samples(registry, now - 5))
        exposed = {scraper.labelled(sample.name, sample.labels): sample.value
                   for family in text_string_to_metric_families(text) for sample in family.samples}
        exposed[scraper.labelled("up", {})] = 1.0
        created = {labels for labels in samples if dict(labels)[NAME].endswith("_created")}
        assert created and set(samples) == set(exposed)
        assert all(samples[labels] == exposed[labels] for labels in samples if labels not in created)
        assert {samples[labels] for labels in created} == {995.0}
    instance = dict(next(iter(samples)))
    assert (instance["job"], instance["instance"]) == (contract.job, contract.target.address)


# -- known answers ---------------------------------------------------------------------------------------------


def _store(*series: tuple[dict[str, str], Sequence[tuple[float, float]]]) -> InMemoryPrometheus:
    store = SeriesStore()
    for labels, samples in series:
        for t, v in samples:
            store.append(make_labels(labels), round(t * 1000), v)
    return InMemoryPrometheus(store)


def _values(answer: dict[str, Any]) -> dict[str, float]:
    assert answer["status"] == "success", answer
    return {json.dumps(s["metric"], sort_keys=True): float(s["value"][1]) for s in answer["data"]["result"]}


COUNTER = ({NAME: "x_total", "job": "a"}, [(100, 10.0), (110, 20.0), (120, 30.0), (130, 40.0)])


def test_rate_extrapolates_to_the_zero_point_at_a_series_start() -> None:
    prom = _store(COUNTER)
    # 4 samples 10 s apart in [75, 135]: 30 more; the start is extrapolated to the zero point (10 s back, less than
    # the 25 s to the window's start) and the end by the 5 s to it: 30 * 45 / 30 = 45 over 60 s.
    assert _values(prom.query("increase(x_total[60s])", 135)) == {'{"job": "a"}': 45.0}
    assert _values(prom.query("rate(x_total[60s])", 135)) == {'{"job": "a"}': 0.75}


def test_rate_extrapolates_half_an_interval_past_a_series_end() -> None:
    prom = _store(COUNTER)
    # In [110, 170]: 20, 30, 40; the start is on a sample, the end 40 s away (beyond 1.1 intervals): half an
    # interval is added, 20 * 25 / 20.
    assert _values(prom.query("increase(x_total[60s])", 170)) == {'{"job": "a"}': 25.0}
    assert _values(prom.query("rate(x_total[60s])", 200)) == {}  # one sample left: no rate


def test_counter_reset_adds_the_value_before_the_reset() -> None:
    prom = _store(({NAME: "x_total"}, [(100, 10.0), (110, 20.0), (120, 5.0), (130, 15.0)]))
    assert _values(prom.query("increase(x_total[30s])", 130)) == {"{}": 25.0}
    assert _values(prom.query("resets(x_total[30s])", 130)) == {"{}": 1.0}
    assert _values(prom.query("irate(x_total[30s])", 120)) == {"{}": 0.5}  # a drop: the new value over 10 s
    assert _values(prom.query("delta(x_total[30s])", 130)) == {"{}": 5.0}


def test_lookback_is_five_minutes_inclusive() -> None:
    prom = _store(({NAME: "g", "k": "v"}, [(100, 3.0)]))
    assert _values(prom.query("g", 400)) == {'{"__name__": "g", "k": "v"}': 3.0}
    assert _values(prom.query("g", 400.001)) == {}
    assert _values(prom.query("g", 99.999)) == {}


def test_histogram_quantile_edge_cases() -> None:
    def buckets(*pairs: tuple[str, float]) -> InMemoryPrometheus:
        return _store(*(({NAME: "h_bucket", "le": le}, [(100, count)]) for le, count in pairs))

    normal = buckets(("0.1", 2.0), ("0.5", 6.0), ("+Inf", 10.0))
    assert _values(normal.query("histogram_quantile(0.5, h_bucket)", 100)) == {"{}": 0.4}
    assert _values(normal.query("histogram_quantile(0.99, h_bucket)", 100)) == {"{}": 0.5}  # in +Inf: the last bound
    assert _values(normal.query("histogram_quantile(2, h_bucket)", 100)) == {"{}": math.inf}
    assert _values(normal.query("histogram_quantile(-1, h_bucket)", 100)) == {"{}": -math.inf}
    empty = buckets(("0.1", 0.0), ("0.5", 0.0), ("+Inf", 0.0))
    assert math.isnan(_values(empty.query("histogram_quantile(0.5, h_bucket)", 100))["{}"])
    no_inf = buckets(("0.1", 1.0), ("0.5", 2.0))
    assert math.isnan(_values(no_inf.query("histogram_quantile(0.5, h_bucket)", 100))["{}"])
    nan_bucket = buckets(("1", math.nan), ("+Inf", 10.0))
    assert _values(nan_bucket.query("histogram_quantile(0.5, h_bucket)", 100)) == {"{}": 1.0}
    falling = buckets(("0.1", 6.0), ("0.5", 4.0), ("+Inf", 10.0))  # made monotonic: 6, 6, 10
    assert _values(falling.query("histogram_quantile(0.5, h_bucket)", 100)) == {"{}": 0.1 * (5 / 6)}


def test_group_left_copies_labels_from_the_one_side() -> None:
    prom = _store(({NAME: "a", "job": "j", "i": "1"}, [(100, 2.0)]), ({NAME: "a", "job": "j", "i": "2"}, [(100, 3.0)]),
                  ({NAME: "b", "job": "j", "team": "t"}, [(100, 10.0)]))
    assert _values(prom.query("a * on (job) group_left (team) b", 100)) == {
        '{"i": "1", "job": "j", "team": "t"}': 20.0, '{"i": "2", "job": "j", "team": "t"}': 30.0}
    answer = prom.query("a * on (job) b", 100)
    assert answer["status"] == "error" and "many-to-one matching must be explicit" in answer["error"]


def test_or_keeps_the_right_side_where_the_left_has_no_match() -> None:
    prom = _store(({NAME: "a", "k": "1"}, [(100, 1.0)]), ({NAME: "b", "k": "1"}, [(100, 2.0)]),
                  ({NAME: "b", "k": "2", "x": "y"}, [(100, 3.0)]))
    assert _values(prom.query("a or b", 100)) == {'{"__name__": "a", "k": "1"}': 1.0,
                                                  '{"__name__": "b", "k": "2", "x": "y"}': 3.0}
    assert _values(prom.query("sum(nothing) or vector(0)", 100)) == {"{}": 0.0}


def test_topk_ties_are_broken_by_input_order() -> None:
    prom = _store(*(({NAME: "t", "n": str(n)}, [(100, 1.0)]) for n in range(4)))
    for _ in range(3):
        answer = prom.query("topk(2, t)", 100)
        assert [s["metric"]["n"] for s in answer["data"]["result"]] == ["0", "1"]


def test_bool_comparisons_and_unless() -> None:
    prom = _store(({NAME: "a", "k": "1"}, [(100, 1.0)]), ({NAME: "a", "k": "2"}, [(100, 5.0)]),
                  ({NAME: "b", "k": "2"}, [(100, 0.0)]))
    assert _values(prom.query("a > bool 2", 100)) == {'{"k": "1"}': 0.0, '{"k": "2"}': 1.0}
    assert _values(prom.query("a > 2", 100)) == {'{"__name__": "a", "k": "2"}': 5.0}
    assert _values(prom.query("2 < a", 100)) == {'{"__name__": "a", "k": "2"}': 5.0}
    assert prom.query("1 < bool 2", 100)["data"] == {"resultType": "scalar", "result": [100.0, "1"]}
    assert _values(prom.query("a unless b", 100)) == {'{"__name__": "a", "k": "1"}': 1.0}


def test_values_are_formatted_as_prometheus_formats_them() -> None:
    prom = _store(({NAME: "v"}, [(100, 0.0)]))
    for expr, text in (("vector(1e-7)", "0.0000001"), ("vector(1e21)", "1000000000000000000000"),
                       ("vector(2)", "2"), ("vector(0.1 + 0.2)", "0.30000000000000004"), ("v / 0", "NaN"),
                       ("vector(1) / 0", "+Inf"), ("-vector(1) / 0", "-Inf")):
        assert prom.query(expr, 100)["data"]["result"][0]["value"][1] == text, expr


def test_range_query_answer_shape() -> None:
    prom = _store(({NAME: "v", "a": "b"}, [(100, 1.0), (110, 2.0)]))
    assert prom.query_range("v", 100, 120, 10) == {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {NAME: "v", "a": "b"}, "values": [[100.0, "1"], [110.0, "2"], [120.0, "2"]]}]}}
    assert prom.query_range("time()", 100, 110, 10)["data"]["result"] == [
        {"metric": {}, "values": [[100.0, "100"], [110.0, "110"]]}]
    assert prom.requests == 2


# -- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "error_type", "message"), [
    ("predict_linear(v[5m], 60)", "execution", "function predict_linear()"),
    ("rate(v[5m:1m])", "execution", "subquery"),
    ("v @ 100", "execution", "@ modifier"),
    ("label_values(v, a)", "bad_data", "cannot parse"),
    ("sum(", "bad_data", "cannot parse"),
    ("v{a=~\"(\"}", "bad_data", "cannot parse"),
])
def test_unsupported_or_invalid_queries_answer_an_error(expr: str, error_type: str, message: str) -> None:
    prom = _store(({NAME: "v", "a": "b"}, [(100, 1.0)]))
    for answer in (prom.query(expr, 100), prom.query_range(expr, 0, 100, 10)):
        assert answer["status"] == "error" and answer["errorType"] == error_type, answer
        assert message in answer["error"]


def test_range_query_refuses_what_prometheus_refuses() -> None:
    prom = _store(({NAME: "v"}, [(100, 1.0)]))
    assert "range vector" in prom.query_range("v[1m]", 0, 100, 10)["error"]
    assert prom.query_range("v", 100, 0, 10)["errorType"] == "bad_data"
    assert prom.query_range("v", 0, 100, 0)["errorType"] == "bad_data"
    assert "11,000" in prom.query_range("v", 0, 1e6, 1)["error"]
    assert prom.query("v[1m]", 100)["data"] == {"resultType": "matrix", "result": [
        {"metric": {NAME: "v"}, "values": [[100.0, "1"]]}]}
