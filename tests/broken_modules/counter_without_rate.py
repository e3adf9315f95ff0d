"""Broken module: counter without rate."""
# expect: dashboards/broken.py: panel "Raw counter"
# expect: [target-counter-agg-rule]
# expect: not under rate()/increase()
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (Panel('stat', 'Raw counter', 'd', 'short', (Target('sum(broken_operations_total)',),)),)),))
