"""Broken module: undeclared metric."""
# expect: dashboards/broken.py: panel "Ghost"
# expect: ghost_total
# expect: no module contract declares
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (Panel('timeseries', 'Ghost', 'd', 'ops', (Target('sum(rate(ghost_total[$__rate_interval]))',),)),)),))
