"""Broken module: a 1-day SLO window is shorter than the 3-day window of the ticket alert."""
# expect: dashboards/broken.py
# expect: objectives.slo_window='1d' cannot be measured: it is shorter than the 3d window of the warning burn-rate alert
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(slo_window="1d"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
