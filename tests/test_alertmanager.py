"""Alert delivery: the generated Alertmanager config, checked and run with Debian's real amtool, Alertmanager and
Prometheus, and a webhook receiver of our own on 127.0.0.1."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.alertmanager import CONFIG_FILE, alertmanager_config, alertmanager_files, required_version
from dashbuild.amtool_check import NOT_FOUND_NOTE, amtool_version, check_alertmanager_config
from dashbuild.discover import discover
from dashbuild.files import dump_yaml
from dashbuild.host_config import host_files
from dashbuild.settings import load_settings
from moddash.instrumentation.demo import Demo, start_demo
from panels.settings import Alerting, Email, Slack, Webhook
from tests.alertmanager_server import running_alertmanager
from tests.conftest import REPO, BuildRunner, free_port, snapshot
from tests.prometheus_server import running_prometheus

Payload = dict[str, Any]


@pytest.fixture(scope="session")
def amtool() -> str:
    """Return the path of Debian's amtool; fail (not skip) when it is missing."""
    path = shutil.which("amtool")
    if path is None:
        pytest.fail("amtool not found: apt-get install -y --no-install-recommends prometheus-alertmanager")
    return path


def amtool_run(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run amtool with `args`, bounded in time."""
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=30, check=False)


def test_generated_config_is_the_settings_and_passes_amtool(amtool: str) -> None:
    assert (REPO / CONFIG_FILE).read_bytes() == alertmanager_files(load_settings(REPO).alerting)[CONFIG_FILE]
    check = amtool_run(amtool, "check-config", str(REPO / CONFIG_FILE))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout


@pytest.mark.parametrize(("labels", "receiver"), [
    (("severity=critical", "module=prompt-manager", "alertname=PromptManagerDown"), "page"),
    (("severity=warning", "module=prompt-manager", "alertname=PromptManagerHighErrorRatio"), "ticket"),
    (("severity=info", "module=prompt-manager"), "default"),
    (("alertname=Watchdog",), "default"),
])
def test_routes_by_severity(amtool: str, labels: tuple[str, ...], receiver: str) -> None:
    result = amtool_run(amtool, "config", "routes", "test", f"--config.file={REPO / CONFIG_FILE}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_grouping_and_inhibition_in_the_config() -> None:
    config = yaml.safe_load((REPO / CONFIG_FILE).read_text())
    assert config["route"]["group_by"] == ["module", "alertname"]
    assert config["inhibit_rules"] == [{"source_matchers": ['severity="critical"'],
                                        "target_matchers": ['severity="warning"'], "equal": ["module"]}]
    for receiver in config["receivers"]:
        for webhook in receiver["webhook_configs"]:
            assert webhook["send_resolved"] is True


def api(url: str, path: str, body: Any = None) -> Any:
    """Call the Alertmanager API (POST when `body` is given); return the decoded JSON answer, if any."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def test_a_critical_alert_inhibits_the_warnings_of_its_module_only(tmp_path: Path) -> None:
    shutil.copy(REPO / CONFIG_FILE, tmp_path / "alertmanager.yml")
    with running_alertmanager(tmp_path) as url:
        api(url, "/api/v2/alerts", [
            {"labels": {"alertname": "XDown", "severity": "critical", "module": "x"}},
            {"labels": {"alertname": "XHighErrorRatio", "severity": "warning", "module": "x"}},
            {"labels": {"alertname": "YHighErrorRatio", "severity": "warning", "module": "y"}},
        ])
        deadline = time.monotonic() + 15
        while True:
            states = {a["labels"]["alertname"]: a["status"] for a in api(url, "/api/v2/alerts")}
            if (len(states) == 3 and states["XHighErrorRatio"]["inhibitedBy"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert states["XHighErrorRatio"]["state"] == "suppressed" and states["XHighErrorRatio"]["inhibitedBy"]
    assert states["YHighErrorRatio"] == {**states["YHighErrorRatio"], "state": "active", "inhibitedBy": []}
    assert states["XDown"]["state"] == "active"


def test_email_and_slack_receivers_pass_amtool(tmp_path: Path, amtool: str) -> None:
    alerting = Alerting(
        page=(Webhook(url="https://relay.example.com/alerts", credentials_file="/run/secrets/relay_token"),
              Slack(api_url_file="/run/secrets/slack_api_url", channel="#oncall")),
        ticket=Email(to="team@example.com", sender="alertmanager@example.com", smarthost="smtp.example.com:587",
                     auth_username="alertmanager", auth_password_file="/run/secrets/smtp_password"),
        default=())
    content = alertmanager_files(alerting)[CONFIG_FILE]
    assert b"/run/secrets/" in content and b"example.com/services" not in content
    config = tmp_path / "alertmanager.yml"
    config.write_bytes(content)
    check = amtool_run(amtool, "check-config", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check_alertmanager_config(content).errors == ()
    # The Slack title and text are Go templates that Alertmanager runs only when it notifies: run them now.
    slack = alertmanager_config(alerting)["receivers"][1]["slack_configs"][0]
    (tmp_path / "none.tmpl").write_text("")
    for template in (slack["title"], slack["text"]):
        rendered = amtool_run(amtool, "template", "render", f"--template.glob={tmp_path / 'none.tmpl'}",
                              f"--template.text={template}")
        assert rendered.returncode == 0, rendered.stdout + rendered.stderr


def test_amtool_stage_names_the_file_and_notes_what_it_cannot_check(tmp_path: Path, amtool: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = check_alertmanager_config(b"route:\n  receiver: nowhere\nreceivers: []\n")
    (error,) = outcome.errors
    assert str(error).startswith("dashboards/settings.py: alertmanager/alertmanager.yml: amtool check-config failed: ")
    assert "nowhere" in str(error) and "\n" not in str(error)
    url_file = Alerting(default=Webhook(url_file="/run/secrets/webhook_url"))
    assert required_version(url_file) == (0, 26)
    checked = check_alertmanager_config(alertmanager_files(url_file)[CONFIG_FILE], requires=(0, 26))
    version = amtool_version(amtool)
    assert version is not None
    if version[:2] < (0, 26):  # Debian's 0.25 predates url_file: a note, not a false error
        assert checked.errors == () and len(checked.notes) == 1 and "predates Alertmanager 0.26" in checked.notes[0]
    else:
        assert checked == type(checked)()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert check_alertmanager_config(b"route: {receiver: x}\nreceivers: [{name: x}]\n").notes == (NOT_FOUND_NOTE,)


@pytest.mark.parametrize(("alerting", "fragment"), [
    ("Alerting(page=Webhook(url='https://user:pw@hooks.example.com/x'))", "carries credentials"),
    ("Alerting(ticket=Slack(api_url_file='secrets/slack'))", "absolute file path"),
    ("Alerting(group_interval='0')", "group_interval must be an Alertmanager duration"),
    ("Alerting(default=Webhook())", "exactly one of url and url_file"),
    ("Alerting(page='https://hooks.example.com/x')", "expected Webhook(...)"),
])
def test_bad_alerting_settings_fail_the_build_naming_the_file(repo_copy: Path, build_cli: BuildRunner,
                                                              alerting: str, fragment: str) -> None:
    (repo_copy / "dashboards" / "settings.py").write_text(
        "from panels.settings import Alerting, ProjectSettings, Slack, Webhook\n"
        f"SETTINGS = ProjectSettings(alerting={alerting})\n")
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: dashboards/settings.py: ") and fragment in errors[0], \
        result.stderr
    assert snapshot(repo_copy) == before


def test_host_prometheus_sends_to_the_alertmanager_address(tmp_path: Path, build_cli: BuildRunner) -> None:
    def alertmanagers(out: Path) -> list[str]:
        config = yaml.safe_load((out / "prometheus.yml").read_text())
        targets: list[str] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
        return targets

    default = build_cli(REPO, "prometheus-config", "--out", str(tmp_path / "default"))
    assert default.returncode == 0, default.stderr
    assert alertmanagers(tmp_path / "default") == ["127.0.0.1:9093"]
    assert "--web.enable-lifecycle" not in default.stdout
    chosen = build_cli(REPO, "prometheus-config", "--out", str(tmp_path / "chosen"),
                       "--alertmanager-address", "[::1]:19093")
    assert chosen.returncode == 0, chosen.stderr
    assert alertmanagers(tmp_path / "chosen") == ["[::1]:19093"]
    for bad in ("http://127.0.0.1:9093", "127.0.0.1", "::1:9093", "alertmanager:0"):
        refused = build_cli(REPO, "prometheus-config", "--out", str(tmp_path / "bad"), "--alertmanager-address", bad)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.startswith(f"error: --alertmanager-address {bad!r}: "), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


class _Receiver(BaseHTTPRequestHandler):
    """Queues every POSTed JSON body (the server's `received` queue) and answers 200."""

    server: _WebhookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.put({"path": self.path, **json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _WebhookServer(ThreadingHTTPServer):
    received: queue.Queue[Payload]


def _webhook_server() -> _WebhookServer:
    server = _WebhookServer(("127.0.0.1", 0), _Receiver)
    server.received = queue.Queue()
    threading.Thread(target=server.serve_forever, name="webhook", daemon=True).start()
    return server


def _next(server: _WebhookServer, wanted: Callable[[Payload], bool], seconds: float) -> Payload:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            payload = server.received.get(timeout=left)
        except queue.Empty:
            break
        if wanted(payload):
            return payload
    raise AssertionError(f"no matching notification within {seconds:g} s")


def _query(url: str, expr: str) -> list[Any]:
    with urllib.request.urlopen(f"{url}/api/v1/query?query={urllib.parse.quote(expr)}", timeout=10) as response:
        result: list[Any] = json.loads(response.read())["data"]["result"]
    return result


@pytest.fixture
def webhook() -> Iterator[_WebhookServer]:
    """A webhook receiver on 127.0.0.1 that queues what Alertmanager posts."""
    server = _webhook_server()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_stopped_module_pages_through_the_real_stack_and_resolves(tmp_path: Path, webhook: _WebhookServer) -> None:
    """Prometheus scrapes one module, evaluates its generated rules and sends to Alertmanager, which posts to us.

    Test-only changes: 1 s scrape and evaluation intervals, 1 s grouping, and the Down alert's `for` cut from
    1m to 3s, so the test takes seconds, not minutes.
    """
    contract = next(m.contract for m in discover(REPO) if m.contract.name == "prompt_manager")
    module_port, prometheus_port, alertmanager_port = free_port(), free_port(), free_port()
    hook = f"http://127.0.0.1:{webhook.server_address[1]}"
    am_dir, prom_dir = tmp_path / "alertmanager", tmp_path / "prometheus"
    am_dir.mkdir()
    alerting = Alerting(page=Webhook(url=f"{hook}/page"), ticket=Webhook(url=f"{hook}/ticket"),
                        default=Webhook(url=f"{hook}/default"), group_wait="1s", group_interval="1s")
    (am_dir / "alertmanager.yml").write_bytes(dump_yaml(alertmanager_config(alerting)))

    built = {f"prometheus/rules/{path.name}": path.read_bytes()
             for path in (REPO / "prometheus" / "rules").glob("*.yml")}
    files = host_files([contract], built, "127.0.0.1", ports={contract.name: module_port},
                       self_address=f"127.0.0.1:{prometheus_port}",
                       alertmanager_address=f"127.0.0.1:{alertmanager_port}")
    config = yaml.safe_load(files["prometheus.yml"])
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    for job in config["scrape_configs"]:
        job["scrape_interval"] = "1s"
    files["prometheus.yml"] = dump_yaml(config)
    rules_path = f"rules/{contract.slug}.alerts.yml"
    rules = yaml.safe_load(files[rules_path])
    down = next(r for r in rules["groups"][0]["rules"] if r["alert"] == "PromptManagerDown")
    down["for"] = "3s"
    files[rules_path] = dump_yaml(rules)
    for relative, content in files.items():
        (prom_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (prom_dir / relative).write_bytes(content)

    demo: Demo | None = start_demo([contract], {contract.name: module_port})
    try:
        with running_alertmanager(am_dir, port=alertmanager_port), \
                running_prometheus(prom_dir, port=prometheus_port) as prometheus:
            deadline = time.monotonic() + 30
            while not _query(prometheus, 'up{job="prompt-manager"} == 1'):
                assert time.monotonic() < deadline, "Prometheus never scraped the module"
                time.sleep(0.5)
            assert demo is not None
            demo.stop()
            demo = None

            def is_down(status: str) -> Callable[[Payload], bool]:
                return lambda p: p["status"] == status and p["commonLabels"].get("alertname") == down["alert"]

            firing = _next(webhook, is_down("firing"), 60)
            demo = start_demo([contract], {contract.name: module_port})
            resolved = _next(webhook, is_down("resolved"), 60)
    finally:
        if demo is not None:
            demo.stop()

    assert firing["path"] == "/page" and firing["receiver"] == "page"
    (alert,) = firing["alerts"]
    assert alert["labels"]["module"] == "prompt-manager" and alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == down["annotations"]["summary"] == "Prompt Manager is down"
    if "runbook_url" in down["annotations"]:
        assert alert["annotations"]["runbook_url"] == down["annotations"]["runbook_url"]
    assert resolved["path"] == "/page" and resolved["alerts"][0]["status"] == "resolved"
    assert resolved["groupLabels"] == {"module": "prompt-manager", "alertname": "PromptManagerDown"}
