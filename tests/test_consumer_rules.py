"""Every generated file obeys its consumer's rules: Go templates in alert annotations print module text
literally, scrape targets are addresses Prometheus can scrape, numbers are finite, and the build runs
`promtool check config` on the Prometheus tree it would leave (generated and hand-made rule files).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.discover import ModuleFile
from dashbuild.files import dump_json, dump_yaml
from dashbuild.pipeline import check_registry
from dashbuild.prometheus import CONFIG_FILE, alert_rules_file, prometheus_config, prometheus_files, scrape_job
from dashbuild.promtool_check import (
    NOT_FOUND_NOTE,
    check_prometheus_tree,
    hand_made_rule_files,
    parse_findings,
)
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h
from rules.model import template_literal
from tests.conftest import REPO, snapshot

HOSTILE_TITLE = 'Billing {{ $labels.job }} "x" \\ y'


def contract(title: str = "Billing", target: ScrapeTarget | None = None, name: str = "billing") -> ModuleContract:
    """Return a module contract with the standard metrics."""
    return ModuleContract(name=name, title=title, target=target or ScrapeTarget(port=8010),
                          metrics=standard_metrics(name), objectives=Objectives(error_ratio=0.05))


def promtool_run(promtool: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool with `args` in `cwd`."""
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


# --- Go templates: module text in alert annotations prints literally -------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Billing", "Billing"),
    ("a {{ b }} c", 'a {{ "{{" }} b }} c'),
    ("{{{", '{{ "{{" }}{{ "{" }}'),
    ("ends with {", 'ends with {{ "{" }}'),
    ("}} alone", "}} alone"),
])
def test_template_literal_escapes_every_action_opener(text: str, expected: str) -> None:
    assert template_literal(text) == expected


def alert_test(tmp_path: Path, promtool: str, module: ModuleContract, series: dict[str, str], eval_time: str,
               alertname: str, expected: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    """Write the module's alert rules and a `promtool test rules` file; return promtool's result."""
    (tmp_path / "alerts.yml").write_bytes(dump_yaml(alert_rules_file(module)))
    test = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": name, "values": values} for name, values in series.items()],
        "alert_rule_test": [{"eval_time": eval_time, "alertname": alertname, "exp_alerts": expected}],
    }]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    return promtool_run(promtool, tmp_path, "test", "rules", "test.yml")


def down_alert(title: str) -> dict[str, Any]:
    """Return the expected Down alert of module `billing` whose title is `title`, printed literally."""
    return {
        "exp_labels": {"severity": "critical", "module": "billing", "job": "billing", "instance": "h:8010"},
        "exp_annotations": {
            "summary": f"{title} is down",
            "description": f"Prometheus could scrape {title} (h:8010) only 40% of the time over the last 5m: the "
                           "service is down, unreachable or flapping.",
            "runbook_url": "RUNBOOKS.md#moduledown",
        },
    }


UP_DOWN = {'up{job="billing", instance="h:8010"}': "1 1 0 0 0 0"}


@pytest.mark.parametrize("title", [
    HOSTILE_TITLE, "{{ end }}", "{{/* comment */}}", "{{- $x := 1 -}}", "Open {", "{{{ triple }}}", "}} {{",
])
def test_annotations_print_the_title_literally(tmp_path: Path, promtool: str, title: str) -> None:
    module = contract(title)
    checked = (tmp_path / "alerts.yml")
    checked.write_bytes(dump_yaml(alert_rules_file(module)))
    assert promtool_run(promtool, tmp_path, "check", "rules", "alerts.yml").returncode == 0
    result = alert_test(tmp_path, promtool, module, UP_DOWN, "4m", "BillingDown", [down_alert(title)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_escaped_title_is_not_executed(tmp_path: Path, promtool: str) -> None:
    # Control: had `{{ $labels.job }}` run, the summary would read "Billing billing ...".
    executed = HOSTILE_TITLE.replace("{{ $labels.job }}", "billing")
    result = alert_test(tmp_path, promtool, contract(HOSTILE_TITLE), UP_DOWN, "4m", "BillingDown",
                        [down_alert(executed)])
    assert result.returncode != 0


def test_our_own_actions_still_run_beside_an_escaped_title(tmp_path: Path, promtool: str) -> None:
    series = {
        'billing_operations_total{operation="charge", status="success"}': "0+100x30",
        'billing_errors_total{operation="charge", error_type="Timeout"}': "0+10x30",
    }
    expected = [{"exp_labels": {"severity": "warning", "module": "billing"}, "exp_annotations": {
        "summary": f"{HOSTILE_TITLE} error ratio above 5%",
        "description": f"10% of {HOSTILE_TITLE} operations failed over the last 5m (objective: at most 5%; judged "
                       "from 20 operations in the window on).",
        "runbook_url": "RUNBOOKS.md#modulehigherrorratio",
    }}]
    result = alert_test(tmp_path, promtool, contract(HOSTILE_TITLE), series, "15m", "BillingHighErrorRatio", expected)
    assert result.returncode == 0, result.stdout + result.stderr


# --- scrape targets ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("host", "address"), [
    ("host.docker.internal", "host.docker.internal:8010"),
    ("billing_gateway", "billing_gateway:8010"),
    ("Billing.Internal.", "Billing.Internal.:8010"),
    ("10.0.0.1", "10.0.0.1:8010"),
    ("::1", "[::1]:8010"),
    ("[::1]", "[::1]:8010"),
    ("2001:db8:0:0::7", "[2001:db8::7]:8010"),
])
def test_accepted_hosts_render_an_address_promtool_accepts(tmp_path: Path, promtool: str, host: str,
                                                            address: str) -> None:
    target = ScrapeTarget(port=8010, host=host)
    assert target.address == address
    (tmp_path / "prometheus.yml").write_bytes(dump_yaml({"scrape_configs": [scrape_job(contract(target=target))]}))
    result = promtool_run(promtool, tmp_path, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("host", "message"), [
    ("http://billing.internal",
     "host 'http://billing.internal' must not include a scheme: use ScrapeTarget(host='billing.internal', port=...)"),
    ("billing.internal:8010",
     "host 'billing.internal:8010' must not include a port: use ScrapeTarget(host='billing.internal', port=8010)"),
    ("billing.internal/x", "must not include a path or query: use ScrapeTarget(host='billing.internal', port=..., "
                           "path='/x')"),
    ("[::1]:8010", "must not include a port: use ScrapeTarget(host='::1', port=8010)"),
    ("billing internal", "must not contain whitespace"),
    ("billing\n", "must not contain whitespace"),
    ("", "host must not be empty"),
    ("a..b", "not a valid host name"),
    ("-billing", "not a valid host name"),
    ("x" * 64 + ".internal", "not a valid host name"),
    ("bill!ng", "not a valid host name"),
    ("10.0.0.256", "not a valid IPv4 address"),
    ("fe80::1%eth0", "must not include '%'"),
    ("[billing]", "not a valid IPv6 address"),
    ("billing:http", "not a valid IPv6 address"),
    ("user@billing", "must not include user information"),
])
def test_hosts_prometheus_cannot_scrape_are_refused(host: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^host") as refused:
        ScrapeTarget(port=8010, host=host)
    assert message in str(refused.value)


@pytest.mark.parametrize(("path", "message"), [
    ("metrics", "must start with '/'"),
    ("/metrics?format=prometheus", "use ScrapeTarget(path='/metrics', params={'format': ['prometheus']}, ...)"),
    ("/metrics#x", "without '?' or '#'"),
    ("/my metrics", "whitespace"),
    ("/metrics\x00", "control characters"),
    ("/my%20metrics", "percent-encoded"),
])
def test_paths_that_are_not_plain_url_paths_are_refused(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^path") as refused:
        ScrapeTarget(port=8010, path=path)
    assert message in str(refused.value)


@pytest.mark.parametrize(("params", "message"), [
    ({"format": "prometheus"}, "must be a list of strings"),
    ({"": ["x"]}, "must be a non-empty string"),
    ({"page": [2]}, "parameter values are strings"),
    ({"page": []}, "is empty"),
])
def test_invalid_params_are_refused(params: Any, message: str) -> None:
    with pytest.raises(ValueError, match="params") as refused:
        ScrapeTarget(port=8010, params=params)
    assert message in str(refused.value)


def test_params_and_https_are_emitted_and_promtool_accepts_them(tmp_path: Path, promtool: str) -> None:
    target = ScrapeTarget(port=8443, host="::1", path="/probe", params={"module": ["http_2xx"], "x": ["a b", "é"]},
                          scheme="https")
    job = scrape_job(contract(target=target))
    assert job["params"] == {"module": ["http_2xx"], "x": ["a b", "é"]}
    assert job["scheme"] == "https"
    assert job["static_configs"][0]["targets"] == ["[::1]:8443"]
    (tmp_path / "prometheus.yml").write_bytes(dump_yaml(prometheus_config([contract(target=target)])))
    result = promtool_run(promtool, tmp_path, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load((tmp_path / "prometheus.yml").read_text())["scrape_configs"][1]["params"] == job["params"]


def test_plain_targets_emit_neither_params_nor_scheme() -> None:
    assert set(scrape_job(contract())) == {"job_name", "scrape_interval", "metrics_path", "static_configs"}


def test_the_same_ipv6_host_written_two_ways_is_one_scrape_target() -> None:
    dashboard = ModuleDashboard(rows=(Row("r", (h.health("x"),)),))
    modules = [ModuleFile(f"dashboards/{name}.py", contract(name=name, target=ScrapeTarget(port=8010, host=host)),
                          dashboard) for name, host in (("one", "::1"), ("two", "[0:0::1]"))]
    errors = check_registry(modules)
    assert [str(e) for e in errors] == ["dashboards/two.py: scrape target [::1]:8010 is already used by "
                                        "dashboards/one.py"]


def test_a_module_may_not_scrape_as_prometheus_own_job() -> None:
    """Two jobs named `prometheus` make Prometheus refuse its whole configuration."""
    dashboard = ModuleDashboard(rows=(Row("r", (h.health("x"),)),))
    modules = [ModuleFile("dashboards/prometheus.py", contract(name="prometheus"), dashboard)]
    assert [str(e) for e in check_registry(modules)] == [
        "dashboards/prometheus.py: module 'prometheus' would scrape as job 'prometheus', which is Prometheus' own "
        "job; choose another module name, e.g. 'prometheus_server'"]


@pytest.mark.parametrize("service", ["", "  ", "billing\napi", "bill\x00ing"])
def test_service_label_must_be_printable(service: str) -> None:
    with pytest.raises(ValueError, match="service"):
        ScrapeTarget(port=8010, service=service)


def test_label_values_must_be_lists_of_strings() -> None:
    with pytest.raises(ValueError, match="must be a list of values"):
        ModuleContract("billing", "Billing", ScrapeTarget(8010), standard_metrics("billing"),
                       label_values={"operation": "charge"})
    with pytest.raises(ValueError, match="label values are strings"):
        ModuleContract("billing", "Billing", ScrapeTarget(8010), standard_metrics("billing"),
                       label_values={"operation": ("charge", 3)})  # type: ignore[arg-type]


# --- finite numbers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["error_ratio", "p95_seconds", "cost_per_hour_usd"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_objectives_must_be_finite(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a finite number"):
        Objectives(**{field: value})


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_serialisers_refuse_non_finite_numbers(value: float) -> None:
    with pytest.raises(ValueError):
        dump_json({"value": value})
    with pytest.raises(ValueError):
        dump_yaml({"value": value})
    assert dump_yaml({"value": 1.5}).endswith(b"value: 1.5\n")


# --- the promtool stage ------------------------------------------------------------------------------------------

def build_with_path(root: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python build.py ARGS` in `root` with PATH set to `path`, as a user without promtool would."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    env.update(PATH=path, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, str(root / "build.py"), *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


BROKEN_RULES = """groups:
- name: custom
  rules:
  - alert: Custom
    expr: up ==
"""


def test_a_broken_hand_made_rule_file_fails_the_build(repo_copy: Path, build_cli: Any, promtool: str) -> None:
    custom = repo_copy / "prometheus" / "rules" / "custom.yml"
    custom.write_text(BROKEN_RULES)
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: prometheus/rules/custom.yml: promtool check config: ")
    assert "could not parse expression" in errors[0] and "dashbuild-promtool" not in errors[0]
    assert snapshot(repo_copy) == before


def test_a_valid_hand_made_rule_file_is_checked_and_kept(repo_copy: Path, build_cli: Any, promtool: str) -> None:
    custom = repo_copy / "prometheus" / "rules" / "custom.yml"
    custom.write_text(BROKEN_RULES.replace("up ==", "up == 0"))
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr
    assert custom.read_text() == BROKEN_RULES.replace("up ==", "up == 0")


def test_without_promtool_the_build_says_so_once_and_goes_on(repo_copy: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    (repo_copy / "prometheus" / "rules" / "custom.yml").write_text(BROKEN_RULES)
    result = build_with_path(repo_copy, str(empty), "--check")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines().count(f"note: {NOT_FOUND_NOTE}") == 1
    promtool_notes = [line for line in result.stderr.splitlines() if line.startswith("note:") and "promtool" in line]
    assert promtool_notes == [f"note: {NOT_FOUND_NOTE}"]


def fake_promtool(folder: Path, script: str) -> str:
    """Write an executable `promtool` running `script` (sh) in `folder`; return its path."""
    folder.mkdir(exist_ok=True)
    path = folder / "promtool"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_crashing_promtool_fails_the_build(repo_copy: Path, tmp_path: Path) -> None:
    fake = Path(fake_promtool(tmp_path / "bin", "kill -SEGV $$"))
    before = snapshot(repo_copy)
    result = build_with_path(repo_copy, f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: prometheus/prometheus.yml: promtool check config crashed (killed by signal 11): "
                      "no output"], result.stderr
    assert snapshot(repo_copy) == before


def test_a_hanging_promtool_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    fake = fake_promtool(tmp_path / "bin", "exec sleep 30")
    files = prometheus_files([contract()])
    outcome = check_prometheus_tree(tmp_path, files, {}, promtool=fake, timeout=0.5)
    assert [str(e) for e in outcome.errors] == [
        "prometheus/prometheus.yml: promtool check config did not finish within 0.5 s"]


def test_a_finding_in_generated_rules_names_the_module_file(tmp_path: Path, promtool: str) -> None:
    files = prometheus_files([contract()])
    files["prometheus/rules/billing.alerts.yml"] = BROKEN_RULES.encode()
    outcome = check_prometheus_tree(tmp_path, files, {"prometheus/rules/billing.alerts.yml": "dashboards/billing.py"},
                                    promtool=promtool)
    assert len(outcome.errors) == 1
    message = str(outcome.errors[0])
    assert message.startswith("dashboards/billing.py: prometheus/rules/billing.alerts.yml: promtool check config: ")
    assert "could not parse expression" in message and "\n" not in message


def test_a_config_finding_names_prometheus_yml(tmp_path: Path, promtool: str) -> None:
    files = {CONFIG_FILE: dump_yaml({"scrape_configs": [
        {"job_name": "x", "static_configs": [{"targets": ["http://x:80"]}]}]})}
    outcome = check_prometheus_tree(tmp_path, files, {}, promtool=promtool)
    assert [str(e) for e in outcome.errors] == [
        'prometheus/prometheus.yml: promtool check config: parsing YAML file prometheus/prometheus.yml: '
        '"http://x:80" is not a valid hostname']


def test_duplicate_rules_in_a_hand_made_file_are_a_finding(tmp_path: Path, promtool: str) -> None:
    rules = tmp_path / "prometheus" / "rules"
    rules.mkdir(parents=True)
    (rules / "dup.yml").write_text("groups:\n- name: y\n  rules:\n  - record: a\n    expr: up\n"
                                   "  - record: a\n    expr: up\n")
    outcome = check_prometheus_tree(tmp_path, prometheus_files([contract()]), {}, promtool=promtool)
    assert [e.file for e in outcome.errors] == ["prometheus/rules/dup.yml"]
    assert "duplicate rule" in str(outcome.errors[0])


def test_hand_made_rule_files_leave_out_what_the_build_generates_or_removes(tmp_path: Path) -> None:
    rules = tmp_path / "prometheus" / "rules"
    rules.mkdir(parents=True)
    for name in ("billing.alerts.yml", "gone.alerts.yml", "custom.yml", ".hidden.yml", "notes.yaml"):
        (rules / name).write_text("groups: []\n")
    (rules / "folder.yml").mkdir()
    found, errors = hand_made_rule_files(tmp_path, {"prometheus/rules/billing.alerts.yml": b""},
                                         {"prometheus/rules/gone.alerts.yml"})
    assert sorted(found) == ["prometheus/rules/.hidden.yml", "prometheus/rules/custom.yml"]
    assert errors == []


def test_parse_findings_follows_each_checking_line() -> None:
    output = ("Checking prometheus/prometheus.yml\n  SUCCESS: 2 rule files found\n\n"
              "Checking prometheus/rules/a.yml\n  FAILED:\n     prometheus/rules/a.yml: 5:11: bad\n"
              "     prometheus/rules/a.yml: worse\n\n"
              "Checking prometheus/rules/b.yml\n  FAILED:\n     lint error 1 duplicate rule(s) found.\nMetric: a\n\n")
    findings, stray = parse_findings(output)
    assert findings == {"prometheus/rules/a.yml": ["5:11: bad", "worse"],
                        "prometheus/rules/b.yml": ["lint error 1 duplicate rule(s) found. Metric: a"]}
    assert stray == []


HOSTILE_MODULE = '''
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="billing", title=TITLE,
                          target=ScrapeTarget(port=8010, host="[::1]", params={"format": ["prometheus"]}),
                          metrics=standard_metrics("billing"))
DASHBOARD = ModuleDashboard(rows=(Row("r", (h.cost_over_range(CONTRACT.metric("cost_total")),)),))
'''.replace("TITLE", repr(HOSTILE_TITLE))


def test_a_module_with_a_hostile_title_builds_and_its_alerts_print_it(repo_copy: Path, build_cli: Any,
                                                                      promtool: str) -> None:
    (repo_copy / "dashboards" / "billing.py").write_text(HOSTILE_MODULE)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr
    rules = repo_copy / "prometheus" / "rules"
    test = {"rule_files": [str(rules / "billing.alerts.yml")], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": [{"series": name, "values": v} for name, v in UP_DOWN.items()],
        "alert_rule_test": [{"eval_time": "4m", "alertname": "BillingDown", "exp_alerts": [down_alert(HOSTILE_TITLE)]}],
    }]}
    (repo_copy / "test.yml").write_text(yaml.safe_dump(test))
    tested = promtool_run(promtool, repo_copy, "test", "rules", "test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = yaml.safe_load((repo_copy / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "billing")
    assert job["params"] == {"format": ["prometheus"]} and job["static_configs"][0]["targets"] == ["[::1]:8010"]
    assert json_title(repo_copy / "provisioning" / "dashboards" / "billing.json") == f"{HOSTILE_TITLE} Dashboard"


def json_title(path: Path) -> str:
    """Return the title of a generated dashboard file."""
    title: str = json.loads(path.read_text())["title"]
    return title


def test_the_repository_passes_the_promtool_stage(promtool: str) -> None:
    from dashbuild.pipeline import build

    assert build(REPO).notes == ()
