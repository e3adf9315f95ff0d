"""`verify` as the troubleshooting tool, on real Prometheus servers (no mocks).

1. The demo modules behind the generated scrape config and rules: healthy, `verify --strict` passes; then
   one module is stopped and another restarted with one metric renamed, and within three scrape intervals
   (+ rule evaluation) verify names the down module with Prometheus' error and marks exactly the targets
   that read the stopped module's or the renamed metric's series (found by reading the generated
   dashboards, not by knowing their queries) stale or no series; every other target stays ok.
2. A small exporter with known series, targets that fail in different ways and a rule file: every status
   and cause, and a bounded number of queries.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import pytest
import yaml

from dashbuild.discover import discover
from dashbuild.provisioning import DASHBOARDS_DIR
from dashbuild.verify import (
    PrometheusClient,
    Report,
    TargetResult,
    flat_panels,
    load_dashboards,
    text_lines,
    verify,
)
from dashbuild.verify_shape import query_shape
from moddash.contract import COUNTER, ModuleContract
from moddash.instrumentation.demo import Demo, start_demo
from tests.conftest import REPO, BuildRunner, free_port
from tests.prometheus_server import running_prometheus

T = TypeVar("T")
SCRAPE_SECONDS = 5  # the generated prometheus.yml's scrape and evaluation interval
NOT_OK = ("stale", "no series")


def wait_for(check: Callable[[], T | None], seconds: float, what: str, last: Callable[[], str]) -> T:
    """Return the first truthy result of `check`, polled every half second; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {seconds:.0f} s; last report:\n{last()}")
        time.sleep(0.5)


def report_text(report: Report | None) -> str:
    """Return a report's results as text, for failure messages."""
    if report is None:
        return "(none)"
    health = [f"{t.module or t.job}: {t.health} {t.last_error}" for t in report.health.targets]
    return "\n".join(health + [f"{r.status}: {r.dashboard} / {r.panel} / {r.ref_id}: {r.detail}"
                               for r in report.results])


# 1. The demo with a module stopped and a metric renamed --------------------------------------------------------


@attrs.define
class Modules:
    """One demo per module (so each can be stopped alone), and the ports Prometheus scrapes."""

    contracts: dict[str, ModuleContract]
    demos: dict[str, Demo]
    ports: dict[str, int]

    def stop(self, name: str) -> None:
        """Stop one module's exporter and traffic."""
        self.demos.pop(name).stop()

    def restart(self, contract: ModuleContract) -> None:
        """Serve a module again on its port, from `contract`."""
        self.stop(contract.name)
        self.demos[contract.name] = start_demo([contract], {contract.name: self.ports[contract.name]})


@pytest.fixture(scope="module")
def modules() -> Iterator[Modules]:
    """Return the demo modules, each serving on its own random loopback port."""
    contracts = {m.contract.name: m.contract for m in discover(REPO)}
    demos = {name: start_demo([c], {name: 0}) for name, c in contracts.items()}
    ports = {name: int(demo.urls[name].split("/")[2].rsplit(":", 1)[1]) for name, demo in demos.items()}
    running = Modules(contracts, demos, ports)
    yield running
    for name in list(running.demos):
        running.stop(name)


def generated_config(ports_by_job: dict[str, int]) -> dict[str, Any]:
    """Return the generated prometheus.yml with only the module jobs, each pointed at its loopback port."""
    config: dict[str, Any] = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    jobs = [job for job in config["scrape_configs"] if job["job_name"] in ports_by_job]
    assert {job["job_name"] for job in jobs} == set(ports_by_job), "every module has a scrape job"
    for job in jobs:
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{ports_by_job[job['job_name']]}"]
    config["scrape_configs"] = jobs
    config.pop("alerting", None)  # no Alertmanager here; the alert rules still evaluate
    return config


@pytest.fixture(scope="module")
def demo_prometheus(modules: Modules, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the URL of a real Prometheus scraping the demo with the generated config and rules."""
    folder = tmp_path_factory.mktemp("faults")
    ports = {c.slug: modules.ports[name] for name, c in modules.contracts.items()}
    (folder / "prometheus.yml").write_text(yaml.safe_dump(generated_config(ports)))
    shutil.copytree(REPO / "prometheus" / "rules", folder / "rules")
    with running_prometheus(folder) as url:
        yield url


def generated_dashboards() -> list[dict[str, Any]]:
    """Return the generated dashboards as verify reads them."""
    return load_dashboards(REPO, DASHBOARDS_DIR)


def exprs_by_target(dashboards: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    """Return every target's PromQL as written in the dashboard, by (dashboard title, panel title, refId)."""
    return {(str(d["title"]), str(p["title"]), str(t["refId"])): str(t["expr"])
            for d in dashboards for p in flat_panels(d) for t in p.get("targets", [])}


def renamable_metric(contract: ModuleContract, dashboards: list[dict[str, Any]]) -> str | None:
    """Return a counter of the module that its dashboards query and no recording rule reads, or None."""
    rules = (REPO / "prometheus" / "rules" / "modules.recording.yml").read_text()
    exprs = " ".join(exprs_by_target(dashboards).values())
    used = [m.name for m in contract.metrics
            if m.type == COUNTER and re.search(rf"\b{m.name}\b", exprs) and not re.search(rf"\b{m.name}\b", rules)]
    return sorted(used)[0] if used else None


def renamed(contract: ModuleContract, old: str, new: str) -> ModuleContract:
    """Return the contract with one metric renamed, as a service that renamed it would expose."""
    metrics = tuple(attrs.evolve(m, name=new) if m.name == old else m for m in contract.metrics)
    return attrs.evolve(contract, metrics=metrics)


def faults_shown(report: Report, down: ModuleContract, affected: set[tuple[str, str, str]]) -> bool:
    """Return True once the report shows exactly the expected faults."""
    down_targets = report.health.down()
    if [t.module for t in down_targets] != [down.slug] or "connection refused" not in down_targets[0].last_error:
        return False
    not_ok = {(r.dashboard, r.panel, r.ref_id) for r in report.results if r.status != "ok"}
    return not_ok == affected and all(r.status in NOT_OK for r in report.results if r.status != "ok")


def test_verify_names_a_down_module_and_a_renamed_metric(modules: Modules, demo_prometheus: str,
                                                         build_cli: BuildRunner) -> None:
    client = PrometheusClient(demo_prometheus)
    dashboards = generated_dashboards()
    last: list[Report] = []

    def check_healthy() -> Report | None:
        last[:] = [verify(client, dashboards, time.time())]
        report = last[0]
        return report if not report.health.failures() and all(r.status == "ok" for r in report.results) else None

    wait_for(check_healthy, 150, "every target ok", lambda: report_text(last[0] if last else None))
    healthy = build_cli(REPO, "verify", "--prometheus", demo_prometheus, "--strict")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr

    candidates = sorted(modules.contracts.values(), key=lambda c: c.name)
    target = next(c for c in reversed(candidates) if renamable_metric(c, dashboards))
    old = renamable_metric(target, dashboards)
    assert old is not None
    new = old.removesuffix("_total") + "_renamed_total"
    down = next(c for c in candidates if c.name != target.name)
    exprs = exprs_by_target(dashboards)
    affected = {key for key, expr in exprs.items() if re.search(rf"\b{down.name}_\w+", expr)
                or re.search(rf"\b{old}\b", expr)}
    assert affected and len(affected) < len(exprs)

    modules.stop(down.name)
    modules.restart(renamed(target, old, new))

    def check_faults() -> Report | None:
        last[:] = [verify(client, dashboards, time.time())]
        return last[0] if faults_shown(last[0], down, affected) else None

    report = wait_for(check_faults, 3 * SCRAPE_SECONDS + SCRAPE_SECONDS + 5, "the down module and the renamed metric",
                      lambda: report_text(last[0] if last else None))
    renamed_targets = [r for r in report.results if re.search(rf"\b{old}\b", exprs[(r.dashboard, r.panel, r.ref_id)])]
    assert renamed_targets and all(old in r.detail and "no longer exposes it" in r.detail
                                   for r in renamed_targets), report_text(report)
    assert all(f"target {down.job} is down" in r.detail for r in report.results
               if r.status == "stale" and r not in renamed_targets), report_text(report)
    assert_cli_names_the_faults(build_cli, demo_prometheus, down, affected)


def assert_cli_names_the_faults(build_cli: BuildRunner, url: str, down: ModuleContract,
                                affected: set[tuple[str, str, str]]) -> None:
    """Check the text matrix, the exit codes and the JSON report of the CLI once the faults show."""
    text = build_cli(REPO, "verify", "--prometheus", url)
    assert text.returncode == 1, text.stdout + text.stderr  # a down module fails even without --strict
    lines = text.stdout.splitlines()
    down_lines = [line for line in lines if line.startswith("  down ")]
    assert len(down_lines) == 1 and down.slug in down_lines[0] and "connection refused" in down_lines[0], text.stdout
    assert lines.index(down_lines[0]) < min(i for i, line in enumerate(lines) if line.startswith("  ok "))
    stale_or_missing = [line for line in lines if line.startswith(("  stale ", "  no series "))]
    assert len(stale_or_missing) == len(affected), text.stdout

    answer = build_cli(REPO, "verify", "--prometheus", url, "--format", "json", "--strict")
    assert answer.returncode == 1 and not answer.stderr
    report = json.loads(answer.stdout)
    assert report["exit_code"] == 1 and report["mode"] == "now" and report["modules_down"] == [down.slug]
    assert {t["module"]: t["health"] for t in report["targets"]}[down.slug] == "down"
    results = {(d["title"], p["title"], t["ref_id"]): t["status"]
               for d in report["dashboards"] for p in d["panels"] for t in p["targets"]}
    assert {key for key, status in results.items() if status != "ok"} == affected
    assert report["counts"]["ok"] == len(results) - len(affected)
    assert sum(report["counts"].values()) == len(results)


# 2. Known series: every status and cause ------------------------------------------------------------------------


class Exposition(BaseHTTPRequestHandler):
    """Serves the server's exposition on /metrics, a broken one on /garbage, 404 elsewhere."""

    def do_GET(self) -> None:
        """Answer a scrape."""
        server = cast(ExporterServer, self.server)
        pages = {"/metrics": server.text, "/garbage": "this is { not an exposition\n"}
        body = pages.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        data = (body or "404 page not found\n").encode()
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class ExporterServer(ThreadingHTTPServer):
    """A loopback exporter whose exposition a test can change."""

    daemon_threads = True
    text = ""


EXPOSITION = """\
# TYPE shop_orders_total counter
shop_orders_total{provider="openai"} 10
shop_orders_total{provider="anthropic"} 5
# TYPE shop_ratio gauge
shop_ratio NaN
# TYPE shop_dropped_total counter
shop_dropped_total 3
"""
RULES = {"groups": [{"name": "shop", "rules": [
    {"record": "shop:orders:rate1m", "expr": "sum by (provider) (rate(shop_orders_total[1m]))"},
    {"record": "shop:nothing:rate1m", "expr": "sum(rate(shop_nothing_total[1m]))"},
]}]}
# (expression, status, cause, text the detail contains)
EXPECTED = [
    ("sum by (provider) (rate(shop_orders_total[$__rate_interval]))", "ok", "", ""),
    ("shop:orders:rate1m", "ok", "", ""),
    ("shop_ratio", "NaN/Inf", "nan-inf", "NaN"),
    ("sum(rate(shop_nothing_total[$__rate_interval]))", "no series", "metric-missing", "shop_nothing_total"),
    ('shop_orders_total{provider="mistral"}', "no series", "label-value",
     'provider="mistral" (provider is anthropic, openai)'),
    ('shop_orders_total{region="eu"}', "no series", "label-missing", "no label region"),
    ("sum by (region) (shop_orders_total)", "no series", "label-missing", "groups by"),
    ("shop:nothing:rate1m", "no series", "rule-no-output", "shop_nothing_total"),
    ("all:never:rate1m", "no series", "rule-not-loaded", "no loaded rule records it"),
    ("shop_orders_total > 1e9", "no series", "empty-result", "filters"),
    ("sum(rate(shop_orders_total[5m])", "query error", "query-error", "bad_data"),
    ("shop_dropped_total", "stale", "stale", "shop_dropped_total: last sample"),
]


def dashboard(exprs: list[str]) -> dict[str, Any]:
    """Return a hand-made dashboard with one panel per expression."""
    return {"title": "Shop", "uid": "shop", "tags": ["module"], "time": {"from": "now-15m", "to": "now"},
            "templating": {"list": []},
            "panels": [{"type": "timeseries", "title": f"P{i}", "targets": [{"refId": "A", "expr": expr}]}
                       for i, expr in enumerate(exprs)]}


@contextmanager
def exporter() -> Iterator[ExporterServer]:
    """Serve EXPOSITION on a random loopback port."""
    server = ExporterServer(("127.0.0.1", 0), Exposition)
    server.text = EXPOSITION
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ExporterServer, str]]:
    """Return the exporter and a Prometheus scraping it every second, plus four targets that fail."""
    folder = tmp_path_factory.mktemp("shop")
    with exporter() as server:
        here = f"127.0.0.1:{server.server_port}"
        jobs = [("shop", here, "/metrics"), ("refused", f"127.0.0.1:{free_port()}", "/metrics"),
                ("nohost", "no-such-host.invalid:9100", "/metrics"), ("notfound", here, "/nope"),
                ("garbage", here, "/garbage")]
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
                  "rule_files": ["rules/*.yml"],
                  "scrape_configs": [{"job_name": job, "metrics_path": path, "static_configs": [
                      {"targets": [address], "labels": {"module": job, "service": f"{job}-api"}}]}
                                     for job, address, path in jobs]}
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        (folder / "rules").mkdir()
        (folder / "rules" / "shop.yml").write_text(yaml.safe_dump(RULES))
        with running_prometheus(folder) as url:
            yield server, url


def by_expr(report: Report) -> dict[str, TargetResult]:
    """Return the report's results by their PromQL."""
    return {result.expr: result for result in report.results}


def test_every_status_and_cause_on_known_series(shop: tuple[ExporterServer, str]) -> None:
    server, url = shop
    client = PrometheusClient(url)
    board = dashboard([expr for expr, *_ in EXPECTED])
    last: list[Report] = []

    def scraped() -> bool:
        last[:] = [verify(client, [board], time.time())]
        results = by_expr(last[0])
        return (all(t.health != "unknown" for t in last[0].health.targets)
                and results["shop:orders:rate1m"].status == "ok" and results["shop_dropped_total"].status == "ok")

    wait_for(scraped, 30, "first scrapes and rule evaluations", lambda: report_text(last[0] if last else None))
    time.sleep(6)  # samples of the metric about to be dropped, over more than one 5 s step
    server.text = EXPOSITION.split("# TYPE shop_dropped_total")[0]  # the metric is gone from the next scrape

    def dropped_is_stale() -> bool:
        last[:] = [verify(client, [board], time.time())]
        return by_expr(last[0])["shop_dropped_total"].status == "stale"

    wait_for(dropped_is_stale, 10, "the dropped metric stale", lambda: report_text(last[0]))
    report = verify(client, [board], time.time())
    for (expr, status, cause, detail), result in zip(EXPECTED, report.results, strict=True):
        assert (result.status, result.cause) == (status, cause), (expr, result)
        assert detail in result.detail, (expr, result.detail)

    looking_back = by_expr(verify(client, [board], time.time(), range_seconds=300))
    assert looking_back["shop_dropped_total"].status == "ok"  # it had data in the range


def test_down_targets_are_named_with_prometheus_own_error(shop: tuple[ExporterServer, str]) -> None:
    _server, url = shop
    client = PrometheusClient(url)
    report = verify(client, [dashboard(["vector(1)"])], time.time())
    errors = {t.module: t.last_error for t in report.health.down()}
    assert set(errors) == {"refused", "nohost", "notfound", "garbage"}, errors
    assert "connection refused" in errors["refused"]
    assert "no-such-host.invalid" in errors["nohost"]
    assert "404 Not Found" in errors["notfound"]
    assert errors["garbage"] and "404" not in errors["garbage"]
    assert report.health.missing_modules == ()
    lines = "\n".join(line for line in text_report(report).splitlines() if line.startswith("  down "))
    for module, error in errors.items():
        assert f"{module} " in lines and error in lines


def text_report(report: Report) -> str:
    """Return the CLI's text report of a Report."""
    return "\n".join(text_lines(report))


def test_a_module_without_target_is_reported(shop: tuple[ExporterServer, str]) -> None:
    _server, url = shop
    other = {**dashboard(["vector(1)"]), "uid": "billing-gateway", "title": "Billing"}
    report = verify(PrometheusClient(url), [other], time.time())
    assert report.health.missing_modules == ("billing-gateway",)
    assert "  no target    billing-gateway: Prometheus scrapes no target" in text_report(report)


def test_follow_up_questions_are_cached_per_selector(shop: tuple[ExporterServer, str]) -> None:
    _server, url = shop
    client = PrometheusClient(url)
    panels = 30
    exprs = ["sum by (provider) (rate(shop_orders_total[$__rate_interval]))", 'shop_orders_total{provider="x"}']
    verify(client, [dashboard(exprs * (panels // 2))], time.time())
    # 1 targets + 30 panel queries + per distinct selector: freshness, window, labels, values, matcher checks
    assert client.requests <= 1 + panels + 10, client.requests


def test_cli_json_report(shop: tuple[ExporterServer, str], build_cli: BuildRunner, repo_copy: Path) -> None:
    _server, url = shop
    folder = repo_copy / DASHBOARDS_DIR
    for path in folder.glob("*.json"):
        path.unlink()
    (folder / "shop.json").write_text(json.dumps(dashboard(["vector(1)", "shop_nothing_total"])))
    result = build_cli(repo_copy, "verify", "--prometheus", url, "--format", "json")
    assert result.returncode == 1 and not result.stderr, result.stdout + result.stderr  # four modules are down
    report = json.loads(result.stdout)
    assert set(report) == {"version", "mode", "evaluated_at", "stale_after_seconds", "targets", "targets_error",
                           "modules_down", "modules_without_target", "dashboards", "counts", "exit_code"}
    assert (report["version"], report["mode"], report["exit_code"], report["stale_after_seconds"]) == (1, "now", 1, 15)
    assert report["modules_down"] == ["garbage", "nohost", "notfound", "refused"]
    assert report["modules_without_target"] == [] and report["targets_error"] == ""
    assert {t["module"]: t["health"] for t in report["targets"]}["shop"] == "up"
    assert set(report["targets"][0]) == {"job", "module", "service", "instance", "scrape_url", "health",
                                         "last_error", "last_scrape"}
    (board,) = report["dashboards"]
    assert set(board) == {"title", "uid", "range_seconds", "counts", "panels"} and board["range_seconds"] == 900
    targets = [t for panel in board["panels"] for t in panel["targets"]]
    assert [(t["status"], t["cause"]) for t in targets] == [("ok", ""), ("no series", "metric-missing")]
    assert set(targets[0]) == {"ref_id", "status", "cause", "detail", "expr"}
    assert report["counts"] == {"ok": 1, "stale": 0, "no series": 1, "NaN/Inf": 0, "query error": 0}


def test_query_shape_rebuilds_selectors_without_range_offset_or_variables() -> None:
    shape = query_shape('sum by (le, p) (rate({__name__="x_bucket", a=~"b\\\\.c"}[5m] offset 1h)) / on() y')
    assert [s.text for s in shape.selectors] == ['x_bucket{a=~"b\\\\.c"}', "y"]
    assert [g.labels for g in shape.groupings] == [("le", "p")]
    assert query_shape('{__name__=~"x.*"}').selectors[0].name == ""
    assert query_shape('sum by (p) (label_replace(x, "p", "$1", "q", "(.*)"))').groupings[0].produced == {"p"}
