"""Broken module: an 80 % objective: even a total outage burns its budget at 5x, below every page's factor."""
# expect: dashboards/broken.py
# expect: objectives.availability=0.8 cannot be measured: its error budget is 0.2, so even 100 % bad operations burn it at only 5x
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(availability=0.8))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
