"""Broken module: fixed rate window."""
# expect: dashboards/broken.py: panel "Fixed window"
# expect: [target-rate-interval-rule]
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (Panel('timeseries', 'Fixed window', 'd', 'ops', (Target('sum(rate(broken_operations_total[5m]))',),)),)),))
