"""Broken module: infinite threshold step."""
# expect: dashboards/broken.py: panel "Cost"
# expect: thresholds
# expect: inf is not a finite number
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Step, Target
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total'), title='Cost')
                                            .with_thresholds(Step('green'), Step('red', float('inf'))),)),))
