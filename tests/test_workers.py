"""Several workers: a real gunicorn with 2 sync workers and PROMETHEUS_MULTIPROC_DIR serves the sum of all workers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO

APP = """
import os, sys, time
sys.path.insert(0, {repo!r})
import attrs
from flask import Flask
from dashboards.prompt_manager import CONTRACT as PROMPT_MANAGER
from moddash.contract import GAUGE, Metric
from moddash.instrumentation import instrument
from moddash.instrumentation.flask import mount_metrics

CONTRACT = attrs.evolve(PROMPT_MANAGER, metrics=(
    *PROMPT_MANAGER.metrics,
    Metric("prompt_manager_workers_ready", GAUGE, "Workers ready to serve.", multiprocess_mode="livesum"),
    Metric("prompt_manager_config_generation", GAUGE, "Loaded configuration.", multiprocess_mode="max"),
))
metrics = instrument(CONTRACT)
metrics.set("workers_ready", 1)  # each worker imports the app after the fork
metrics.set("config_generation", 3 + os.getpid() % 2)
app = Flask(__name__)
mount_metrics(app, metrics)


@app.get("/work")
def work():
    with metrics.operation("render"):
        time.sleep(0.02)  # long enough that concurrent requests land on both workers
    return {{"pid": os.getpid()}}
"""

# The README's "Several workers" hook.
CONFIG = """
from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
"""

START_SECONDS = 30.0
REQUESTS = 60


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start gunicorn (2 sync workers, a random loopback port); yield its base URL and process; kill it after."""
    (tmp_path / "app.py").write_text(APP.format(repo=str(REPO)))
    (tmp_path / "gunicorn_conf.py").write_text(CONFIG)
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    for name in ("METRICS_TOKEN", "METRICS_TOKEN_FILE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync", "--bind", "127.0.0.1:0",
         "--config", "gunicorn_conf.py", "--chdir", str(tmp_path), "--error-logfile", str(log), "app:app"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        url = _wait_until_serving(log, process)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_until_serving(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text() if log.exists() else "gunicorn exited"
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text() if log.exists() else "")
        if match:
            try:
                if httpx.get(f"{match[1]}/metrics", timeout=5).status_code == 200:
                    return match[1]
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not serve within {START_SECONDS:g} s: {log.read_text() if log.exists() else ''}")


def operations_total(url: str) -> float:
    """Scrape /metrics over a new connection; return the sum of prompt_manager_operations_total."""
    body = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(body) for sample in family.samples
               if sample.name == "prompt_manager_operations_total")


def gauges(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Scrape /metrics; return the samples of the app's two gauges by name, labels and value."""
    body = httpx.get(f"{url}/metrics", timeout=10).text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name in ("prompt_manager_workers_ready", "prompt_manager_config_generation"):
                found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def work(url: str) -> int:
    """Call /work over a new connection; return the pid of the worker that served it."""
    response = httpx.get(f"{url}/work", timeout=10)
    response.raise_for_status()
    return int(response.json()["pid"])


def send_and_scrape(url: str, requests: int) -> tuple[set[int], list[float]]:
    """Send `requests` concurrent /work calls while scraping; return the serving pids and the scraped sums."""
    scraped = [operations_total(url)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(work, url) for _ in range(requests)]
        while not all(future.done() for future in futures):
            scraped.append(operations_total(url))
        pids = {future.result(timeout=30) for future in futures}
    scraped.append(operations_total(url))
    return pids, scraped


def test_metrics_is_the_sum_of_all_workers(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = server
    pids, scraped = send_and_scrape(url, REQUESTS)
    assert len(pids) == 2, f"all requests went to one worker: {pids}"
    assert scraped[0] == 0
    assert scraped[-1] == REQUESTS
    assert scraped == sorted(scraped), f"the sum went down between scrapes: {scraped}"
    # Every worker answers the same total, so whichever serves the scrape does not matter.
    assert {operations_total(url) for _ in range(10)} == {REQUESTS}


def test_gauges_combine_as_their_contract_declares(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = server
    pids, _ = send_and_scrape(url, REQUESTS)
    assert len(pids) == 2
    expected: dict[str, list[tuple[dict[str, str], float]]] = {
        "prompt_manager_workers_ready": [({}, 2.0)],  # livesum: one per live worker, no pid label
        "prompt_manager_config_generation": [({}, 4.0)],  # max over the workers (3 or 4 by pid parity)
    }
    if all(pid % 2 == 0 for pid in pids):
        expected["prompt_manager_config_generation"] = [({}, 3.0)]
    assert [gauges(url) for _ in range(6)] == [expected] * 6


def test_counts_of_a_dead_worker_are_kept(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = server
    pids, _ = send_and_scrape(url, REQUESTS)
    os.kill(min(pids), signal.SIGKILL)
    deadline = time.monotonic() + START_SECONDS
    sent, served_by = REQUESTS, set[int]()
    # gunicorn replaces the worker; the dead one's counts stay in its files and in the sum.
    while not served_by - pids and time.monotonic() < deadline:
        assert operations_total(url) == sent
        served_by.add(work(url))
        sent += 1
    assert served_by - pids, "gunicorn did not replace the killed worker"
    assert operations_total(url) == sent
    # child_exit removed the dead worker's live gauge, so the replacement does not count twice.
    assert gauges(url)["prompt_manager_workers_ready"] == [({}, 2.0)]
