"""Check a live /metrics exposition against a module's contract: missing metrics, wrong types, labels."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable
from typing import Literal

import attrs
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from contract.model import Metric, ModuleContract

Severity = Literal["problem", "note"]
SPECIAL_LABELS = frozenset({"le", "quantile"})
ACCEPT = "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"


@attrs.frozen
class Finding:
    """One difference between the contract and what the exporter serves."""

    severity: Severity
    metric: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.metric}: {self.message}"


def fetch(url: str, timeout: float = 5.0) -> tuple[str, str]:
    """Return (body, content type) of a GET on a /metrics URL."""
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode("utf-8"), response.headers.get("Content-Type", "")


def parse(text: str, content_type: str = "") -> list[Family]:
    """Return the metric families of an exposition, in the format its content type names."""
    if content_type.startswith("application/openmetrics-text"):
        return list(parse_openmetrics(text))  # type: ignore[no-untyped-call]
    return list(parse_text(text))


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
    declared = {m.name for m in contract.metrics}
    for name in sorted(families):
        if name.startswith(contract.name + "_") and name not in declared:
            findings.append(Finding("note", name, "exposed but not declared in the contract"))
    return sorted(findings, key=lambda f: (f.severity != "problem", f.metric))
