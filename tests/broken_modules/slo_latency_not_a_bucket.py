"""Broken module: a latency threshold of 0.3 s is no bucket bound of the default buckets."""
# expect: dashboards/broken.py
# expect: objectives.latency_seconds=0.3 cannot be measured: the latency SLI reads the bucket le=0.3 of broken_operation_duration_seconds, which has none
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(latency_seconds=0.3))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
