"""Broken module: NaN cost objective."""
# expect: dashboards/broken.py
# expect: cost_per_hour_usd must be a finite number, got nan
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Step, Target
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"),
                          objectives=Objectives(cost_per_hour_usd=float("nan")))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
