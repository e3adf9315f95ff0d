"""Value objects for a module's metric contract and the users' naming convention."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import attrs

MetricType = Literal["counter", "histogram", "gauge"]
# prometheus_client's Histogram.DEFAULT_BUCKETS (tests check they agree): a histogram without buckets gets these.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.inf)
COUNTER: MetricType = "counter"
HISTOGRAM: MetricType = "histogram"
GAUGE: MetricType = "gauge"

# How a gauge's values from several worker processes combine (prometheus_client's multiprocess modes). "all"
# and "liveall" are left out: they add a `pid` label that no contract, dashboard or rule expects.
MultiprocessMode = Literal["livesum", "sum", "livemax", "max", "livemin", "min", "livemostrecent", "mostrecent"]
MULTIPROCESS_MODES: tuple[MultiprocessMode, ...] = ("livesum", "sum", "livemax", "max", "livemin", "min",
                                                   "livemostrecent", "mostrecent")

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
    result = []
    for label, vals in pairs:
        if isinstance(vals, str):
            # A bare string is an iterable of characters: ("r", "e", "n", ...) is never what was meant.
            raise ValueError(f"label_values[{label!r}] must be a list of values, e.g. [{vals!r}], not a string")
        result.append((label, tuple(_label_value(label, v) for v in vals)))
    return tuple(sorted(result))


def _label_value(label: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"label_values[{label!r}] holds {value!r}: label values are strings")
    if not value:
        raise ValueError(f"label_values[{label!r}] holds an empty value: Prometheus reads it as the label absent")
    _require_unicode(f"label_values[{label!r}] value", value)
    return value


def _require_unicode(what: str, text: str) -> None:
    """Refuse text with lone surrogates: it cannot be written as UTF-8, which Prometheus and Grafana read."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{what} {text!r} is not valid Unicode text: {error.reason}") from None


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
    # Gauges only: how /metrics combines the workers' values under PROMETHEUS_MULTIPROC_DIR ("livesum" for
    # in-flight requests, "max" for a value every worker reads alike, ...). Counters and histograms always sum.
    multiprocess_mode: MultiprocessMode | None = None

    def __attrs_post_init__(self) -> None:
        if self.multiprocess_mode is not None:
            if self.type != GAUGE:
                raise ValueError(f"{self.name}: only gauges have a multiprocess_mode (counters and histograms "
                                 "always add up the workers' values)")
            if self.multiprocess_mode not in MULTIPROCESS_MODES:
                raise ValueError(f"{self.name}: multiprocess_mode {self.multiprocess_mode!r} is not one of "
                                 f"{', '.join(MULTIPROCESS_MODES)}")
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


# A DNS label (RFC 1123), with underscores too: docker compose service names may hold them.
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_DOTTED_NUMBERS_RE = re.compile(r"^[0-9.]+$")
_BRACKETED_WITH_PORT_RE = re.compile(r"^\[([^\]]*)\]:([0-9]+)$")
SCHEMES = ("http", "https")


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _split_url(text: str) -> str:
    """Return the ScrapeTarget(...) a URL-like host stands for, as a hint."""
    parts = urlsplit(text if "://" in text else "//" + text)
    try:
        port = parts.port
    except ValueError:
        port = None
    fields = [f"host={parts.hostname!r}"] if parts.hostname else []
    fields.append(f"port={port}" if port else "port=...")
    if parts.path not in ("", "/"):
        fields.append(f"path={parts.path!r}")
    if parts.query:
        fields.append(f"params={parse_qs(parts.query, keep_blank_values=True)!r}")
    if parts.scheme == "https":
        fields.append("scheme='https'")
    return f"use ScrapeTarget({', '.join(fields)})"


def _host_problem(host: str) -> str | None:
    """Return why `host` is not a bare host name, IPv4 or IPv6 address; None when it is one."""
    if not host:
        return "host must not be empty: give a host name such as 'billing.internal', or an IP address"
    if any(c.isspace() or not c.isprintable() for c in host):
        return f"host {host!r} must not contain whitespace or control characters"
    if "://" in host:
        return f"host {host!r} must not include a scheme: {_split_url(host)}"
    if "@" in host:
        return f"host {host!r} must not include user information ('user@'): Prometheus takes credentials elsewhere"
    if "%" in host:
        return f"host {host!r} must not include '%' (an IPv6 zone or an escape): Prometheus cannot scrape it"
    bracketed = host.startswith("[") and host.endswith("]")
    if _is_ipv6(host[1:-1] if bracketed else host):
        return None
    if "/" in host or "?" in host or "#" in host:
        return f"host {host!r} must not include a path or query: {_split_url(host)}"
    with_port = _BRACKETED_WITH_PORT_RE.fullmatch(host)
    if with_port and _is_ipv6(with_port.group(1)):
        return f"host {host!r} must not include a port: {_split_url(host)}"
    if host.count(":") == 1 and host.rpartition(":")[2].isdigit() and "[" not in host:
        return f"host {host!r} must not include a port: {_split_url(host)}"
    if ":" in host or "[" in host or "]" in host:
        return f"host {host!r} is not a valid IPv6 address (write it as '::1' or '[::1]')"
    if _DOTTED_NUMBERS_RE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"host {host!r} is not a valid IPv4 address"
        return None
    name = host.removesuffix(".")
    if len(name) > 253:
        return f"host {host[:40]!r}... is longer than 253 characters"
    for label in name.split("."):
        if not _HOST_LABEL_RE.fullmatch(label):
            return (f"host {host!r} is not a valid host name: each dot-separated label must be 1 to 63 letters, "
                    f"digits, '-' or '_', not starting or ending with '-' (got {label!r})")
    return None


def _check_host(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"host must be a string, got {type(value).__name__}: {value!r}")
    problem = _host_problem(value)
    if problem:
        raise ValueError(problem)


def _check_port(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"port must be an integer, got {type(value).__name__}: {value!r}")
    if not 1 <= value <= 65535:
        raise ValueError(f"port must be 1..65535, got {value}")


def _check_path(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"path must be a string, got {type(value).__name__}: {value!r}")
    if not value.startswith("/"):
        raise ValueError(f"path {value!r} must start with '/', e.g. '/metrics'")
    if "?" in value or "#" in value:
        plain, _, query = value.partition("#")[0].partition("?")
        hint = f", params={parse_qs(query, keep_blank_values=True)!r}" if query else ""
        raise ValueError(f"path {value!r} must be a plain URL path without '?' or '#': "
                         f"use ScrapeTarget(path={plain!r}{hint}, ...)")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"path {value!r} must not contain whitespace or control characters")
    if "%" in value:
        # Prometheus escapes the path itself, so '%20' would be requested as '%2520'.
        raise ValueError(f"path {value!r} must not be percent-encoded: write the characters themselves")
    _require_unicode("path", value)


def _params(values: Mapping[str, Sequence[str]] | Iterable[tuple[str, Sequence[str]]]
            ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = values.items() if isinstance(values, Mapping) else values
    result = []
    for name, vals in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError(f"params: parameter name {name!r} must be a non-empty string")
        if isinstance(vals, str) or not isinstance(vals, Iterable):
            raise ValueError(f"params[{name!r}] must be a list of strings, e.g. [{vals!r}]")
        items = tuple(vals)
        if not items:
            raise ValueError(f"params[{name!r}] is empty: give at least one value, or leave the parameter out")
        for item in items:
            if not isinstance(item, str):
                raise ValueError(f"params[{name!r}] holds {item!r}: parameter values are strings")
            _require_unicode(f"params[{name!r}] value", item)
        _require_unicode("params name", name)
        result.append((name, items))
    names = [name for name, _ in result]
    if len(set(names)) != len(names):
        raise ValueError(f"params: a parameter is given twice in {names!r}")
    return tuple(sorted(result))


def _check_service(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"service must be a string, got {type(value).__name__}: {value!r}")
    if not value.strip() or not value.isprintable():
        raise ValueError(f"service {value!r} must be printable text, not blank (it is the `service` label value)")
    _require_unicode("service", value)


def _check_token_file(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"bearer_token_file must be a string, got {type(value).__name__}: {value!r}")
    if not value.startswith("/"):
        raise ValueError(f"bearer_token_file {value!r} must be an absolute path inside the Prometheus container, "
                         "e.g. '/run/secrets/billing_metrics_token'")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"bearer_token_file {value!r} must not contain whitespace or control characters")
    _require_unicode("bearer_token_file", value)


@attrs.frozen
class ScrapeTarget:
    """Where Prometheus scrapes a module."""

    port: int = attrs.field(validator=_check_port)
    # Prometheus runs in docker-compose; the modules run on the host (see docker-compose.yml extra_hosts).
    host: str = attrs.field(default="host.docker.internal", validator=_check_host)
    path: str = attrs.field(default="/metrics", validator=_check_path)
    service: str | None = attrs.field(default=None, validator=_check_service)
    # Query parameters of the scrape (Prometheus `params`), e.g. {"format": ["prometheus"]}.
    params: tuple[tuple[str, tuple[str, ...]], ...] = attrs.field(default=(), converter=_params)
    scheme: str = attrs.field(default="http", validator=attrs.validators.in_(SCHEMES))
    # The token file as Prometheus sees it (in its container); the scrape then sends `Authorization: Bearer ...`.
    bearer_token_file: str | None = attrs.field(default=None, validator=_check_token_file)

    @property
    def address(self) -> str:
        """Return `host:port`, the scrape target address (an IPv6 host in brackets: `[::1]:8000`)."""
        bare = self.host[1:-1] if self.host.startswith("[") else self.host
        if _is_ipv6(bare):
            return f"[{ipaddress.IPv6Address(bare).compressed}]:{self.port}"
        return f"{self.host}:{self.port}"


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number, got {type(value).__name__}: {value!r}")
    # inf or nan would reach alert expressions and panel thresholds, and JSON cannot hold either.
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be a finite number, got {value}")
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _share(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number, got {type(value).__name__}: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be a finite number, got {value}")
    if value >= 1:
        # The error budget is 1 - objective: at 100 % it is 0, and every burn rate divides by it.
        raise ValueError(f"objectives.{attribute.name}={value:g} cannot be measured: a share of {value:.0%} leaves "
                         "no error budget (no failure allowed), so no burn rate exists; use e.g. 0.999")
    if value <= 0:
        raise ValueError(f"objectives.{attribute.name}={value:g} cannot be measured: it is the share of operations "
                         "that must be good, above 0 and below 1, e.g. 0.999")


# A Prometheus duration in the units an SLO window is written in: `30d`, `4w`, `720h`, `1w2d`.
_WINDOW_RE = re.compile(r"(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?")
_WINDOW_UNITS = (7 * 86400, 86400, 3600, 60)


def window_seconds(window: str) -> int:
    """Return an SLO window such as `30d`, `4w` or `720h` in seconds; raise ValueError for anything else."""
    match = _WINDOW_RE.fullmatch(window) if isinstance(window, str) else None
    if not window or match is None:
        raise ValueError(f"objectives.slo_window={window!r} is not a duration in w, d, h and m, e.g. '30d' or '4w'")
    seconds = sum(int(count or 0) * unit for count, unit in zip(match.groups(), _WINDOW_UNITS, strict=True))
    if seconds == 0:
        raise ValueError(f"objectives.slo_window={window!r} is empty: an SLO needs a window, e.g. '30d'")
    return seconds


def _window(value: object) -> str:
    """Return `value` if it is an SLO window such as '30d' (a converter: it accepts any object, and refuses)."""
    if not isinstance(value, str):
        raise TypeError(f"slo_window must be a string such as '30d', got {type(value).__name__}: {value!r}")
    window_seconds(value)
    return value


@attrs.frozen
class Objectives:
    """What a module promises (finite numbers); the defaults suit an interactive API.

    `error_ratio`, `p95_seconds` and `cost_per_hour_usd` are alert thresholds. The SLOs (panels/slo.py) are
    `availability`, the share of operations that must not fail, and `latency_target`, the share that must
    complete within `latency_seconds` (a finite bucket bound of the duration histogram), both over `slo_window`.
    """

    error_ratio: float = attrs.field(default=0.05, validator=[_positive, attrs.validators.le(1)])
    p95_seconds: float = attrs.field(default=1.0, validator=_positive)
    cost_per_hour_usd: float = attrs.field(default=10.0, validator=_positive)
    availability: float = attrs.field(default=0.999, validator=_share)
    latency_seconds: float = attrs.field(default=1.0, validator=_positive)
    latency_target: float = attrs.field(default=0.99, validator=_share)
    slo_window: str = attrs.field(default="30d", converter=_window)


def _check_module_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not MODULE_NAME_RE.fullmatch(value) or "__" in value:
        raise ValueError(
            f"module name {value!r} must be lowercase snake_case (a valid metric prefix), e.g. 'prompt_manager'"
        )


def _check_title(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"title must be a string, got {type(value).__name__}: {value!r}")
    if not value.strip():
        raise ValueError("title must not be blank")
    _require_unicode("title", value)


def _unique_metric_names(_: object, attribute: attrs.Attribute[tuple[Metric, ...]], value: tuple[Metric, ...]) -> None:
    names = [m.name for m in value]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"metrics declared twice: {', '.join(duplicates)}")


@attrs.frozen
class ModuleContract:
    """A module's identity, scrape target and the metrics it promises to expose."""

    name: str = attrs.field(validator=_check_module_name)
    title: str = attrs.field(validator=_check_title)
    target: ScrapeTarget = attrs.field(validator=attrs.validators.instance_of(ScrapeTarget))
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
        self._check_latency_objective()
        self._check_latency_slo()

    def _check_latency_objective(self) -> None:
        if not self.has_metric("operation_duration_seconds"):
            return
        histogram = self.metric("operation_duration_seconds")
        largest = max(b for b in (histogram.buckets or DEFAULT_BUCKETS) if math.isfinite(b))
        # histogram_quantile() never returns more than the largest finite bucket bound, so a P95 objective
        # at or above it can never be breached: the alert would be silent whatever the latency.
        if self.objectives.p95_seconds >= largest:
            raise ValueError(f"objectives.p95_seconds={self.objectives.p95_seconds:g} cannot be measured: the "
                             f"largest finite bucket of {histogram.name} is {largest:g} s, and a P95 above it reads "
                             f"as {largest:g} s; add larger buckets or lower the objective")

    def _check_latency_slo(self) -> None:
        if not self.has_metric("operation_duration_seconds"):
            return
        histogram = self.metric("operation_duration_seconds")
        bounds = sorted(b for b in (histogram.buckets or DEFAULT_BUCKETS) if math.isfinite(b))
        threshold = self.objectives.latency_seconds
        # The SLI counts the operations in the `le` bucket equal to the threshold; above the largest finite
        # bound only le="+Inf" is left, which counts every operation: the SLI would always be 100 %.
        if threshold > bounds[-1]:
            raise ValueError(f"objectives.latency_seconds={threshold:g} cannot be measured: it is above the largest "
                             f"finite bucket of {histogram.name} ({bounds[-1]:g} s), where only le=\"+Inf\" counts, "
                             f"and it counts every operation; add a {threshold:g} s bucket or lower the threshold")
        if self.latency_bucket() is None:
            raise ValueError(f"objectives.latency_seconds={threshold:g} cannot be measured: the latency SLI reads the "
                             f"bucket le={threshold:g} of {histogram.name}, which has none (finite bounds: "
                             f"{', '.join(f'{b:g}' for b in bounds)}); use one of them or add {threshold:g} to its "
                             "buckets")

    def latency_bucket(self) -> float | None:
        """Return the finite bucket bound of the duration histogram equal to `objectives.latency_seconds`, if any."""
        if not self.has_metric("operation_duration_seconds"):
            return None
        histogram = self.metric("operation_duration_seconds")
        threshold = self.objectives.latency_seconds
        return next((b for b in (histogram.buckets or DEFAULT_BUCKETS)
                     if math.isfinite(b) and math.isclose(b, threshold, rel_tol=1e-9)), None)

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
