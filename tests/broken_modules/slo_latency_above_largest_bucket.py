"""Broken module: a latency threshold of 20 s is above the largest finite default bucket (10 s)."""
# expect: dashboards/broken.py
# expect: objectives.latency_seconds=20 cannot be measured: it is above the largest finite bucket of broken_operation_duration_seconds (10 s)
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(latency_seconds=20))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
