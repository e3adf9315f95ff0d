"""Broken module: uid too long."""
# expect: dashboards/a_module_name_that_is_far_too_long_for_a_uid.py
# expect: must be 1 to 40 letters, digits, '-' or '_'
# install-as: a_module_name_that_is_far_too_long_for_a_uid.py
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="a_module_name_that_is_far_too_long_for_a_uid", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("a_module_name_that_is_far_too_long_for_a_uid"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.health('x'),)),))
