"""Broken module: unknown metric."""
# expect: dashboards/broken.py
# expect: broken_operationz_total
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

X = CONTRACT.metric('operationz_total')
