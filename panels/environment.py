"""Where modules run beyond the local stack: an environment's typed settings (`environments/<name>.py` defines
`ENVIRONMENT = Environment(...)`). The local docker compose stack needs none: `python build.py` builds it.

`python build.py --env NAME` writes the environment's output into `deploy/<name>/`: Kubernetes objects for the
Prometheus Operator and Grafana (`kubernetes`), a Prometheus scraping fixed addresses (`static`), and rule files
for Mimir, Cortex or Thanos (`rules`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

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


@attrs.frozen
class Workload:
    """Where one module runs in the cluster, when that differs from the environment's defaults."""

    # The value of the environment's app_label on the module's Service (or pods); default: the module's slug.
    name: str | None = None
    # The module's namespace; default: any namespace.
    namespace: str | None = None
    # The port serving /metrics; default: the environment's port_name.
    port_name: str | None = None


LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Set from each module's file; an environment label of the same name would break what dashboards select by.
MODULE_LABELS = ("job", "module", "service")


def _check_extra_labels(_: object, attribute: attrs.Attribute[Pairs], value: Pairs) -> None:
    for name, _label_value in value:
        if not LABEL_NAME_RE.fullmatch(name) or name.startswith("__"):
            raise ValueError(f"{attribute.name}: {name!r} is not a label name Prometheus keeps (letters, digits and "
                             "_, not starting with a digit or __)")
        if name in MODULE_LABELS:
            raise ValueError(f"{attribute.name}: {name!r} is set from each module's file; choose another name")


def _workloads(items: Mapping[str, Workload] | Sequence[tuple[str, Workload]]) -> tuple[tuple[str, Workload], ...]:
    return tuple(sorted(dict(items).items()))


@attrs.frozen
class KubernetesSettings:
    """How the platform is wired in a Kubernetes environment."""

    namespace: str = "monitoring"
    # kube-prometheus-stack selects ServiceMonitors and PrometheusRules by `release: <its release name>`.
    release: str = "kube-prometheus-stack"
    monitor: Literal["service", "pod"] = "service"
    port_name: str = "metrics"  # the Service (or container) port that serves /metrics
    # The label that selects a module's Service or pods; its value is the module's slug.
    app_label: str = "app.kubernetes.io/name"
    grafana: Literal["sidecar", "operator"] = "sidecar"
    dashboard_label: Pairs = attrs.field(default=(("grafana_dashboard", "1"),), converter=_pairs)
    instance_selector: Pairs = attrs.field(default=(("dashboards", "grafana"),), converter=_pairs)
    folder: str = GRAFANA_FOLDER
    # Labels every series of the environment carries (cluster, env), set by the monitors' relabelings.
    extra_labels: Pairs = attrs.field(default=(), converter=_pairs, validator=_check_extra_labels)
    # Per module slug, where it runs when not as the defaults above say: {"prompt-manager": Workload(...)}.
    workloads: tuple[tuple[str, Workload], ...] = attrs.field(default=(), converter=_workloads)
    # The Secret holding the bearer token of modules whose /metrics is protected: (name, key).
    token_secret: tuple[str, str] | None = None
    # The URL Grafana queries (a Prometheus, or Mimir's/Thanos' Prometheus API): written as the dashboards' data
    # source (uid `prometheus`) when given; None when Grafana has it already (kube-prometheus-stack provisions it).
    datasource_url: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(r"^https?://[^\s]+$")))
    # Mimir's or Cortex' tenant, sent as X-Scope-OrgID with every query of that data source.
    datasource_tenant: str | None = None
    # The uid of the data source the dashboards read by default (kube-prometheus-stack provisions `prometheus`).
    datasource_uid: str = attrs.field(default=DATASOURCE_UID,
                                      validator=attrs.validators.matches_re(r"^[a-zA-Z0-9_-]{1,40}$"))
    # The scrape job of Prometheus' own metrics, which the alerts about the monitoring itself select; None leaves
    # those alerts out (kube-prometheus-stack's default rules have their own). Default: the chart's, from `release`.
    prometheus_job: str | None = attrs.field(
        default=attrs.Factory(lambda settings: kube_prometheus_stack_job(settings.release), takes_self=True))


Addresses = tuple[tuple[str, tuple[str, ...]], ...]


def _addresses(items: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]]) -> Addresses:
    return tuple(sorted((slug, tuple(addresses)) for slug, addresses in dict(items).items()))


@attrs.frozen
class StaticSettings:
    """A Prometheus that scrapes the modules at fixed addresses: virtual machines, or a compose stack elsewhere."""

    # Per module slug, the HOST:PORT of each of its instances; a module not listed is scraped as its file says.
    targets: Addresses = attrs.field(default=(), converter=_addresses)
    self_address: str = "localhost:9090"  # where this Prometheus scrapes its own metrics
    alertmanager_address: str = "alertmanager:9093"
    # Labels this Prometheus puts on what leaves it (alerts, remote write, federation): `cluster`, `env`. What
    # Mimir and Thanos tell Prometheus servers apart by.
    external_labels: Pairs = attrs.field(default=(), converter=_pairs, validator=_check_extra_labels)


@attrs.frozen
class RuleStore:
    """Where the rules go: Mimir or Cortex (a namespace per module, in a tenant) or Thanos' ruler."""

    kind: Literal["mimir", "cortex", "thanos"] = attrs.field(
        validator=attrs.validators.in_(("mimir", "cortex", "thanos")))
    tenant: str = "anonymous"  # Mimir/Cortex `X-Scope-OrgID`; noted in each file for `mimirtool --id`
    namespace_prefix: str = "modules"
    # Thanos: `abort` fails a rule evaluation when a store answers only partly, `warn` evaluates what it got.
    partial_response_strategy: Literal["abort", "warn"] | None = None
    # The scrape job of the Prometheus servers' own metrics, for the alerts about the monitoring itself; None leaves
    # them out (which job that is depends on how each Prometheus scrapes itself).
    prometheus_job: str | None = None
    # The label telling apart the clusters whose series one store holds (`cluster`, set by each Prometheus'
    # external_labels or the monitors' extra_labels): every aggregation and match of the rules keeps it, so each
    # cluster's rules read only its own series. None: the store holds one cluster.
    aggregation_label: str | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.matches_re(LABEL_NAME_RE)))


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
