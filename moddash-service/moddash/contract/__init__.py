"""Metric contracts: what a module exposes at /metrics, declared once.

This package imports neither Grafana nor Prometheus client libraries, so a
production service can import its module's contract cheaply.
"""

from moddash.contract.model import (
    COUNTER,
    GAUGE,
    HISTOGRAM,
    MULTIPROCESS_MODES,
    Metric,
    ModuleContract,
    Objectives,
    ScrapeTarget,
    UnknownMetricError,
    standard_metrics,
)

__all__ = [
    "COUNTER",
    "GAUGE",
    "HISTOGRAM",
    "MULTIPROCESS_MODES",
    "Metric",
    "ModuleContract",
    "Objectives",
    "ScrapeTarget",
    "UnknownMetricError",
    "standard_metrics",
]
