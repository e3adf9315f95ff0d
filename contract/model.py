"""Value objects for a module's metric contract and the users' naming convention."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import attrs

MetricType = Literal["counter", "histogram", "gauge"]
COUNTER: MetricType = "counter"
HISTOGRAM: MetricType = "histogram"
GAUGE: MetricType = "gauge"

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MODULE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")


def _labels(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(labels)


def _optional_floats(values: Iterable[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)


def _label_values(values: Mapping[str, Iterable[str]] | Iterable[tuple[str, Iterable[str]]]
                  ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = values.items() if isinstance(values, Mapping) else values
    return tuple(sorted((label, tuple(str(v) for v in vals)) for label, vals in pairs))


def _metrics(metrics: Iterable[Metric]) -> tuple[Metric, ...]:
    return tuple(metrics)


class UnknownMetricError(KeyError):
    """A panel or instrument asked a contract for a metric it does not declare."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown metric"


def _check_metric_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not METRIC_NAME_RE.fullmatch(value):
        raise ValueError(f"{attribute.name} {value!r} is not a valid Prometheus metric name")


def _check_label_names(_: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
    for label in value:
        if not LABEL_NAME_RE.fullmatch(label) or label.startswith("__"):
            raise ValueError(f"label {label!r} is not a valid Prometheus label name")
        if label == "le":
            raise ValueError("label 'le' is reserved for histogram buckets")
    if len(set(value)) != len(value):
        raise ValueError(f"duplicate label in {value!r}")


@attrs.frozen
class Metric:
    """One metric family a module exposes (name without the `_bucket`/`_sum`/`_count` suffixes)."""

    name: str = attrs.field(validator=_check_metric_name)
    type: MetricType = attrs.field(validator=attrs.validators.in_((COUNTER, HISTOGRAM, GAUGE)))
    help: str = attrs.field(validator=attrs.validators.min_len(1))
    labels: tuple[str, ...] = attrs.field(default=(), converter=_labels, validator=_check_label_names)
    unit: str = ""
    buckets: tuple[float, ...] | None = attrs.field(default=None, converter=_optional_floats)

    def __attrs_post_init__(self) -> None:
        if self.buckets is not None:
            if self.type != HISTOGRAM:
                raise ValueError(f"{self.name}: only histograms have buckets")
            if not self.buckets or list(self.buckets) != sorted(set(self.buckets)) or self.buckets[0] <= 0:
                raise ValueError(f"{self.name}: buckets must be positive and strictly ascending, got {self.buckets}")
        if self.type == COUNTER and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must end in _total (naming convention)")
        if self.type != COUNTER and self.name.endswith("_total"):
            raise ValueError(f"{self.type} {self.name!r} must not end in _total: only counters do")

    def series_names(self) -> tuple[str, ...]:
        """Return the names of the time series this family exposes on /metrics."""
        if self.type == HISTOGRAM:
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


@attrs.frozen
class ScrapeTarget:
    """Where Prometheus scrapes a module."""

    port: int = attrs.field(validator=[attrs.validators.ge(1), attrs.validators.le(65535)])
    # Prometheus runs in docker-compose; the modules run on the host (see docker-compose.yml extra_hosts).
    host: str = attrs.field(default="host.docker.internal", validator=attrs.validators.min_len(1))
    path: str = attrs.field(default="/metrics", validator=attrs.validators.matches_re(r"^/\S*$"))
    service: str | None = None

    @property
    def address(self) -> str:
        """Return `host:port`, the scrape target address."""
        return f"{self.host}:{self.port}"


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


@attrs.frozen
class Objectives:
    """Alerting thresholds a module declares; the defaults suit an interactive API."""

    error_ratio: float = attrs.field(default=0.05, validator=[_positive, attrs.validators.le(1)])
    p95_seconds: float = attrs.field(default=1.0, validator=_positive)
    cost_per_hour_usd: float = attrs.field(default=10.0, validator=_positive)


def _check_module_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not MODULE_NAME_RE.fullmatch(value) or "__" in value:
        raise ValueError(
            f"module name {value!r} must be lowercase snake_case (a valid metric prefix), e.g. 'prompt_manager'"
        )


def _unique_metric_names(_: object, attribute: attrs.Attribute[tuple[Metric, ...]], value: tuple[Metric, ...]) -> None:
    names = [m.name for m in value]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"metrics declared twice: {', '.join(duplicates)}")


@attrs.frozen
class ModuleContract:
    """A module's identity, scrape target and the metrics it promises to expose."""

    name: str = attrs.field(validator=_check_module_name)
    title: str = attrs.field(validator=attrs.validators.min_len(1))
    target: ScrapeTarget
    metrics: tuple[Metric, ...] = attrs.field(converter=_metrics, validator=_unique_metric_names)
    objectives: Objectives = attrs.field(factory=Objectives)
    # Values a label takes (e.g. operation names): documentation, demo traffic, examples.
    label_values: tuple[tuple[str, tuple[str, ...]], ...] = attrs.field(default=(), converter=_label_values)

    def __attrs_post_init__(self) -> None:
        for metric in self.metrics:
            if not metric.name.startswith(self.name + "_"):
                raise ValueError(f"metric {metric.name!r} must start with the module prefix {self.name + '_'!r}")
        labels = {label for metric in self.metrics for label in metric.labels}
        for label, values in self.label_values:
            if label not in labels:
                raise ValueError(f"label_values names {label!r}, which no metric of {self.name!r} has")
            if not values:
                raise ValueError(f"label_values[{label!r}] is empty")

    def known_values(self, label: str) -> tuple[str, ...]:
        """Return the declared values of a label, or () when the contract does not list them."""
        return dict(self.label_values).get(label, ())

    @property
    def slug(self) -> str:
        """Return the module name in kebab-case (`prompt-manager`): dashboard uid, job and `module` label."""
        return self.name.replace("_", "-")

    @property
    def job(self) -> str:
        """Return the Prometheus scrape job name for this module."""
        return self.slug

    @property
    def service(self) -> str:
        """Return the `service` label of the scrape job (default `<slug>-api`)."""
        return self.target.service or f"{self.slug}-api"

    @property
    def camel_name(self) -> str:
        """Return the name in CamelCase (`PromptManager`), the prefix of the module's alert names."""
        return "".join(word.capitalize() for word in self.name.split("_"))

    def metric(self, short_name: str) -> Metric:
        """Return the metric named `{module}_{short_name}` (or the full name); raise UnknownMetricError."""
        wanted = short_name if short_name.startswith(self.name + "_") else f"{self.name}_{short_name}"
        for metric in self.metrics:
            if metric.name == wanted:
                return metric
        known = ", ".join(m.name for m in self.metrics)
        raise UnknownMetricError(f"module {self.name!r} declares no metric {wanted!r} (declared: {known})")

    def has_metric(self, short_name: str) -> bool:
        """Return True when the contract declares `{module}_{short_name}`."""
        try:
            self.metric(short_name)
        except UnknownMetricError:
            return False
        return True

    def series_names(self) -> frozenset[str]:
        """Return every series name this module exposes (histograms expanded)."""
        return frozenset(name for metric in self.metrics for name in metric.series_names())


def standard_metrics(module: str, extra_labels: Mapping[str, Sequence[str]] | None = None) -> tuple[Metric, ...]:
    """Return the seven metrics of the users' naming convention for a module prefix.

    `extra_labels` adds labels per short name, e.g. `{"tokens_total": ("provider",)}`.
    """
    extra = dict(extra_labels or {})
    standard = (
        ("operations_total", COUNTER, "Operations handled, by operation and status.", ("operation", "status"), "ops"),
        ("operation_duration_seconds", HISTOGRAM, "Operation duration in seconds.", ("operation",), "s"),
        ("tokens_total", COUNTER, "Tokens processed, by type (prompt/completion).", ("type",), "tokens"),
        ("cost_total", COUNTER, "Accumulated cost in US dollars.", (), "USD"),
        ("errors_total", COUNTER, "Errors, by operation and error type.", ("operation", "error_type"), "errors"),
        ("cache_hits_total", COUNTER, "Cache hits.", (), ""),
        ("cache_misses_total", COUNTER, "Cache misses.", (), ""),
    )
    unknown = sorted(set(extra) - {short for short, *_ in standard})
    if unknown:
        raise ValueError(f"extra_labels names no standard metric: {', '.join(unknown)}")
    return tuple(
        Metric(f"{module}_{short}", kind, help_text, (*labels, *extra.get(short, ())), unit)
        for short, kind, help_text, labels, unit in standard
    )
