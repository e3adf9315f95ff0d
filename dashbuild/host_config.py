"""`python build.py prometheus-config`: the Prometheus tree for a Prometheus running on the host, not in compose.

The generated `prometheus/prometheus.yml` points every module at `host.docker.internal`, which only the
compose container resolves. This writes the same config and rules to another folder with the module
targets on a host of your choice (e.g. `127.0.0.1`, where `python build.py demo` listens), optionally with
the demo's port offset or per-module ports, and Prometheus' own scrape job at the address it listens on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from contract import ModuleContract, ScrapeTarget
from dashbuild.errors import BuildError
from dashbuild.files import YAML_HEADER, write_atomic
from dashbuild.prometheus import CONFIG_FILE, prometheus_files

PREFIX = CONFIG_FILE.rpartition("/")[0] + "/"  # "prometheus/"


def retarget(contracts: Sequence[ModuleContract], host: str | None, port_offset: int = 0,
             ports: Mapping[str, int] | None = None) -> list[ModuleContract]:
    """Return the contracts with their scrape targets moved to `host` and shifted ports; raise BuildError."""
    if host is not None:
        try:
            ScrapeTarget(port=1, host=host)
        except ValueError as error:
            raise BuildError(f"--targets-host {host!r}", str(error).replace("ScrapeTarget(", "").split(": use")[0]) \
                from None
    moved = []
    for contract in contracts:
        port = (ports or {}).get(contract.name, contract.target.port + port_offset)
        try:
            target = attrs.evolve(contract.target, host=host or contract.target.host, port=port)
        except ValueError as error:
            where = f"{host or contract.target.host}:{port}"
            raise BuildError(f"dashboards/{contract.name}.py", f"cannot scrape it at {where}: {error}") from None
        moved.append(attrs.evolve(contract, target=target))
    return moved


def host_files(contracts: Sequence[ModuleContract], host: str | None, port_offset: int = 0,
               ports: Mapping[str, int] | None = None, self_address: str = "127.0.0.1:9090") -> dict[str, bytes]:
    """Return `prometheus.yml` and `rules/*.yml` (paths relative to the output folder) for a host Prometheus."""
    files = prometheus_files(retarget(contracts, host, port_offset, ports), self_address)
    return {path.removeprefix(PREFIX): content for path, content in files.items()}


def _ours(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(YAML_HEADER)) == YAML_HEADER.encode()
    except OSError:
        return False


def write_host_tree(out: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write `files` under `out`, replacing only files we wrote before; return the stale rule files removed.

    A file at one of our paths that lacks our do-not-edit header is someone else's: refuse (BuildError).
    """
    for relative in sorted(files):
        path = out / relative
        if path.exists() and not _ours(path):
            raise BuildError(str(path), "exists and was not written by `python build.py`: choose another --out folder")
    stale = sorted(p for p in (out / "rules").glob("*.yml") if p.name not in
                   {r.rpartition("/")[2] for r in files if r.startswith("rules/")} and _ours(p))
    for relative, content in sorted(files.items()):
        try:
            write_atomic(out / relative, content)
        except OSError as error:
            raise BuildError(str(out / relative), (error.strerror or str(error)).lower()) from None
    for path in stale:
        with contextlib.suppress(OSError):
            path.unlink()
    return [p.as_posix() for p in stale]
