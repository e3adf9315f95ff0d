"""Broken module: an availability objective of 0 promises nothing."""
# expect: dashboards/broken.py
# expect: objectives.availability=0 cannot be measured: it is the share of operations that must be good
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(availability=0))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
