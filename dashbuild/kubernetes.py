"""Kubernetes objects from the same module files (issue 15, in progress: not yet wired to `build.py --env`).

For the Prometheus Operator (kube-prometheus-stack): a `ServiceMonitor` (or `PodMonitor`) per module, whose
relabelings set the `module` and `service` labels our dashboards and rules select by, and `PrometheusRule`
objects holding the same rule groups as the local stack's rule files. For Grafana: each dashboard as a
`ConfigMap` for the dashboard sidecar, or a `GrafanaDashboard` for the Grafana Operator. One file per object,
and a `kustomization.yaml` listing them; every object is checked with `dashbuild.k8s_schema` before it is
returned, so output the API server would refuse is never written.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping, Sequence
from typing import Any

from dashbuild.cluster_filter import NotFiltered, per_cluster
from dashbuild.compiled import CompiledDashboard
from dashbuild.environment_rules import rule_sets
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import dump_json, dump_yaml
from dashbuild.k8s_schema import CONFIGMAP_LIMIT, object_problems
from dashbuild.schema import validate_dashboard
from moddash.contract import ModuleContract
from panels.environment import KubernetesSettings, Workload
from panels.settings import DATASOURCE_NAME, DATASOURCE_UID, DATASOURCE_VARIABLE, RUNBOOKS, SCRAPE_INTERVAL

Json = dict[str, Any]


def _metadata(name: str, settings: KubernetesSettings, labels: Mapping[str, str] | None = None,
              annotations: Mapping[str, str] | None = None) -> Json:
    metadata: Json = {"name": name, "namespace": settings.namespace,
                      "labels": {"app.kubernetes.io/managed-by": "dashbuild", **(labels or {})}}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def _relabelings(contract: ModuleContract, settings: KubernetesSettings) -> list[Json]:
    # After the operator's own relabelings, which set `job` and `service` from the Kubernetes Service's name: the
    # dashboards and rules select by the local stack's values.
    labels = {"job": contract.job, "module": contract.slug, "service": contract.service,
              **dict(settings.extra_labels)}
    return [{"action": "replace", "targetLabel": name, "replacement": value} for name, value in sorted(labels.items())]


# What every target carries on the operator's path: its own relabelings', then ours.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "service", "pod", "container", "endpoint", "node",
                           "module"})


def label_collisions(contract: ModuleContract, settings: KubernetesSettings) -> list[str]:
    """Return `metric: label` for each label a metric declares that its targets also carry there: Prometheus would
    rename the metric's to `exported_<label>`, and queries selecting it would find nothing."""
    taken = TARGET_LABELS | {name for name, _value in settings.extra_labels}
    return [f"{metric.name}: {label}" for metric in contract.metrics for label in metric.labels if label in taken]


def monitor(contract: ModuleContract, settings: KubernetesSettings) -> Json:
    """Return the ServiceMonitor (or PodMonitor) scraping one module as the local stack's scrape job does."""
    target = contract.target
    workload = dict(settings.workloads).get(contract.slug, Workload())
    endpoint: Json = {"port": workload.port_name or settings.port_name, "path": target.path,
                      "interval": SCRAPE_INTERVAL,
                      "relabelings": _relabelings(contract, settings)}
    if target.scheme != "http":
        endpoint["scheme"] = target.scheme
    if target.params:
        endpoint["params"] = {name: list(values) for name, values in target.params}
    if target.bearer_token_file is not None:
        if settings.token_secret is None:
            raise ValueError(f"module {contract.name!r} protects /metrics with a bearer token: set the "
                             "environment's token_secret (Secret name, key)")
        secret, key = settings.token_secret
        endpoint["authorization"] = {"type": "Bearer", "credentials": {"name": secret, "key": key}}
    kind = "ServiceMonitor" if settings.monitor == "service" else "PodMonitor"
    endpoints = "endpoints" if settings.monitor == "service" else "podMetricsEndpoints"
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind,
            "metadata": _metadata(contract.slug, settings, {"release": settings.release}),
            "spec": {"jobLabel": settings.app_label,
                     "selector": {"matchLabels": {settings.app_label: workload.name or contract.slug}},
                     "namespaceSelector": {"matchNames": [workload.namespace]} if workload.namespace else {"any": True},
                     endpoints: [endpoint]}}


def prometheus_rule(name: str, groups: Sequence[Json], settings: KubernetesSettings) -> Json:
    """Return a PrometheusRule holding rule groups, labelled for the operator's ruleSelector."""
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": _metadata(name, settings, {"release": settings.release}),
            "spec": {"groups": list(groups)}}


def rule_objects(contracts: Sequence[ModuleContract], settings: KubernetesSettings,
                 runbooks: str = RUNBOOKS) -> list[Json]:
    """Return the PrometheusRules: the recording rules, each module's alerts and SLO rules, and the alerts about
    Prometheus itself unless the environment leaves them to the chart's own rules."""
    return [prometheus_rule(rule_set.name, rule_set.groups, settings)
            for rule_set in rule_sets(contracts, runbooks, settings.prometheus_job)]


def _gzipped(text: bytes) -> str:
    # mtime=0: the same bytes on every run.
    return base64.b64encode(gzip.compress(text, compresslevel=9, mtime=0)).decode("ascii")


def reading_from(value: Any, datasource_uid: str) -> Any:
    """Return a dashboard (or part of one) whose references to the project's Prometheus data source, and its data
    source variable's default, name `datasource_uid` instead."""
    if datasource_uid == DATASOURCE_UID:
        return value
    if isinstance(value, list):
        return [reading_from(item, datasource_uid) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("type") == "datasource" and value.get("name") == DATASOURCE_VARIABLE:
        return {**value, "current": {**value.get("current", {}), "value": datasource_uid}}
    if value.get("uid") == DATASOURCE_UID and value.get("type") in ("prometheus", None) and len(value) <= 2:
        return {**value, "uid": datasource_uid}
    return {key: reading_from(item, datasource_uid) for key, item in value.items()}


def dashboard_object(dashboard: CompiledDashboard, settings: KubernetesSettings) -> Json:
    """Return a dashboard for the Grafana sidecar (ConfigMap) or the Grafana Operator (GrafanaDashboard).

    A ConfigMap over the API server's 1 MiB is refused; the operator's object carries large dashboards gzipped.
    """
    uid = str(dashboard.json.get("uid"))
    name = uid.lower().replace("_", "-")
    read = reading_from(dashboard.json, settings.datasource_uid)
    if settings.cluster_label is not None:
        try:
            read = per_cluster(read, settings.cluster_label)
        except NotFiltered as error:
            raise ValueError(f"cannot filter by {settings.cluster_label}: {error}") from None
        problems = validate_dashboard(read)
        if problems:
            raise ValueError(f"with the cluster variable, Grafana's schema refuses it: {problems[0]}")
    content = dump_json(read)
    if settings.grafana == "sidecar":
        obj: Json = {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": _metadata(f"dashboard-{name}", settings, dict(settings.dashboard_label),
                                           {"grafana_folder": settings.folder}),
                     "data": {dashboard.filename: content.decode("utf-8")}}
        if len(content) > CONFIGMAP_LIMIT:
            raise ValueError(f"{dashboard.filename} is {len(content)} bytes, over the {CONFIGMAP_LIMIT} bytes a "
                             "ConfigMap may hold; use the Grafana Operator (grafana='operator'), which takes it "
                             "gzipped, or split the dashboard")
        return obj
    spec: Json = {"instanceSelector": {"matchLabels": dict(settings.instance_selector)}, "folder": settings.folder,
                  "resyncPeriod": "10m"}
    if len(content) > CONFIGMAP_LIMIT // 2:
        spec["gzipJson"] = _gzipped(content)
    else:
        spec["json"] = content.decode("utf-8")
    return {"apiVersion": "grafana.integreatly.org/v1beta1", "kind": "GrafanaDashboard",
            "metadata": _metadata(name, settings), "spec": spec}


def datasource_object(settings: KubernetesSettings) -> Json | None:
    """Return the dashboards' Prometheus data source for the Grafana sidecar (a ConfigMap of provisioning YAML) or
    the Grafana Operator (a GrafanaDatasource), or None when the environment leaves it to Grafana's own setup."""
    if settings.datasource_url is None:
        return None
    source: Json = {"name": DATASOURCE_NAME, "uid": settings.datasource_uid, "type": "prometheus", "access": "proxy",
                    "url": settings.datasource_url, "isDefault": True,
                    "jsonData": {"timeInterval": SCRAPE_INTERVAL, "httpMethod": "POST"}}
    if settings.datasource_tenant is not None:
        source["jsonData"]["httpHeaderName1"] = "X-Scope-OrgID"
        source["secureJsonData"] = {"httpHeaderValue1": settings.datasource_tenant}
    if settings.grafana == "operator":
        return {"apiVersion": "grafana.integreatly.org/v1beta1", "kind": "GrafanaDatasource",
                "metadata": _metadata(settings.datasource_uid.lower().replace("_", "-"), settings),
                "spec": {"instanceSelector": {"matchLabels": dict(settings.instance_selector)},
                         "datasource": source}}
    provisioning = dump_yaml({"apiVersion": 1, "datasources": [source]}).decode("utf-8")
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(f"datasource-{settings.datasource_uid.lower().replace('_', '-')}", settings,
                                  {"grafana_datasource": "1"}),
            "data": {"prometheus-datasource.yaml": provisioning}}


def _file_name(obj: Mapping[str, Any]) -> str:
    return f"{str(obj['kind']).lower()}-{obj['metadata']['name']}.yaml"


def kubernetes_files(contracts: Sequence[ModuleContract], dashboards: Sequence[CompiledDashboard],
                     settings: KubernetesSettings, folder: str, runbooks: str = RUNBOOKS) -> dict[str, bytes]:
    """Return one YAML file per object under `folder` and its kustomization.yaml; raise BuildFailed naming what
    the API server would refuse."""
    errors: list[BuildError] = []
    objects: list[Json] = []
    for contract in contracts:
        collisions = label_collisions(contract, settings)
        if collisions:
            errors.append(BuildError(f"module {contract.name}", f"{', '.join(collisions)}: every target carries this "
                                     "label in Kubernetes too, so Prometheus would rename the metric's to "
                                     "exported_<label>; rename it in the contract"))
        try:
            objects.append(monitor(contract, settings))
        except ValueError as error:
            errors.append(BuildError(f"module {contract.name}", str(error)))
    objects.extend(rule_objects(contracts, settings, runbooks))
    for dashboard in dashboards:
        try:
            objects.append(dashboard_object(dashboard, settings))
        except ValueError as error:
            errors.append(BuildError(dashboard.source, str(error)))
    datasource = datasource_object(settings)
    if datasource is not None:
        objects.append(datasource)
    files: dict[str, bytes] = {}
    for obj in objects:
        path = f"{folder}/{_file_name(obj)}"
        problems = object_problems(obj)
        if problems:
            errors.append(BuildError(path, f"the API server would refuse it: {problems[0]}"))
        if path in files:
            errors.append(BuildError(path, "two objects of the same kind and name"))
        files[path] = dump_yaml(obj)
    if errors:
        raise BuildFailed(errors)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": sorted(path.rsplit("/", 1)[1] for path in files)}
    files[f"{folder}/kustomization.yaml"] = dump_yaml(kustomization)
    return dict(sorted(files.items()))


def dashboard_json_of(obj: Mapping[str, Any]) -> Json:
    """Return the dashboard a ConfigMap or GrafanaDashboard carries (tests and reviews read it back)."""
    if obj["kind"] == "ConfigMap":
        (text,) = obj["data"].values()
        loaded: Json = json.loads(text)
        return loaded
    spec = obj["spec"]
    if "gzipJson" in spec:
        unpacked: Json = json.loads(gzip.decompress(base64.b64decode(spec["gzipJson"])))
        return unpacked
    plain: Json = json.loads(spec["json"])
    return plain
