"""Start Debian's real Prometheus server on 127.0.0.1 with a temp data dir and a random port."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port


@contextmanager
def running_process(name: str, args: list[str], url: str, log_path: Path,
                    timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run a Prometheus-family server (`args`), wait until `url/-/ready` answers 200, yield its process; stop it."""
    log = log_path.open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become ready:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def running_server(name: str, args: list[str], url: str, log_path: Path, timeout: float = 30.0) -> Iterator[str]:
    """Run a Prometheus-family server (`args`), wait until `url/-/ready` answers 200, yield `url`; stop it."""
    with running_process(name, args, url, log_path, timeout):
        yield url


@contextmanager
def running_prometheus(config_dir: Path, timeout: float = 30.0, port: int | None = None) -> Iterator[str]:
    """Run Prometheus on `config_dir/prometheus.yml` (on `port`, default a free one); yield its URL; stop it."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus not found: apt-get install -y --no-install-recommends prometheus")
    port = port or free_port()
    args = [binary, f"--config.file={config_dir / 'prometheus.yml'}", f"--storage.tsdb.path={config_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"]
    with running_server("Prometheus", args, f"http://127.0.0.1:{port}", config_dir / "prometheus.log",
                        timeout) as url:
        yield url
