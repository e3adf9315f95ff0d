"""Kubernetes objects checked as the API server would take them: the CRD's (or core) JSON Schema, picked by
`apiVersion` and `kind`, plus the rules the API server applies that no schema carries: names are DNS-1123
subdomains, label keys and values are syntactically valid, and a ConfigMap holds at most 1 MiB.

The schemas are upstream data (`dashbuild/schemas/kubernetes/`, see its SOURCE.md). CEL rules
(`x-kubernetes-validations`) are not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from panels.k8s_names import DNS_SUBDOMAIN_RE, LABEL_KEY_NAME_RE, LABEL_VALUE_RE

# (apiVersion, kind) -> schema file under dashbuild/schemas/kubernetes/
SCHEMAS: dict[tuple[str, str], str] = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/v1/prometheusrule.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/v1/servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com/v1/podmonitor.json",
    ("monitoring.coreos.com/v1alpha1", "ScrapeConfig"): "monitoring.coreos.com/v1alpha1/scrapeconfig.json",
    ("grafana.integreatly.org/v1beta1", "GrafanaDashboard"): "grafana.integreatly.org/v1beta1/grafanadashboard.json",
    ("grafana.integreatly.org/v1beta1", "GrafanaFolder"): "grafana.integreatly.org/v1beta1/grafanafolder.json",
    ("grafana.integreatly.org/v1beta1", "GrafanaDatasource"):
        "grafana.integreatly.org/v1beta1/grafanadatasource.json",
    ("grafana.integreatly.org/v1beta1", "GrafanaAlertRuleGroup"):
        "grafana.integreatly.org/v1beta1/grafanaalertrulegroup.json",
    ("v1", "ConfigMap"): "v1/configmap.json",
}
# The API server's limit on a ConfigMap's data (etcd's value size), in bytes.
CONFIGMAP_LIMIT = 1024 * 1024


@cache
def _validator(path: str) -> jsonschema.Draft7Validator:
    text = resources.files("dashbuild").joinpath(f"schemas/kubernetes/{path}").read_text(encoding="utf-8")
    return jsonschema.Draft7Validator(json.loads(text), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(object)"


def _name_problems(name: Any) -> Iterator[str]:
    if not isinstance(name, str) or not name:
        yield "metadata.name: missing"
    elif len(name) > 253 or not DNS_SUBDOMAIN_RE.fullmatch(name):
        yield (f"metadata.name: {name!r} is not a DNS-1123 subdomain (at most 253 lowercase letters, digits, "
               "'-' and '.', starting and ending with a letter or digit)")


def _label_problems(labels: Any, where: str) -> Iterator[str]:
    for key, value in (labels.items() if isinstance(labels, Mapping) else ()):
        prefix, _, name = str(key).rpartition("/")
        if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN_RE.fullmatch(prefix))) or len(name) > 63 \
                or not LABEL_KEY_NAME_RE.fullmatch(name):
            yield f"{where}: key {key!r} is not a valid label name"
        if where == "metadata.labels" and (not isinstance(value, str) or len(value) > 63
                                           or not LABEL_VALUE_RE.fullmatch(value)):
            yield f"{where}.{key}: {value!r} is not a valid label value (at most 63 letters, digits, '-', '_', '.')"


def configmap_size(data: Mapping[str, Any]) -> int:
    """Return the bytes a ConfigMap's `data` and `binaryData` take (keys and values, as the API server counts)."""
    total = 0
    for field in ("data", "binaryData"):
        for key, value in (data.get(field) or {}).items():
            total += len(str(key).encode("utf-8")) + len(str(value).encode("utf-8"))
    return total


def object_problems(obj: Mapping[str, Any]) -> list[str]:
    """Return why the API server would refuse `obj` ([] when it would take it), each naming the field."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    if key not in SCHEMAS:
        known = ", ".join(f"{kind} ({version})" for version, kind in sorted(SCHEMAS))
        return [f"apiVersion/kind {key[0]}/{key[1]} has no schema here (known: {known})"]
    problems = [f"{_where(error)}: {error.message}"
                for error in sorted(_validator(SCHEMAS[key]).iter_errors(obj), key=lambda e: list(e.absolute_path))]
    found = obj.get("metadata")
    metadata: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    problems.extend(_name_problems(metadata.get("name")))
    namespace = metadata.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or len(namespace) > 63
                                  or not DNS_SUBDOMAIN_RE.fullmatch(namespace) or "." in namespace):
        problems.append(f"metadata.namespace: {namespace!r} is not a DNS-1123 label")
    problems.extend(_label_problems(metadata.get("labels"), "metadata.labels"))
    problems.extend(_label_problems(metadata.get("annotations"), "metadata.annotations"))
    if key == ("v1", "ConfigMap") and configmap_size(obj) > CONFIGMAP_LIMIT:
        problems.append(f"data: {configmap_size(obj)} bytes, over the {CONFIGMAP_LIMIT} bytes a ConfigMap may hold")
    return problems
