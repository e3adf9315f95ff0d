"""Broken module: variable in overview panel."""
# expect: dashboards/broken.py: panel "Broken: Filtered"
# expect: modules-overview.json
# expect: $operation
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(h.label_variable(OPS, 'operation'),), rows=(Row('r', (h.rate_per_second(OPS, where=(variable('operation'),), title='Filtered').in_overview(),)),))
