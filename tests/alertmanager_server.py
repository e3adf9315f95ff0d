"""Start Debian's real Alertmanager on 127.0.0.1 with a temp data dir and a random port."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port
from tests.prometheus_server import running_server

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
    args = [binary, f"--config.file={config_dir / 'alertmanager.yml'}", f"--storage.path={config_dir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]  # one instance: no gossip port
    with running_server("Alertmanager", args, f"http://127.0.0.1:{port}", config_dir / "alertmanager.log",
                        timeout) as url:
        yield url
