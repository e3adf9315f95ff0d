"""Start Debian's real Alertmanager on 127.0.0.1 with a temp data dir and a random port."""

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

# Debian installs it as prometheus-alertmanager; upstream's tarball as alertmanager.
BINARIES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str | None:
    """Return the path of an Alertmanager binary on PATH, or None."""
    return next((path for path in map(shutil.which, BINARIES) if path), None)


@contextmanager
def running_alertmanager(config_dir: Path, timeout: float = 30.0, port: int | None = None) -> Iterator[str]:
    """Run Alertmanager on `config_dir/alertmanager.yml` (on `port`, default a free one); yield its URL; stop it."""
    binary = alertmanager_binary()
    if binary is None:
        raise RuntimeError("alertmanager not found: apt-get install -y --no-install-recommends prometheus-alertmanager")
    port = port or free_port()
    log_path = config_dir / "alertmanager.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={config_dir / 'alertmanager.yml'}", f"--storage.path={config_dir / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],  # one instance: no gossip port
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
                raise RuntimeError(f"Alertmanager did not become ready:\n{log_path.read_text()}")
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
