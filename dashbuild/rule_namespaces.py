"""The rule groups for a horizontally scaled store: Grafana Mimir and Cortex load them as
namespace files (`mimirtool rules load`: `namespace:` and `groups:`), Thanos' ruler as Prometheus rule files,
where each group may say how to treat a partial response from the store.

The groups are the local stack's (the same recording rules, alerts and SLO rules, each group at the local
evaluation interval), so dashboards and alerts mean the same whichever store evaluates them. A store holding
several clusters' series gets them per cluster (dashbuild/aggregation_label.py) when the environment names the
label that tells the clusters apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashbuild.aggregation_label import NotPerCluster, groups_per_label
from dashbuild.environment_rules import rule_sets
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import YAML_HEADER, dump_yaml
from moddash.contract import ModuleContract
from panels.environment import RuleStore
from panels.settings import RUNBOOKS

Json = dict[str, Any]


def rule_groups(contracts: Sequence[ModuleContract], runbooks: str = RUNBOOKS,
                prometheus_job: str | None = None) -> dict[str, list[Json]]:
    """Return the environment's rule groups by namespace: the recording rules, one namespace per module (its alerts
    and SLO rules), and the monitoring alerts when `prometheus_job` names Prometheus' own scrape job."""
    namespaces: dict[str, list[Json]] = {}
    for rule_set in rule_sets(contracts, runbooks, prometheus_job):
        namespaces.setdefault(rule_set.namespace, []).extend(rule_set.groups)
    return namespaces


def rule_namespace_files(contracts: Sequence[ModuleContract], store: RuleStore, folder: str,
                         runbooks: str = RUNBOOKS) -> dict[str, bytes]:
    """Return one rule file per namespace under `folder`, in the store's format, per cluster when the store says
    so; raise BuildFailed naming a rule that cannot be kept apart per cluster."""
    files: dict[str, bytes] = {}
    for name, local_groups in rule_groups(contracts, runbooks, store.prometheus_job).items():
        namespace = f"{store.namespace_prefix}-{name}"
        groups = local_groups
        if store.aggregation_label is not None:
            try:
                groups = groups_per_label(local_groups, store.aggregation_label)
            except NotPerCluster as error:
                raise BuildFailed([BuildError(f"{folder}/{namespace}.yml", str(error))]) from None
        if store.kind == "thanos":
            strategy = store.partial_response_strategy
            content: Json = {"groups": [{**group, "partial_response_strategy": strategy} if strategy else group
                                        for group in groups]}
            files[f"{folder}/{namespace}.yml"] = dump_yaml(content)
        else:
            text = dump_yaml({"namespace": namespace, "groups": groups})
            note = f"# {store.kind} tenant: {store.tenant} (mimirtool rules load --id={store.tenant} ...)\n"
            files[f"{folder}/{namespace}.yml"] = text.replace(YAML_HEADER.encode(), YAML_HEADER.encode()
                                                              + note.encode(), 1)
    return dict(sorted(files.items()))
