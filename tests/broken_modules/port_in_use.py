"""Broken module: port in use."""
# expect: dashboards/broken.py
# expect: 8000
# expect: dashboards/prompt_manager.py
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8000),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('broken'),)),))
