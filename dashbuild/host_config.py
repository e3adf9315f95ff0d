"""`python build.py prometheus-config`: the Prometheus tree for a Prometheus running on the host, not in compose.

The generated `prometheus/prometheus.yml` points every module at `host.docker.internal`, which only the
compose container resolves. This writes the same config and rules to another folder with the module
targets on a host of your choice (e.g. `127.0.0.1`, where `python build.py demo` listens), optionally with
the demo's port offset or per-module ports, Prometheus' own scrape job at the address it listens on, and
its alerts sent to an Alertmanager on the host (`127.0.0.1:9093` by default).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from dashbuild.errors import BuildError
from dashbuild.files import YAML_HEADER, dump_yaml, write_atomic
from dashbuild.prometheus import CONFIG_FILE, RULES_DIR, prometheus_config
from moddash.contract import ModuleContract, ScrapeTarget

PREFIX = CONFIG_FILE.rpartition("/")[0] + "/"  # "prometheus/"
RULES_PREFIX = RULES_DIR + "/"
# Where `prometheus-alertmanager` listens when it runs on the same host.
DEFAULT_ALERTMANAGER_ADDRESS = "127.0.0.1:9093"


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


def check_address(option: str, address: str) -> str:
    """Return `address` if it is HOST:PORT (host name, IPv4 or [IPv6]; port 1-65535); else raise BuildError."""
    host, colon, port = address.rpartition(":")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    problem = None
    if not (colon and port.isdigit() and 1 <= int(port) <= 65535):
        problem = "expected HOST:PORT, e.g. 127.0.0.1:9093"
    else:
        try:
            ScrapeTarget(port=int(port), host=bare)
        except ValueError:
            problem = "expected HOST:PORT with a bare host name, an IPv4 address or [IPv6], e.g. 127.0.0.1:9093"
    if problem is None and ":" in bare and not host.startswith("["):
        problem = "write an IPv6 host in brackets, e.g. [::1]:9093"
    if problem:
        raise BuildError(f"{option} {address!r}", problem)
    return address


def host_files(contracts: Sequence[ModuleContract], built: Mapping[str, bytes], host: str | None,
               port_offset: int = 0, ports: Mapping[str, int] | None = None, self_address: str = "127.0.0.1:9090",
               alertmanager_address: str = DEFAULT_ALERTMANAGER_ADDRESS) -> dict[str, bytes]:
    """Return `prometheus.yml` and `rules/*.yml` (paths relative to the output folder) for a host Prometheus.

    The rule files are the build's own (`built`, by repository path); only prometheus.yml differs: module
    targets on `host`, Prometheus' own job at `self_address`, alerts to the Alertmanager at
    `alertmanager_address` (HOST:PORT; raise BuildError otherwise).
    """
    check_address("--alertmanager-address", alertmanager_address)
    config = prometheus_config(retarget(contracts, host, port_offset, ports), self_address, alertmanager_address)
    rules = {path.removeprefix(PREFIX): content for path, content in built.items() if path.startswith(RULES_PREFIX)}
    return {CONFIG_FILE.removeprefix(PREFIX): dump_yaml(config), **rules}


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
