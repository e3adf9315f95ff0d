"""The syntax rules Kubernetes, Prometheus and Mimir apply to the names an environment's settings give: checked
when an environment file is loaded, so a mistake is one line naming that file, not an object the API server, the
operator or the ruler refuses later. dashbuild/k8s_schema.py applies the same rules to the objects themselves.
"""

from __future__ import annotations

import re

DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_KEY_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# A container port's name (IANA_SVC_NAME): what a PodMonitor's port refers to.
IANA_SERVICE_NAME_RE = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
# Mimir's and Cortex' tenant ids: at most 150 of these characters, not "." or "..".
TENANT_RE = re.compile(r"^[a-zA-Z0-9!\-_.*'()]{1,150}$")
PROMETHEUS_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def dns_subdomain_problem(value: str) -> str | None:
    """Return why `value` is not a DNS-1123 subdomain (an object or Secret name), or None."""
    if len(value) > 253 or not DNS_SUBDOMAIN_RE.fullmatch(value):
        return (f"{value!r} is not a DNS-1123 subdomain (at most 253 lowercase letters, digits, '-' and '.', "
                "starting and ending with a letter or digit)")
    return None


def dns_label_problem(value: str) -> str | None:
    """Return why `value` is not a DNS-1123 label (a namespace, a Service port name), or None."""
    if not DNS_LABEL_RE.fullmatch(value):
        return (f"{value!r} is not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and "
                "ending with a letter or digit)")
    return None


def label_key_problem(key: str) -> str | None:
    """Return why `key` is not a Kubernetes label key (`[prefix/]name`), or None."""
    prefix, _, name = key.rpartition("/")
    if (prefix and dns_subdomain_problem(prefix)) or len(name) > 63 or not LABEL_KEY_NAME_RE.fullmatch(name):
        return f"{key!r} is not a Kubernetes label key ([DNS-subdomain/]name of at most 63 letters, digits, '-_.')"
    return None


def label_value_problem(value: str) -> str | None:
    """Return why `value` is not a Kubernetes label value, or None."""
    if len(value) > 63 or not LABEL_VALUE_RE.fullmatch(value):
        return f"{value!r} is not a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')"
    return None


def tenant_problem(value: str) -> str | None:
    """Return why `value` is not a Mimir or Cortex tenant id, or None."""
    if not TENANT_RE.fullmatch(value) or value in (".", ".."):
        return (f"{value!r} is not a tenant id (at most 150 letters, digits and !-_.*'(), not '.' or '..')")
    return None
