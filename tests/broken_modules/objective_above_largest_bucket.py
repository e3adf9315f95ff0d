"""Broken module: a P95 objective of 30 s with the default buckets (largest finite 10 s) can never fire."""
# expect: dashboards/broken.py
# expect: objectives.p95_seconds=30 cannot be measured: the largest finite bucket of broken_operation_duration_seconds is 10 s
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(p95_seconds=30))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
