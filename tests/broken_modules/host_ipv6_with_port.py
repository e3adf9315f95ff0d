"""Broken module: bracketed IPv6 host with a port."""
# expect: dashboards/broken.py
# expect: must not include a port
# expect: host='::1', port=8010
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Step, Target
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099, host="[::1]:8010"),
                          metrics=standard_metrics("broken"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
