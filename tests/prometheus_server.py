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
def running_prometheus(config_dir: Path, timeout: float = 30.0, port: int | None = None) -> Iterator[str]:
    """Run Prometheus on `config_dir/prometheus.yml` (on `port`, default a free one); yield its URL; stop it."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus not found: apt-get install -y --no-install-recommends prometheus")
    port = port or free_port()
    data = config_dir / "data"
    log = (config_dir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={config_dir / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
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
                raise RuntimeError(f"Prometheus did not become ready:\n{(config_dir / 'prometheus.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
