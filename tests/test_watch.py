"""`python build.py watch` as a user runs it: a real process in a copy of the repository, files edited under it,
a real Prometheus reloaded by SIGHUP, and Ctrl-C or SIGTERM to stop it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from dashbuild.watch import is_input, prometheus_reloader, reload_server
from tests.conftest import BuildRunner, free_port, snapshot
from tests.prometheus_server import running_process

SUMMARY = re.compile(r"^\d+ written, \d+ unchanged, \d+ removed \(manifest: build-manifest\.json\)$")
MODULE = Path("dashboards/prompt_manager.py")
DASHBOARD = Path("provisioning/dashboards/prompt-manager.json")
ALERTS = Path("prometheus/rules/prompt-manager.alerts.yml")
TITLE = 'title="Operations/s by status"'
# Generous for two shared cores: a build takes about 2 s there, the watcher's quiet time is 0.1 s.
STEP_SECONDS = 15.0


class Watching:
    """A running `python build.py watch`: every line it prints, in order, as (stream, text)."""

    def __init__(self, root: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # A long lock wait: on a loaded machine a build by hand may hold the lock for seconds.
        self.process = subprocess.Popen([sys.executable, str(root / "build.py"), "--lock-timeout", "60", "watch",
                                         "--debounce", "100", *args],
                                        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[str, str]] = []
        self.changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self.readers = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr))]
        for reader in self.readers:
            reader.start()

    def _read(self, name: str, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            with self.changed:
                self.lines.append((name, line.rstrip("\n")))
                self.changed.notify_all()

    def mark(self) -> int:
        """Return how many lines have been printed so far, to wait for what comes after them."""
        with self.changed:
            return len(self.lines)

    def wait_for(self, pattern: str | re.Pattern[str], after: int = 0, timeout: float = STEP_SECONDS) -> int:
        """Return the index of the first line after `after` that matches `pattern` (searched); fail after
        `timeout` seconds, showing everything printed."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for index in range(after, len(self.lines)):
                    if regex.search(self.lines[index][1]):
                        return index
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not any(r.is_alive() for r in self.readers)):
                    pytest.fail(f"no line matching {regex.pattern!r} within {timeout:g} s:\n{self.text()}")
                self.changed.wait(min(left, 0.2))

    def since(self, index: int, stream: str) -> list[str]:
        """Return the lines of `stream` ("out" or "err") printed from `index` on."""
        with self.changed:
            return [text for name, text in self.lines[index:] if name == stream]

    def text(self) -> str:
        """Return everything printed so far, each line prefixed with its stream."""
        with self.changed:
            return "\n".join(f"{name}: {text}" for name, text in self.lines)

    def stop(self, signum: signal.Signals) -> int:
        """Send `signum`, and return the exit code once the process and its output have ended."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=STEP_SECONDS)
        for reader in self.readers:
            reader.join(timeout=5)
        return code


@contextmanager
def watching(root: Path, *args: str) -> Iterator[Watching]:
    """Run `python build.py watch ARGS` in `root`; whatever happens, end it (SIGTERM, then SIGKILL) afterwards."""
    watch = Watching(root, *args)
    try:
        yield watch
    finally:
        if watch.process.poll() is None:
            watch.process.terminate()
            try:
                watch.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watch.process.kill()
                watch.process.wait()


def edit(root: Path, old: str, new: str) -> None:
    """Replace `old` (which must be there) by `new` in the module file, as an editor saving it would."""
    path = root / MODULE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def panel_titles(root: Path) -> list[str]:
    """Return every panel title of the prompt manager's generated dashboard."""
    return [panel["title"] for panel in json.loads((root / DASHBOARD).read_text())["panels"]]


def wait_until(condition: Callable[[], bool], timeout: float = STEP_SECONDS) -> float:
    """Wait until `condition()` is true; return the seconds it took; fail after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not true within {timeout:g} s")
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_save_is_rebuilt_a_broken_one_changes_nothing_and_ctrl_c_stops(repo_copy: Path) -> None:
    with watching(repo_copy) as watch:
        first = watch.wait_for(SUMMARY, timeout=30)
        assert watch.since(0, "out")[0].startswith("watching dashboards/, panels/, rules/ (Ctrl-C to stop)")
        # Editors' swap and backup files, vim's write test and bytecode are not inputs.
        for junk in (".prompt_manager.py.swp", "4913", "prompt_manager.py~", "#prompt_manager.py#"):
            (repo_copy / "dashboards" / junk).write_text("junk")
        (repo_copy / "dashboards" / "__pycache__").mkdir(exist_ok=True)
        (repo_copy / "dashboards" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")

        saved = time.monotonic()
        edit(repo_copy, TITLE, 'title="Operations/s by outcome"')
        changed = watch.wait_for("^changed: ", after=first)
        assert watch.lines[changed] == ("out", "changed: dashboards/prompt_manager.py")
        watch.wait_for(SUMMARY, after=changed)
        assert "Operations/s by outcome" in panel_titles(repo_copy)
        assert time.monotonic() - saved < 10

        before = snapshot(repo_copy)
        broken = watch.mark()
        (repo_copy / MODULE).write_text((repo_copy / MODULE).read_text() + "\noops(\n")
        watch.wait_for(r"^build failed with 1 error\(s\); no file was changed$", after=broken)
        errors = [line for line in watch.since(broken, "err") if line.startswith("error:")]
        assert len(errors) == 1
        assert re.fullmatch(r"error: dashboards/prompt_manager\.py: failed to load \(line \d+\): SyntaxError: .*",
                            errors[0])
        assert snapshot(repo_copy) == before

        fixed = watch.mark()
        edit(repo_copy, 'title="Operations/s by outcome"', 'title="Operations/s by result"')
        (repo_copy / MODULE).write_text((repo_copy / MODULE).read_text().replace("\noops(\n", ""))
        watch.wait_for(SUMMARY, after=fixed)
        wait_until(lambda: "Operations/s by result" in panel_titles(repo_copy), timeout=5)
        # Until now no rule changed, so nothing was said about Prometheus.
        assert not any("Prometheus" in line for line in watch.since(0, "err")), watch.text()

        # Without a way to reload Prometheus, a rules change prints the documented command.
        rules = watch.mark()
        edit(repo_copy, "error_ratio=0.05", "error_ratio=0.07")
        noted = watch.wait_for("^note: Prometheus", after=rules)
        assert watch.lines[noted] == ("err", "note: Prometheus' config or rules changed: reload it with `docker "
                                             "compose kill -s HUP prometheus` (README.md: After a rebuild), or let "
                                             "watch do it (`python build.py watch --help`)")

        assert watch.stop(signal.SIGINT) == 0
    assert watch.since(0, "out")[-1] == "stopped watching"
    assert not any("Traceback" in line for line in watch.since(0, "err")), watch.text()


def test_only_a_build_that_changes_the_rules_reloads_and_a_concurrent_build_is_serialised(
        repo_copy: Path, build_cli: BuildRunner, tmp_path: Path) -> None:
    log = tmp_path / "reloads.log"
    script = tmp_path / "reload.py"
    script.write_text(f"with open({str(log)!r}, 'a') as log:\n    log.write('reload\\n')\n")
    command = shlex.join([sys.executable, str(script)])
    with watching(repo_copy, "--reload-command", command) as watch:
        first = watch.wait_for(SUMMARY, timeout=30)
        edit(repo_copy, TITLE, 'title="Operations/s by outcome"')
        watch.wait_for(SUMMARY, after=first + 1)

        rules = watch.mark()
        edit(repo_copy, "error_ratio=0.05", "error_ratio=0.07")
        reloaded = watch.wait_for("^reloaded Prometheus ", after=rules)
        assert watch.lines[reloaded] == ("out", f"reloaded Prometheus (`{command}`)")
        assert "> 0.07" in (repo_copy / ALERTS).read_text()
        # The first build, the title change: nothing of Prometheus' changed, so one reload in all.
        assert log.read_text() == "reload\n"

        # A build by hand while watch rebuilds: the build lock serialises them and both succeed.
        concurrent = watch.mark()
        edit(repo_copy, "error_ratio=0.07", "error_ratio=0.08")
        by_hand = build_cli(repo_copy, "--lock-timeout", "60")
        assert by_hand.returncode == 0, by_hand.stderr
        watch.wait_for("^reloaded Prometheus ", after=concurrent)
        assert not [line for line in watch.since(concurrent, "err") if line.startswith("error:")], watch.text()

        assert watch.stop(signal.SIGTERM) == 0
    assert log.read_text() == "reload\nreload\n"
    check = build_cli(repo_copy, "--check")
    assert check.returncode == 0, check.stderr


def prometheus_metric(url: str, name: str) -> float:
    """Return the value of one of Prometheus' own unlabelled metrics, from its /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    (value,) = re.findall(rf"^{name} (\S+)$", text, flags=re.MULTILINE)
    return float(value)


def alert_query(url: str, alert: str) -> str:
    """Return the query of the alert rule named `alert` that Prometheus has loaded."""
    with urllib.request.urlopen(f"{url}/api/v1/rules?type=alert", timeout=5) as response:
        groups = json.load(response)["data"]["groups"]
    (query,) = [rule["query"] for group in groups for rule in group["rules"] if rule["name"] == alert]
    assert isinstance(query, str)
    return query


@contextmanager
def prometheus(config: Path, data: Path) -> Iterator[tuple[int, str]]:
    """Run Debian's Prometheus on `config` on a free loopback port, without the lifecycle API (it reloads on
    SIGHUP only, as in compose); yield its pid and URL; stop it."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: apt-get install -y --no-install-recommends prometheus")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [binary, f"--config.file={config}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}"]
    with running_process("Prometheus", args, url, data.parent / "prometheus.log") as process:
        yield process.pid, url


def test_a_rules_change_reloads_a_real_prometheus_by_sighup(repo_copy: Path, tmp_path: Path) -> None:
    with prometheus(repo_copy / "prometheus" / "prometheus.yml", tmp_path / "data") as (pid, url):
        assert "> 0.05" in alert_query(url, "PromptManagerHighErrorRatio")
        loaded = prometheus_metric(url, "prometheus_config_last_reload_success_timestamp_seconds")
        with watching(repo_copy, "--prometheus-pid", str(pid)) as watch:
            first = watch.wait_for(SUMMARY, timeout=30)
            assert f"Prometheus is reloaded by SIGHUP to pid {pid} after a build that changes Prometheus' config " \
                   "or rules" in watch.since(0, "out")
            edit(repo_copy, "error_ratio=0.05", "error_ratio=0.07")
            reloaded = watch.wait_for("reloaded Prometheus", after=first)
            assert watch.lines[reloaded] == ("out", f"reloaded Prometheus (SIGHUP to pid {pid})")
            wait_until(lambda: "> 0.07" in alert_query(url, "PromptManagerHighErrorRatio"), timeout=10)
            assert prometheus_metric(url, "prometheus_config_last_reload_success_timestamp_seconds") > loaded
            assert prometheus_metric(url, "prometheus_config_last_reload_successful") == 1
            assert watch.stop(signal.SIGTERM) == 0
        assert not [line for line in watch.since(0, "err") if line.startswith(("warning:", "error:"))], watch.text()


def test_a_new_and_a_deleted_module_file_with_a_dead_prometheus_pid(repo_copy: Path, build_cli: BuildRunner) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    dashboard = repo_copy / "provisioning" / "dashboards" / "billing-gateway.json"
    with watching(repo_copy, "--prometheus-pid", str(gone.pid)) as watch:
        first = watch.wait_for(SUMMARY, timeout=30)
        assert [line for line in watch.since(0, "err") if line.startswith(("warning:", "error:"))] == [
            f"warning: Prometheus: pid {gone.pid} is not running; watching anyway"]

        created = build_cli(repo_copy, "new-module", "billing_gateway", "--port", "8099")
        assert created.returncode == 0, created.stderr
        added = watch.wait_for("^changed: ", after=first)
        assert watch.lines[added][1] == "changed: dashboards/billing_gateway.py (added)"
        watch.wait_for(SUMMARY, after=added)
        assert dashboard.is_file()
        warned = watch.wait_for("^warning: Prometheus not reloaded", after=added)
        assert watch.lines[warned] == ("err", f"warning: Prometheus not reloaded: pid {gone.pid} is not running")

        (repo_copy / "dashboards" / "billing_gateway.py").unlink()
        deleted = watch.wait_for("^changed: ", after=warned)
        assert watch.lines[deleted][1] == "changed: dashboards/billing_gateway.py (deleted)"
        watch.wait_for("^removed: provisioning/dashboards/billing-gateway.json$", after=deleted)
        assert not dashboard.exists()
        assert watch.process.poll() is None

        # Ctrl-C while a build runs: the build finishes, then watch exits 0.
        interrupted = watch.mark()
        edit(repo_copy, TITLE, 'title="Operations/s by outcome"')
        watch.wait_for("^changed: ", after=interrupted)
        time.sleep(0.5)
        assert watch.stop(signal.SIGINT) == 0
    assert watch.since(0, "out")[-1] == "stopped watching"
    assert not any("Traceback" in line for line in watch.since(0, "err")), watch.text()
    assert "Operations/s by outcome" in panel_titles(repo_copy)
    leftovers = [p.name for p in repo_copy.rglob(".*") if p.name == ".build-journal.json"
                 or (".dashbuild-" in p.name and p.name != ".dashbuild-cache")]
    assert leftovers == []


@pytest.mark.parametrize(("name", "counted"), [
    ("prompt_manager.py", True), ("settings.py", True), ("sub/helpers.py", True), ("targets.json", True),
    (".prompt_manager.py.swp", False), (".prompt_manager.py.swx", False), ("prompt_manager.py~", False),
    ("4913", False), (".#prompt_manager.py", False), ("#prompt_manager.py#", False),
    ("prompt_manager.py___jb_tmp___", False), ("__pycache__/prompt_manager.cpython-311.pyc", False),
    (".git/index", False), ("prompt_manager.py.orig", False),
])
def test_only_inputs_count_as_changes(tmp_path: Path, name: str, counted: bool) -> None:
    folder = tmp_path / "dashboards"
    assert is_input([folder], folder / name) is counted


def test_no_input_outside_the_watched_folders(tmp_path: Path) -> None:
    assert not is_input([tmp_path / "dashboards"], tmp_path / "provisioning" / "dashboards" / "x.json")


def test_sighup_goes_only_to_prometheus(tmp_path: Path) -> None:
    # SIGHUP ends most programs: a pid that now belongs to something else is left alone.
    other = subprocess.Popen(["sleep", "30"])
    try:
        wait_until(lambda: Path(f"/proc/{other.pid}/comm").read_text().strip() == "sleep", timeout=5)
        line = reload_server(prometheus_reloader(pid=other.pid), tmp_path)
        assert line == f"warning: Prometheus not reloaded: pid {other.pid} is 'sleep', not prometheus; not signalled"
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize(("content", "reason"), [
    (None, "cannot read {pidfile}: no such file or directory"),
    ("", "{pidfile} does not hold a pid: ''"),
    ("0\n", "{pidfile} does not hold a pid: '0'"),
    ("-1\n", "{pidfile} does not hold a pid: '-1'"),
])
def test_a_bad_pidfile_is_one_warning(tmp_path: Path, content: str | None, reason: str) -> None:
    pidfile = tmp_path / "prometheus.pid"
    if content is not None:
        pidfile.write_text(content)
    line = reload_server(prometheus_reloader(pidfile=pidfile), tmp_path)
    assert line == f"warning: Prometheus not reloaded: {reason.format(pidfile=pidfile)}"


def test_a_failing_reload_command_is_one_warning(tmp_path: Path) -> None:
    failing = (sys.executable, "-c", "import sys; print('no such service: prometheus', file=sys.stderr); sys.exit(3)")
    line = reload_server(prometheus_reloader(command=failing), tmp_path)
    assert line.startswith("warning: Prometheus not reloaded: `")
    assert line.endswith("` exited 3: no such service: prometheus")
    missing = reload_server(prometheus_reloader(command=("no-such-command-here", "-s", "HUP")), tmp_path)
    assert missing == "warning: Prometheus not reloaded: `no-such-command-here -s HUP`: command not found"
