"""Broken module: thresholds descending."""
# expect: dashboards/broken.py
# expect: strictly ascending
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')).with_thresholds(h.Step('green'), h.Step('red', 10), h.Step('yellow', 5)),)),))
