"""Turn a module's metric contract into real prometheus_client metrics.

Depends on prometheus-client and attrs only (and the Grafana-free `contract` package):

    from dashboards.prompt_manager import CONTRACT
    from moddash.instrumentation import instrument

    metrics = instrument(CONTRACT)
    with metrics.operation("render"):
        ...
"""

from moddash.instrumentation.errors import ERROR_KINDS, ContractViolation
from moddash.instrumentation.metrics import (
    DEFAULT_MAX_LABEL_VALUES,
    FAILURE,
    OVERFLOW,
    SUCCESS,
    ModuleMetrics,
    instrument,
    strict_default,
)

__all__ = ["DEFAULT_MAX_LABEL_VALUES", "ERROR_KINDS", "FAILURE", "OVERFLOW", "SUCCESS", "ContractViolation",
           "ModuleMetrics", "instrument", "strict_default"]
