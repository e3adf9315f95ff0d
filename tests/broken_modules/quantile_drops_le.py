"""Broken module: quantile drops le."""
# expect: dashboards/broken.py: panel "Bad P95"
# expect: [histogram-quantile-le-rule]
# expect: drops the le label
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=standard_metrics("broken"))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(variables=(), rows=(Row('r', (Panel('timeseries', 'Bad P95', 'd', 's', (Target('histogram_quantile(0.95, sum(rate(broken_operation_duration_seconds_bucket[$__rate_interval])))',),)),)),))
