"""A Prometheus that scrapes the modules at fixed addresses (an environment's `static=`): the local stack's
prometheus.yml with each listed module's instances as its targets, this server's external labels, and the local
rule files unchanged (the same global evaluation interval, so the same semantics).

Written as `prometheus/` under the environment's folder, the layout the compose stack mounts, and checked with
`promtool check config` as the local tree is, before anything is written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import dump_yaml
from dashbuild.host_config import check_address
from dashbuild.prometheus import CONFIG_FILE, RULES_DIR, prometheus_config
from dashbuild.promtool_check import check_prometheus_tree
from moddash.contract import ModuleContract
from panels.environment import StaticSettings


def setting_problems(contracts: Sequence[ModuleContract], settings: StaticSettings) -> list[str]:
    """Return what is wrong with the settings for these modules: unknown module slugs, malformed addresses."""
    slugs = {contract.slug for contract in contracts}
    problems = [f"targets names no module {slug!r} (modules: {', '.join(sorted(slugs))})"
                for slug, _addresses in settings.targets if slug not in slugs]
    checked = [("self_address", settings.self_address), ("alertmanager_address", settings.alertmanager_address),
               *((f"targets[{slug!r}]", address) for slug, addresses in settings.targets for address in addresses)]
    problems += [f"targets[{slug!r}] lists no address" for slug, addresses in settings.targets if not addresses]
    for option, address in checked:
        try:
            check_address(option, address)
        except BuildError as error:
            problems.append(str(error))
    return problems


def static_files(contracts: Sequence[ModuleContract], built: Mapping[str, bytes], settings: StaticSettings,
                 shown: str = "") -> dict[str, bytes]:
    """Return prometheus/prometheus.yml and prometheus/rules/*.yml for the environment; `built` is the local
    build's output, whose rule files are reused as they are. Raise BuildFailed when promtool refuses the tree,
    naming its files under `shown` (the environment's folder)."""
    config = prometheus_config(contracts, settings.self_address, settings.alertmanager_address)
    addresses = dict(settings.targets)
    jobs = {contract.job: contract.slug for contract in contracts}
    for job in config["scrape_configs"]:
        slug = jobs.get(job["job_name"])
        if slug in addresses:
            job["static_configs"][0]["targets"] = list(addresses[slug])
    if settings.external_labels:
        config["global"]["external_labels"] = dict(settings.external_labels)
    files = {CONFIG_FILE: dump_yaml(config),
             **{path: content for path, content in built.items() if path.startswith(RULES_DIR + "/")}}
    # The environment's folder holds only generated files: no hand-made rule files to check along.
    with tempfile.TemporaryDirectory(prefix="dashbuild-static-") as empty:
        outcome = check_prometheus_tree(Path(empty), files, {})
    if outcome.errors:
        raise BuildFailed([BuildError(f"{shown}{error.file}", error.message, error.panel) for error in outcome.errors])
    return dict(sorted(files.items()))
