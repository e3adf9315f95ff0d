"""Broken module: a panel title that is not valid Unicode (it cannot be written as UTF-8)."""
# expect: dashboards/broken.py: panel "Cost \udc80"
# expect: is not valid Unicode text
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total'), title='Cost \udc80'),)),))
