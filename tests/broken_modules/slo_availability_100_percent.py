"""Broken module: an availability objective of 100 % leaves no error budget to burn."""
# expect: dashboards/broken.py
# expect: objectives.availability=1 cannot be measured: a share of 100% leaves no error budget
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(availability=1.0))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
