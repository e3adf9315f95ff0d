"""Broken module: title slug clash."""
# expect: dashboards/broken.py
# expect: same slug 'prompt-manager-dashboard'
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="prompt-manager", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('broken'),)),))
