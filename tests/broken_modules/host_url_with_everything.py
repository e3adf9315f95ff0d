"""Broken module: host given as a whole URL."""
# expect: dashboards/broken.py
# expect: must not include a scheme
# expect: port=8443
# expect: path='/metrics'
# expect: params={'format': ['prometheus']}
# expect: scheme='https'
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Step, Target
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099, host="https://billing.internal:8443/metrics?format=prometheus"),
                          metrics=standard_metrics("broken"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
