"""What the Prometheus Operator does with our objects, redone so that a plain Prometheus can run them.

The operator turns each endpoint of a ServiceMonitor (PodMonitor) into a scrape job discovering targets with
`kubernetes_sd_configs` (role `endpoints`, or `pod`), and filters and labels them with relabel rules of its own
followed by the monitor's `relabelings`. `scrape_config` writes that job with `file_sd_configs` instead, in the
operator's order (prometheus-operator `pkg/prometheus/promcfg.go`: generateServiceMonitorConfig,
generatePodMonitorConfig), so the same rules run on targets labelled the way Kubernetes service discovery labels
them (`endpoints_target`, `pod_target`). `rule_files` turns PrometheusRules into the rule files the operator
mounts. Left out, as kube-prometheus-stack leaves them unset: scrape classes, enforced namespace labels, sharding
(one shard keeps every target), attachMetadata; a monitor using what this helper cannot translate (secrets, TLS,
matchExpressions) is refused rather than scraped differently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Json = dict[str, Any]

# The endpoint fields translated below; any other field would change the scrape in a way not reproduced here.
_ENDPOINT_FIELDS = frozenset({"port", "path", "interval", "scrapeTimeout", "scheme", "params", "honorLabels",
                              "honorTimestamps", "relabelings", "metricRelabelings", "filterRunning"})
_RELABEL_FIELDS = {"sourceLabels": "source_labels", "separator": "separator", "targetLabel": "target_label",
                   "regex": "regex", "modulus": "modulus", "replacement": "replacement", "action": "action"}


def sanitise(name: str) -> str:
    """Return a Kubernetes label name as service discovery spells it in a meta label (`app.kubernetes.io/name`
    becomes `app_kubernetes_io_name`)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def relabel_config(relabeling: Mapping[str, Any]) -> Json:
    """Return a monitor's relabeling (camelCase, as in the CRD) as a Prometheus relabel config (snake_case)."""
    unknown = set(relabeling) - set(_RELABEL_FIELDS)
    if unknown:
        raise ValueError(f"relabeling fields not known to the operator: {sorted(unknown)}")
    config = {_RELABEL_FIELDS[key]: value for key, value in relabeling.items()}
    if "action" in config:
        config["action"] = str(config["action"]).lower()  # the CRD accepts `Replace` as well as `replace`
    return config


def _kind(monitor: Mapping[str, Any]) -> str:
    kind = str(monitor.get("kind"))
    if kind not in ("ServiceMonitor", "PodMonitor"):
        raise ValueError(f"not a ServiceMonitor or PodMonitor: {kind}")
    return kind


def _namespace_filter(monitor: Mapping[str, Any]) -> list[Json]:
    # The operator restricts the namespaces kubernetes_sd watches; file_sd sees every target, so a keep rule on
    # the namespace stands in for that restriction. `any: true` watches every namespace.
    selector = monitor["spec"].get("namespaceSelector") or {}
    if selector.get("any"):
        return []
    names = selector.get("matchNames") or [monitor["metadata"]["namespace"]]
    return [{"action": "keep", "source_labels": ["__meta_kubernetes_namespace"], "regex": "|".join(names)}]


def _selector_filter(monitor: Mapping[str, Any], role: str) -> list[Json]:
    selector = monitor["spec"].get("selector") or {}
    if selector.get("matchExpressions"):
        raise ValueError("selector.matchExpressions is not translated by this helper")
    return [{"action": "keep",
             "source_labels": [f"__meta_kubernetes_{role}_label_{sanitise(key)}",
                               f"__meta_kubernetes_{role}_labelpresent_{sanitise(key)}"],
             "regex": f"({value});true"}
            for key, value in sorted((selector.get("matchLabels") or {}).items())]


_RUNNING_FILTER: Json = {"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"],
                         "regex": "(Failed|Succeeded)"}


def _service_monitor_relabels(monitor: Mapping[str, Any], endpoint: Mapping[str, Any]) -> list[Json]:
    port = endpoint.get("port")
    target = ["__meta_kubernetes_endpoint_address_target_kind", "__meta_kubernetes_endpoint_address_target_name"]
    rules = _selector_filter(monitor, "service")
    if port:
        rules.append({"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": port})
    rules += [
        {"source_labels": list(target), "separator": ";", "regex": "Node;(.*)", "replacement": "${1}",
         "target_label": "node"},
        {"source_labels": list(target), "separator": ";", "regex": "Pod;(.*)", "replacement": "${1}",
         "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
    ]
    if endpoint.get("filterRunning", True):
        rules.append(dict(_RUNNING_FILTER))
    for label in monitor["spec"].get("targetLabels") or []:
        rules.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitise(label)}"],
                      "target_label": sanitise(label), "regex": "(.+)", "replacement": "${1}"})
    rules += _pod_target_labels(monitor)
    # The Service's name is the job unless the jobLabel's Service label has a value.
    rules.append({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job", "replacement": "${1}"})
    job_label = monitor["spec"].get("jobLabel")
    if job_label:
        rules.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitise(job_label)}"],
                      "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
    return rules


def _pod_monitor_relabels(monitor: Mapping[str, Any], endpoint: Mapping[str, Any]) -> list[Json]:
    port = endpoint.get("port")
    rules = [dict(_RUNNING_FILTER)] if endpoint.get("filterRunning", True) else []
    rules += _selector_filter(monitor, "pod")
    if port:
        rules.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                      "regex": port})
    rules += [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    rules += _pod_target_labels(monitor)
    metadata = monitor["metadata"]
    # `<namespace>/<name>` of the PodMonitor is the job unless the jobLabel's pod label has a value.
    rules.append({"target_label": "job", "replacement": f"{metadata['namespace']}/{metadata['name']}"})
    job_label = monitor["spec"].get("jobLabel")
    if job_label:
        rules.append({"source_labels": [f"__meta_kubernetes_pod_label_{sanitise(job_label)}"],
                      "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
    return rules


def _pod_target_labels(monitor: Mapping[str, Any]) -> list[Json]:
    return [{"source_labels": [f"__meta_kubernetes_pod_label_{sanitise(label)}"], "target_label": sanitise(label),
             "regex": "(.+)", "replacement": "${1}"} for label in monitor["spec"].get("podTargetLabels") or []]


def endpoints_of(monitor: Mapping[str, Any]) -> list[Json]:
    """Return a ServiceMonitor's `endpoints` or a PodMonitor's `podMetricsEndpoints`."""
    key = "endpoints" if _kind(monitor) == "ServiceMonitor" else "podMetricsEndpoints"
    return list(monitor["spec"].get(key) or [])


def scrape_config(monitor: Mapping[str, Any], file_sd_path: str, index: int = 0) -> Json:
    """Return the scrape job the operator generates for endpoint `index` of a ServiceMonitor or PodMonitor, with
    its targets read from `file_sd_path` instead of the Kubernetes API.

    Relabel order as the operator's: the job name kept in `__tmp_prometheus_job_name`, the namespace restriction,
    the selector's matchLabels, the endpoint's port name, `node`/`pod`/`namespace`/`service`/`container` (the
    PodMonitor drops pods that finished first, the ServiceMonitor after these), `job` (the Service's name, or
    `<namespace>/<name>` of a PodMonitor, then the jobLabel's value), `endpoint`, then the monitor's own
    relabelings; its metricRelabelings become `metric_relabel_configs`.
    """
    kind = _kind(monitor)
    endpoint = endpoints_of(monitor)[index]
    unknown = set(endpoint) - _ENDPOINT_FIELDS
    if unknown:
        raise ValueError(f"endpoint fields this helper does not reproduce: {sorted(unknown)}")
    metadata = monitor["metadata"]
    prefix = "serviceMonitor" if kind == "ServiceMonitor" else "podMonitor"
    job: Json = {"job_name": f"{prefix}/{metadata['namespace']}/{metadata['name']}/{index}",
                 "honor_labels": bool(endpoint.get("honorLabels", False))}
    if "honorTimestamps" in endpoint:
        job["honor_timestamps"] = bool(endpoint["honorTimestamps"])
    job["file_sd_configs"] = [{"files": [file_sd_path], "refresh_interval": "1s"}]
    for field, key in (("interval", "scrape_interval"), ("scrapeTimeout", "scrape_timeout"),
                       ("path", "metrics_path"), ("scheme", "scheme")):
        if endpoint.get(field):
            job[key] = endpoint[field]
    if endpoint.get("params"):
        job["params"] = {name: list(values) for name, values in endpoint["params"].items()}
    relabels: list[Json] = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
    relabels += _namespace_filter(monitor)
    relabels += (_service_monitor_relabels(monitor, endpoint) if kind == "ServiceMonitor"
                 else _pod_monitor_relabels(monitor, endpoint))
    if endpoint.get("port"):
        relabels.append({"target_label": "endpoint", "replacement": endpoint["port"]})
    relabels += [relabel_config(r) for r in endpoint.get("relabelings") or []]
    job["relabel_configs"] = relabels
    if endpoint.get("metricRelabelings"):
        job["metric_relabel_configs"] = [relabel_config(r) for r in endpoint["metricRelabelings"]]
    return job


def _label_meta(role: str, labels: Mapping[str, str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for key, value in labels.items():
        meta[f"__meta_kubernetes_{role}_label_{sanitise(key)}"] = value
        meta[f"__meta_kubernetes_{role}_labelpresent_{sanitise(key)}"] = "true"
    return meta


def pod_target(address: str, *, namespace: str, pod: str, pod_labels: Mapping[str, str], container: str,
               port_name: str, phase: str = "Running") -> Json:
    """Return a file_sd target group labelled as `kubernetes_sd_configs` role `pod` labels a container port."""
    host, _, port = address.rpartition(":")
    labels = {"__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": pod,
              "__meta_kubernetes_pod_ip": host, "__meta_kubernetes_pod_phase": phase,
              "__meta_kubernetes_pod_ready": "true" if phase == "Running" else "false",
              "__meta_kubernetes_pod_container_name": container, "__meta_kubernetes_pod_container_init": "false",
              "__meta_kubernetes_pod_container_port_name": port_name,
              "__meta_kubernetes_pod_container_port_number": port,
              "__meta_kubernetes_pod_container_port_protocol": "TCP", **_label_meta("pod", pod_labels)}
    return {"targets": [address], "labels": labels}


def endpoints_target(address: str, *, namespace: str, service: str, service_labels: Mapping[str, str], pod: str,
                     pod_labels: Mapping[str, str], container: str, port_name: str,
                     phase: str = "Running") -> Json:
    """Return a file_sd target group labelled as `kubernetes_sd_configs` role `endpoints` labels one address of a
    Service's Endpoints backed by a pod: the Service's, the endpoint's and the pod's meta labels."""
    group = pod_target(address, namespace=namespace, pod=pod, pod_labels=pod_labels, container=container,
                       port_name=port_name, phase=phase)
    group["labels"] |= {"__meta_kubernetes_service_name": service, **_label_meta("service", service_labels),
                        "__meta_kubernetes_endpoints_name": service,
                        "__meta_kubernetes_endpoint_port_name": port_name,
                        "__meta_kubernetes_endpoint_port_protocol": "TCP",
                        "__meta_kubernetes_endpoint_ready": "true" if phase == "Running" else "false",
                        "__meta_kubernetes_endpoint_address_target_kind": "Pod",
                        "__meta_kubernetes_endpoint_address_target_name": pod}
    return group


def rule_files(prometheus_rules: Sequence[Mapping[str, Any]]) -> dict[str, Json]:
    """Return the rule file of each PrometheusRule (its `spec.groups`), named `<namespace>-<name>.yaml` as the
    operator names the files it mounts (less the object's uid)."""
    files: dict[str, Json] = {}
    for rule in prometheus_rules:
        if rule.get("kind") != "PrometheusRule":
            raise ValueError(f"not a PrometheusRule: {rule.get('kind')}")
        metadata = rule["metadata"]
        files[f"{metadata['namespace']}-{metadata['name']}.yaml"] = {"groups": list(rule["spec"]["groups"])}
    return files
