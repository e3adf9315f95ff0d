"""Broken module: duplicate uid."""
# expect: dashbuild/overview.py
# expect: uid 'modules-overview' is also used by dashboards/modules_overview.py
# install-as: modules_overview.py
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="modules_overview", title="All the modules", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("modules_overview"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('x'),)),))
