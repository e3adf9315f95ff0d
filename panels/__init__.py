"""Reusable dashboard library: PromQL builders, panel helpers, layout. No I/O, no Grafana imports."""

from panels import helpers, promql
from panels.spec import (
    DashboardSpec,
    Link,
    ModuleDashboard,
    Panel,
    Row,
    Step,
    Target,
    ValueText,
    Variable,
)

__all__ = [
    "DashboardSpec",
    "Link",
    "ModuleDashboard",
    "Panel",
    "Row",
    "Step",
    "Target",
    "ValueText",
    "Variable",
    "helpers",
    "promql",
]
