"""Broken module: NaN axis minimum."""
# expect: dashboards/broken.py: panel "Odd minimum"
# expect: .min: nan is not a finite number
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Step, Target
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (Panel('stat', 'Odd minimum', 'Operations per second.', 'ops',
    (Target('sum(rate(broken_operations_total[$__rate_interval]))'),), min=float('nan')),)),))
