"""Check a live /metrics exposition against a module's contract: missing metrics, wrong types, labels."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Literal

import attrs
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from moddash.contract.model import Metric, ModuleContract
from moddash.instrumentation.bounded_http import FetchError, excerpt, one_line, request
from moddash.instrumentation.metrics import self_metric_names

Severity = Literal["problem", "note"]
SPECIAL_LABELS = frozenset({"le", "quantile"})
ACCEPT = "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"
MAX_EXPOSITION_BYTES = 32 * 1024 * 1024


@attrs.frozen
class Finding:
    """One difference between the contract and what the exporter serves."""

    severity: Severity
    metric: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.metric}: {self.message}"


def fetch(url: str, timeout: float = 5.0, max_bytes: int = MAX_EXPOSITION_BYTES) -> tuple[str, str]:
    """Return (body, content type) of a GET on a /metrics URL; raise FetchError with a one-line reason.

    `timeout` bounds the whole request; a body over `max_bytes`, a non-2xx status, an HTML page or a body
    that is not UTF-8 is an error.
    """
    response = request(url, headers={"Accept": ACCEPT}, timeout=timeout, max_bytes=max_bytes)
    if not 200 <= response.status < 300:
        raise FetchError(response.describe())
    if "html" in response.content_type.lower():
        raise FetchError(f"the answer is an HTML page, not a metrics exposition: "
                         f"{excerpt(response.body, response.content_type)}")
    return decode_exposition(response.body), response.content_type


def read_exposition(source: str, timeout: float = 5.0, stdin: BinaryIO | None = None,
                    max_bytes: int = MAX_EXPOSITION_BYTES) -> tuple[str, str]:
    """Return (text, content type) of SOURCE: a URL (anything with `://`), a file, or `-` for stdin.

    Raise OSError (FetchError for URLs) with a one-line reason that does not repeat SOURCE.
    """
    if "://" in source:
        return fetch(source, timeout, max_bytes)
    if source == "-":
        return decode_exposition(_read_capped(stdin or sys.stdin.buffer, max_bytes)), ""
    try:
        with Path(source).open("rb") as file:
            return decode_exposition(_read_capped(file, max_bytes)), ""
    except FetchError:
        raise
    except OSError as error:
        hint = " (for a URL, write http://" + source + ")" if ":" in source and not Path(source).exists() else ""
        raise FetchError(f"{error.strerror or error}{hint}") from None


def _read_capped(stream: BinaryIO, max_bytes: int) -> bytes:
    body = stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise FetchError(f"larger than the {max_bytes // (1024 * 1024)} MiB limit")
    return body


def decode_exposition(body: bytes) -> str:
    """Return an exposition's text; raise FetchError when it is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FetchError(f"not UTF-8 text (byte 0x{body[error.start]:02x} at offset {error.start})") from None


def parse(text: str, content_type: str = "") -> list[Family]:
    """Return the metric families of an exposition, in the format its content type names.

    Raise ValueError with a one-line reason when the text is not an exposition.
    """
    try:
        if content_type.startswith("application/openmetrics-text"):
            return list(parse_openmetrics(text))  # type: ignore[no-untyped-call]
        return list(parse_text(text))
    except (ValueError, IndexError, KeyError, TypeError) as error:  # the parsers raise several kinds on garbage
        raise ValueError(f"not a Prometheus exposition: {one_line(str(error) or type(error).__name__, 160)}") from None


def _family_name(family: Family) -> str:
    # Both parsers strip `_total` from counter family names; contracts keep it.
    return f"{family.name}_total" if family.type == "counter" else family.name


def _labels_seen(family: Family) -> set[str] | None:
    samples = [s for s in family.samples if not s.name.endswith("_created")]
    if not samples:
        return None
    return {label for sample in samples for label in sample.labels} - SPECIAL_LABELS


def _check_metric(metric: Metric, family: Family | None) -> Iterable[Finding]:
    if family is None:
        yield Finding("problem", metric.name, "missing: the exporter does not expose it")
        return
    if family.type != metric.type:
        yield Finding("problem", metric.name, f"wrong type: declared {metric.type}, exposed {family.type}")
    seen = _labels_seen(family)
    if seen is None:
        if metric.labels:
            yield Finding("note", metric.name, "no samples yet, so its labels cannot be checked")
        return
    missing = [label for label in metric.labels if label not in seen]
    if missing:
        yield Finding("problem", metric.name, f"lacks declared label(s) {', '.join(missing)} "
                                              f"(exposed: {', '.join(sorted(seen)) or 'none'})")
    extra = sorted(seen - set(metric.labels))
    if extra:
        yield Finding("note", metric.name, f"exposes undeclared label(s) {', '.join(extra)}")


def check_exposition(contract: ModuleContract, text: str, content_type: str = "") -> list[Finding]:
    """Return every difference between the contract and an exposition (problems first, by metric)."""
    families = {_family_name(f): f for f in parse(text, content_type) if not f.name.endswith("_created")}
    findings = [finding for metric in contract.metrics for finding in _check_metric(metric, families.get(metric.name))]
    # instrument()'s own counters are exposed by every instrumented service, without being in its contract.
    declared = {m.name for m in contract.metrics} | set(self_metric_names(contract.name))
    for name in sorted(families):
        if name.startswith(contract.name + "_") and name not in declared:
            findings.append(Finding("note", name, "exposed but not declared in the contract"))
    return sorted(findings, key=lambda f: (f.severity != "problem", f.metric))
