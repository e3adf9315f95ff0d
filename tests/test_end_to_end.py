"""The whole chain on a real Prometheus: demo modules → generated scrape config and rules → every panel has data."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.discover import discover
from dashbuild.provisioning import DASHBOARDS_DIR
from dashbuild.verify import PrometheusClient, flat_panels, load_dashboards, verify
from moddash.instrumentation.demo import Demo, start_demo
from tests.conftest import REPO, BuildRunner, free_port
from tests.prometheus_server import running_prometheus


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """Return the three demo modules serving on random loopback ports."""
    contracts = [m.contract for m in discover(REPO)]
    running = start_demo(contracts, {c.name: 0 for c in contracts})
    yield running
    running.stop()


def scrape_config_for(demo: Demo, prometheus_port_placeholder: str = "localhost:9090") -> dict[str, Any]:
    """Return the generated prometheus.yml with each module's target pointed at its demo exporter."""
    config: dict[str, Any] = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    by_job = {name.replace("_", "-"): url for name, url in demo.urls.items()}
    for job in config["scrape_configs"]:
        if job["job_name"] in by_job:
            address = by_job.pop(job["job_name"]).split("/")[2]
            job["static_configs"][0]["targets"] = [address]
    assert not by_job, f"modules without a scrape job: {by_job}"
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["static_configs"][0]["targets"] !=
                                [prometheus_port_placeholder]]
    return config


@pytest.fixture(scope="module")
def prometheus(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the URL of a real Prometheus scraping the demo with the generated config and rules."""
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "prometheus.yml").write_text(yaml.safe_dump(scrape_config_for(demo)))
    shutil.copytree(REPO / "prometheus" / "rules", folder / "rules")
    with running_prometheus(folder) as url:
        yield url


def api(url: str) -> dict[str, Any]:
    """Return a Prometheus API answer."""
    with urllib.request.urlopen(url, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def test_every_panel_of_every_dashboard_has_data(prometheus: str, build_cli: BuildRunner) -> None:
    deadline = time.monotonic() + 180  # the SLO rule groups are evaluated once a minute
    while True:
        result = build_cli(REPO, "verify", "--prometheus", prometheus, "--strict", "--range", "5m")
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert result.returncode == 0, result.stdout + result.stderr
    dashboards = load_dashboards(REPO, DASHBOARDS_DIR)
    targets = [t for d in dashboards for p in flat_panels(d) for t in p.get("targets", [])]
    summary = result.stdout.strip().splitlines()[-1]
    assert summary == (f"{len(dashboards)} dashboards, {len(targets)} targets: {len(targets)} ok, 0 stale, "
                       "0 no series, 0 NaN/Inf, 0 query error; 0 module targets down")
    assert result.stdout.splitlines()[0] == "targets: 3 module targets, 3 up, 0 down"
    now = build_cli(REPO, "verify", "--prometheus", prometheus, "--strict", "--format", "json")
    assert now.returncode == 0, now.stdout + now.stderr
    recorded = [t for d in json.loads(now.stdout)["dashboards"] for p in d["panels"] for t in p["targets"]
                if ":" in t["expr"]]
    assert recorded and all(t["status"] == "ok" for t in recorded)  # the overview's recording-rule panels

    targets = api(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
    assert {t["labels"]["job"]: t["health"] for t in targets} == {
        "llm-provider": "up", "prompt-manager": "up", "prompt-security": "up"}
    assert {t["labels"]["module"] for t in targets} == {"llm-provider", "prompt-manager", "prompt-security"}
    rules = api(f"{prometheus}/api/v1/rules")["data"]["groups"]
    modules = ("llm-provider", "prompt-manager", "prompt-security")
    assert {g["name"] for g in rules} == {"modules-recording", "monitoring-alerts",
                                          *(f"{m}-alerts" for m in modules), *(f"{m}-slo" for m in modules)}
    assert all(rule["health"] == "ok" for group in rules for rule in group["rules"])


def test_verify_reports_errors_and_missing_data(prometheus: str) -> None:
    dashboard = {"title": "Hand-made", "templating": {"list": []}, "panels": [
        {"type": "timeseries", "title": "Broken", "targets": [{"refId": "A", "expr": "sum(rate(up[5m])"}]},
        {"type": "timeseries", "title": "Empty", "targets": [{"refId": "A", "expr": "no_such_metric_total"}]},
        {"type": "stat", "title": "Fine", "targets": [{"refId": "A", "expr": "vector(1)", "instant": True}]},
    ]}
    broken, empty, fine = verify(PrometheusClient(prometheus), [dashboard], time.time(), 300).results
    assert broken.status == "query error" and "bad_data" in broken.detail and broken.ref_id == "A"
    assert empty.status == "no series" and empty.cause == "metric-missing"
    assert empty.detail == "metric no_such_metric_total does not exist in Prometheus (no series in the last 5m)"
    assert fine.status == "ok"


def test_verify_exit_codes(prometheus: str, repo_copy: Path, build_cli: BuildRunner) -> None:
    path = repo_copy / "provisioning" / "dashboards" / "prompt-manager.json"
    dashboard = json.loads(path.read_text())
    dashboard["panels"][1]["targets"][0]["expr"] = "sum(rate(prompt_manager_no_such_total[$__rate_interval]))"
    path.write_text(json.dumps(dashboard))
    lenient = build_cli(repo_copy, "verify", "--prometheus", prometheus, "--range", "5m")
    strict = build_cli(repo_copy, "verify", "--prometheus", prometheus, "--range", "5m", "--strict")
    assert lenient.returncode == 0 and strict.returncode == 1
    assert (f"  no series    {dashboard['panels'][1]['title']}  A: metric prompt_manager_no_such_total does not exist"
            in strict.stdout)
    dashboard["panels"][1]["targets"][0]["expr"] = "rate(up[5m]"
    path.write_text(json.dumps(dashboard))
    broken = build_cli(repo_copy, "verify", "--prometheus", prometheus, "--range", "5m")
    assert broken.returncode == 1 and "  query error  " in broken.stdout


def test_demo_command_stops_cleanly_on_ctrl_c() -> None:
    ports = [free_port() for _ in range(3)]
    names = ("llm_provider", "prompt_manager", "prompt_security")
    args = [arg for name, port in zip(names, ports, strict=True) for arg in ("--port", f"{name}={port}")]
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "demo", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[-1].strip() == "serving demo traffic; Ctrl-C to stop"
        # Loopback by default: the demo's cost and error data stay off the network.
        assert all(line.split()[1].startswith("http://127.0.0.1:") for line in lines[:3]), lines
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/metrics", timeout=5) as response:
            assert b"prompt_manager_operations_total" in response.read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "demo stopped" in out


def test_query_result_variable_becomes_the_regex_of_its_values() -> None:
    from dashbuild.verify import variable_query, variable_value

    variable = {"type": "query", "name": "busiest", "regex": '/module="([^"]+)"/',
                "query": "query_result(topk(5, avg_over_time(module:operations:rate1m[${__range}])))"}
    assert variable_query(variable, 3600) == "topk(5, avg_over_time(module:operations:rate1m[1h]))"
    answer = {"data": {"result": [{"metric": {"module": "b.x"}, "value": [0, "2"]},
                                  {"metric": {"module": "a"}, "value": [0, "1"]}]}}
    assert variable_value(variable, answer) == r"(a|b\\.x)"
    assert variable_query({**variable, "allValue": ".*"}, 3600) is None
