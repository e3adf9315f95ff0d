"""Metrics a dashboard reads from other exporters: a list with the way forward, then `external_metrics`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildRunner

MODULE = '''
from moddash.contract import GAUGE, Metric, ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target

CONTRACT = ModuleContract(name="hosts", title="Hosts", target=ScrapeTarget(port=9100),
                          metrics=standard_metrics("hosts"))
DASHBOARD = ModuleDashboard(rows=(Row("Load", (
    Panel(kind="timeseries", title="Load", description="Load average.", unit="short",
          targets=(Target("avg by (instance) (node_load1)", "{{instance}}"),
                   Target("max(node_memory_MemAvailable_bytes)", "available"))),
)),){external})
'''


def write(root: Path, external: str = "") -> None:
    """Write the hosts module, with `external` as extra ModuleDashboard arguments."""
    (root / "dashboards" / "hosts.py").write_text(MODULE.format(external=external))


def test_undeclared_metrics_are_listed_once_with_the_way_forward(repo_copy: Path, build_cli: BuildRunner) -> None:
    write(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 1
    summary = [line for line in result.stderr.splitlines() if "metric(s) no contract declares" in line]
    assert summary == [
        "error: dashboards/hosts.py: 2 metric(s) no contract declares: node_load1, node_memory_MemAvailable_bytes. "
        "Declare each in CONTRACT.metrics when this module exposes it, or in ModuleDashboard(external_metrics="
        '(Metric("node_load1", GAUGE, "..."), ...)) when another exporter does']


def test_external_metrics_build_and_stay_out_of_the_contract(repo_copy: Path, build_cli: BuildRunner) -> None:
    write(repo_copy, ', external_metrics=(Metric("node_load1", GAUGE, "1m load average.", ("instance",)), '
                     'Metric("node_memory_MemAvailable_bytes", GAUGE, "Memory available."))')
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    alerts = (repo_copy / "prometheus" / "rules" / "hosts.alerts.yml").read_text()
    assert "node_load1" not in alerts  # the module's own alerts watch only what it exposes


def test_a_metric_declared_twice_is_refused(repo_copy: Path, build_cli: BuildRunner) -> None:
    write(repo_copy, ', external_metrics=(Metric("hosts_cost_total", "counter", "Cost."), '
                     'Metric("node_load1", GAUGE, "Load."), Metric("node_memory_MemAvailable_bytes", GAUGE, "Mem."))')
    result = build_cli(repo_copy)
    assert result.returncode == 1
    assert ("error: dashboards/hosts.py: hosts_cost_total is in CONTRACT.metrics and in DASHBOARD's "
            "external_metrics") in result.stderr
