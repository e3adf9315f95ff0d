"""Broken module: infinite maximum on a panel the overview copies: one error, at the module's panel."""
# expect: dashboards/broken.py: panel "Cost"
# expect: broken.json
# expect: .max: inf is not a finite number
import attrs

from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))

DASHBOARD = ModuleDashboard(rows=(Row('r', (
    attrs.evolve(h.cost_over_range(CONTRACT.metric('cost_total'), title='Cost'), max=float('inf')).in_overview(),
)),))
