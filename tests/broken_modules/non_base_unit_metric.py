"""Broken module: non-base unit metric."""
# expect: dashboards/broken.py: panel "Latency ms"
# expect: [metric-naming-rule]
# expect: base units
from moddash.contract import GAUGE, Metric, ModuleContract, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Panel, Row, Target
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=(*standard_metrics("broken"), Metric("broken_latency_milliseconds", GAUGE, "Latency.")))
OPS = CONTRACT.metric("operations_total")

DASHBOARD = ModuleDashboard(rows=(Row('r', (Panel('timeseries', 'Latency ms', 'd', 'ms', (Target('max(broken_latency_milliseconds)',),)),)),))
