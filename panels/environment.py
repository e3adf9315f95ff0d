"""Where modules run beyond the local stack: an environment's typed settings (`environments/<name>.py` defines
`ENVIRONMENT = Environment(...)`). The local docker compose stack needs none: `python build.py` builds it.

`python build.py --env NAME` writes the environment's output into `deploy/<name>/`: Kubernetes objects for the
Prometheus Operator and Grafana (`kubernetes`), a Prometheus scraping fixed addresses (`static`), and rule files
for Mimir, Cortex or Thanos (`rules`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from panels.k8s_names import (
    IANA_SERVICE_NAME_RE,
    PROMETHEUS_LABEL_RE,
    SECRET_KEY_RE,
    dns_label_problem,
    dns_subdomain_problem,
    label_key_problem,
    label_value_problem,
    tenant_problem,
)
from panels.settings import DATASOURCE_UID, GRAFANA_FOLDER

Pairs = tuple[tuple[str, str], ...]
ENVIRONMENT_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def kube_prometheus_stack_job(release: str) -> str:
    """Return the job of Prometheus' own metrics in a kube-prometheus-stack release: its Prometheus Service's name,
    `<fullname>-prometheus`, where the chart's fullname is the release name when that contains the chart's name and
    `<release>-kube-prometheus-stack` otherwise, cut to 26 characters."""
    chart = "kube-prometheus-stack"
    fullname = release if chart in release else f"{release}-{chart}"
    return f"{fullname[:26].rstrip('-')}-prometheus"


def _pairs(items: Mapping[str, str] | Sequence[tuple[str, str]]) -> Pairs:
    return tuple(sorted(dict(items).items()))


Problem = Callable[[str], "str | None"]


def _rule(*problems: Problem) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """Return an attrs validator raising `<field>: <problem>` for the first rule a (non-None) value breaks."""
    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise TypeError(f"{attribute.name} must be a string, got {type(value).__name__}: {value!r}")
        for problem in problems:
            found = problem(value)
            if found:
                raise ValueError(f"{attribute.name}: {found}")
    return check


def _pairs_rule(key: Problem, value: Problem) -> Callable[[object, attrs.Attribute[Pairs], Pairs], None]:
    def check(_: object, attribute: attrs.Attribute[Pairs], pairs: Pairs) -> None:
        for name, item in pairs:
            if not isinstance(name, str) or not isinstance(item, str):
                raise TypeError(f"{attribute.name}: {name!r}: {item!r} must map strings to strings")
            found = key(name) or value(item)
            if found:
                raise ValueError(f"{attribute.name}: {found}")
    return check


def _one_of(*allowed: str) -> Problem:
    return lambda value: None if value in allowed else f"{value!r} is not one of {', '.join(map(repr, allowed))}"


def _text(value: str) -> str | None:
    if not value or len(value) > 200 or any(ord(char) < 32 or ord(char) == 127 for char in value):
        return f"{value!r} must be 1 to 200 characters without control characters"
    return None


def _pod_port(value: str) -> str | None:
    if not IANA_SERVICE_NAME_RE.fullmatch(value):
        return (f"{value!r} is not a container port name (at most 15 lowercase letters, digits and single '-', with "
                "a letter)")
    return None


@attrs.frozen
class Workload:
    """Where one module runs in the cluster, when that differs from the environment's defaults."""

    # The value of the environment's app_label on the module's Service (or pods); default: the module's slug.
    name: str | None = attrs.field(default=None, validator=_rule(label_value_problem))
    # The module's namespace; default: any namespace.
    namespace: str | None = attrs.field(default=None, validator=_rule(dns_label_problem))
    # The port serving /metrics; default: the environment's port_name.
    port_name: str | None = attrs.field(default=None, validator=_rule(dns_label_problem))


# Set from each module's file; an environment label of the same name would break what dashboards select by.
MODULE_LABELS = ("job", "module", "service")


def _prometheus_label(name: str) -> str | None:
    if not PROMETHEUS_LABEL_RE.fullmatch(name) or name.startswith("__"):
        return (f"{name!r} is not a label name Prometheus keeps (letters, digits and _, not starting with a digit "
                "or __)")
    if name in MODULE_LABELS:
        return f"{name!r} is set from each module's file; choose another name"
    return None


def _any_value(_value: str) -> str | None:
    return None


def _workloads(items: Mapping[str, Workload] | Sequence[tuple[str, Workload]]) -> tuple[tuple[str, Workload], ...]:
    return tuple(sorted(dict(items).items()))


def _check_workloads(_: object, attribute: attrs.Attribute[Any], value: tuple[tuple[str, Workload], ...]) -> None:
    for slug, workload in value:
        if not isinstance(workload, Workload):
            raise TypeError(f"workloads[{slug!r}] must be a Workload(...), got {type(workload).__name__}")


def _check_secret(_: object, attribute: attrs.Attribute[Any], value: tuple[str, str] | None) -> None:
    if value is None:
        return
    if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(part, str) for part in value)):
        raise TypeError(f"token_secret must be (Secret name, key), got {value!r}")
    name, key = value
    found = dns_subdomain_problem(name) or (None if SECRET_KEY_RE.fullmatch(key) else
                                            f"{key!r} is not a Secret key (letters, digits, '-', '_', '.')")
    if found:
        raise ValueError(f"token_secret: {found}")


@attrs.frozen
class KubernetesSettings:
    """How the platform is wired in a Kubernetes environment."""

    namespace: str = attrs.field(default="monitoring", validator=_rule(dns_label_problem))
    # kube-prometheus-stack selects ServiceMonitors and PrometheusRules by `release: <its release name>`.
    release: str = attrs.field(default="kube-prometheus-stack", validator=_rule(label_value_problem))
    monitor: Literal["service", "pod"] = attrs.field(default="service", validator=_rule(_one_of("service", "pod")))
    # The Service (or container) port that serves /metrics.
    port_name: str = attrs.field(default="metrics", validator=_rule(dns_label_problem))
    # The label that selects a module's Service or pods; its value is the module's slug.
    app_label: str = attrs.field(default="app.kubernetes.io/name", validator=_rule(label_key_problem))
    grafana: Literal["sidecar", "operator"] = attrs.field(default="sidecar",
                                                          validator=_rule(_one_of("sidecar", "operator")))
    dashboard_label: Pairs = attrs.field(default=(("grafana_dashboard", "1"),), converter=_pairs,
                                         validator=_pairs_rule(label_key_problem, label_value_problem))
    instance_selector: Pairs = attrs.field(default=(("dashboards", "grafana"),), converter=_pairs,
                                           validator=_pairs_rule(label_key_problem, label_value_problem))
    folder: str = attrs.field(default=GRAFANA_FOLDER, validator=_rule(_text))
    # Labels every series of the environment carries (cluster, env), set by the monitors' relabelings.
    extra_labels: Pairs = attrs.field(default=(), converter=_pairs, validator=_pairs_rule(_prometheus_label,
                                                                                           _any_value))
    # Per module slug, where it runs when not as the defaults above say: {"prompt-manager": Workload(...)}.
    workloads: tuple[tuple[str, Workload], ...] = attrs.field(default=(), converter=_workloads,
                                                              validator=_check_workloads)
    # The Secret holding the bearer token of modules whose /metrics is protected: (name, key).
    token_secret: tuple[str, str] | None = attrs.field(default=None, validator=_check_secret)
    # The URL Grafana queries (a Prometheus, or Mimir's/Thanos' Prometheus API): written as the dashboards' data
    # source when given; None when Grafana has it already (kube-prometheus-stack provisions it).
    datasource_url: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(r"^https?://[^\s]+$")))
    # Mimir's or Cortex' tenant, sent as X-Scope-OrgID with every query of that data source.
    datasource_tenant: str | None = attrs.field(default=None, validator=_rule(tenant_problem))
    # The uid of the data source the dashboards read by default (kube-prometheus-stack provisions `prometheus`).
    datasource_uid: str = attrs.field(default=DATASOURCE_UID,
                                      validator=attrs.validators.matches_re(r"^[a-zA-Z0-9_-]{1,40}$"))
    # The scrape job of Prometheus' own metrics, which the alerts about the monitoring itself select; None leaves
    # those alerts out (kube-prometheus-stack's default rules have their own). Default: the chart's, from `release`.
    prometheus_job: str | None = attrs.field(
        default=attrs.Factory(lambda settings: kube_prometheus_stack_job(settings.release), takes_self=True),
        validator=_rule(_text))
    # The label telling clusters apart when Grafana reads a store holding several (Mimir, Thanos): the dashboards
    # get a `cluster` variable (all clusters by default) and every query filters by it. None: one cluster.
    cluster_label: str | None = attrs.field(default=None, validator=_rule(
        lambda name: None if PROMETHEUS_LABEL_RE.fullmatch(name) and not name.startswith("__") else
        f"{name!r} is not a label name Prometheus keeps"))

    def __attrs_post_init__(self) -> None:
        if self.monitor == "pod":
            for where, port in [("port_name", self.port_name),
                                *((f"workloads[{slug!r}].port_name", w.port_name) for slug, w in self.workloads)]:
                found = port and _pod_port(port)
                if found:
                    raise ValueError(f"{where}: {found}, which a PodMonitor's port must be")


Addresses = tuple[tuple[str, tuple[str, ...]], ...]


def _addresses(items: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]]) -> Addresses:
    found = dict(items)
    for slug, addresses in found.items():
        if isinstance(addresses, str) or not all(isinstance(address, str) for address in addresses):
            raise TypeError(f"targets[{slug!r}] must be a list of HOST:PORT strings, got {addresses!r}")
    return tuple(sorted((str(slug), tuple(addresses)) for slug, addresses in found.items()))


@attrs.frozen
class StaticSettings:
    """A Prometheus that scrapes the modules at fixed addresses: virtual machines, or a compose stack elsewhere."""

    # Per module slug, the HOST:PORT of each of its instances; a module not listed is scraped as its file says.
    targets: Addresses = attrs.field(default=(), converter=_addresses)
    self_address: str = "localhost:9090"  # where this Prometheus scrapes its own metrics
    alertmanager_address: str = "alertmanager:9093"
    # Labels this Prometheus puts on what leaves it (alerts, remote write, federation): `cluster`, `env`. What
    # Mimir and Thanos tell Prometheus servers apart by.
    external_labels: Pairs = attrs.field(default=(), converter=_pairs, validator=_pairs_rule(_prometheus_label,
                                                                                              _any_value))


@attrs.frozen
class RuleStore:
    """Where the rules go: Mimir or Cortex (a namespace per module, in a tenant) or Thanos' ruler."""

    kind: Literal["mimir", "cortex", "thanos"] = attrs.field(validator=_rule(_one_of("mimir", "cortex", "thanos")))
    # Mimir/Cortex `X-Scope-OrgID`; noted in each file for `mimirtool --id`.
    tenant: str = attrs.field(default="anonymous", validator=_rule(tenant_problem))
    # Namespaces are `<prefix>-<module>`, and so are the files' names.
    namespace_prefix: str = attrs.field(default="modules", validator=_rule(dns_label_problem))
    # Thanos: `abort` fails a rule evaluation when a store answers only partly, `warn` evaluates what it got.
    partial_response_strategy: Literal["abort", "warn"] | None = attrs.field(
        default=None, validator=_rule(_one_of("abort", "warn")))
    # The scrape job of the Prometheus servers' own metrics, for the alerts about the monitoring itself; None leaves
    # them out (which job that is depends on how each Prometheus scrapes itself).
    prometheus_job: str | None = attrs.field(default=None, validator=_rule(_text))
    # The label telling apart the clusters whose series one store holds (`cluster`, set by each Prometheus'
    # external_labels or the monitors' extra_labels): every aggregation and match of the rules keeps it, so each
    # cluster's rules read only its own series. None: the store holds one cluster.
    aggregation_label: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(PROMETHEUS_LABEL_RE)))


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not ENVIRONMENT_NAME_RE.fullmatch(value):
        raise ValueError(f"environment name {value!r} must be lowercase letters, digits and '-' (at most 40), "
                         "starting with a letter")


@attrs.frozen
class Environment:
    """One environment: its name (the file's, and its output folder `deploy/<name>/`) and what it runs on."""

    name: str = attrs.field(validator=_check_name)
    kubernetes: KubernetesSettings | None = None
    rules: RuleStore | None = None
    static: StaticSettings | None = None

    def __attrs_post_init__(self) -> None:
        if self.kubernetes is None and self.rules is None and self.static is None:
            raise ValueError(f"environment {self.name!r} sets none of kubernetes=, static= and rules=: nothing to "
                             "build")
