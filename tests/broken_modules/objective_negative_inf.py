"""Broken module: negative infinite error ratio."""
# expect: dashboards/broken.py
# expect: error_ratio must be a finite number, got -inf
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Step, Target
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(error_ratio=-float("inf")))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
