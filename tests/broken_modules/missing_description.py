"""Broken module: missing description."""
# expect: dashboards/broken.py
# expect: description
# expect: Undescribed
# expect: panel has no description
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (Panel('stat', 'Undescribed', '', 'short', (Target('sum(rate(broken_operations_total[$__rate_interval]))',),)),)),))
