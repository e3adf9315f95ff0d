"""Broken module: the P95 objective equals the largest finite custom bucket: P95 > 2 s can never be true."""
# expect: dashboards/broken.py
# expect: objectives.p95_seconds=2 cannot be measured: the largest finite bucket of broken_operation_duration_seconds is 2 s
from moddash.contract import HISTOGRAM, Metric, ModuleContract, Objectives, ScrapeTarget, standard_metrics

from panels import ModuleDashboard, Row
from panels import helpers as h

_metrics = tuple(m for m in standard_metrics("broken") if m.name != "broken_operation_duration_seconds")
CONTRACT = ModuleContract(name="broken", title="Broken", target=ScrapeTarget(port=8099),
                          metrics=(*_metrics, Metric("broken_operation_duration_seconds", HISTOGRAM, "Duration.",
                                                     ("operation",), "s", buckets=(0.1, 0.5, 2))),
                          objectives=Objectives(p95_seconds=2))

DASHBOARD = ModuleDashboard(rows=(Row('r', (h.cost_over_range(CONTRACT.metric('cost_total')),)),))
