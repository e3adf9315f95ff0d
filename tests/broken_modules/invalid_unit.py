"""Broken module: invalid unit."""
# expect: dashboards/broken.py: panel "Odd unit"
# expect: unit
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (h.rate_per_second(OPS, unit='operations per fortnight', title='Odd unit'),)),))
