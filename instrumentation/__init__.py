"""Turn a module's metric contract into real prometheus_client metrics.

Depends on prometheus-client and attrs only (and the Grafana-free `contract` package):

    from dashboards.prompt_manager import CONTRACT
    from instrumentation import instrument

    metrics = instrument(CONTRACT)
    with metrics.operation("render"):
        ...
"""

from instrumentation.errors import ContractViolation
from instrumentation.metrics import FAILURE, SUCCESS, ModuleMetrics, instrument

__all__ = ["FAILURE", "SUCCESS", "ContractViolation", "ModuleMetrics", "instrument"]
