"""grafanalib users move over: a `.dashboard.py` is read as the JSON grafanalib generates, in its own process."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashbuild.importer.grafanalib_source import GrafanalibError, dashboard_from_grafanalib, is_grafanalib_file

DASHBOARD = '''
from grafanalib.core import Dashboard, Graph, Row, SingleStat, Target

dashboard = Dashboard(
    title="Checkout",
    rows=[Row(panels=[
        Graph(title="Requests/s", dataSource="Prometheus",
              targets=[Target(expr='sum by (code) (rate(checkout_requests_total[5m]))', legendFormat="{{code}}",
                              refId="A")]),
        SingleStat(title="Errors", dataSource="Prometheus",
                   targets=[Target(expr="sum(increase(checkout_errors_total[1h]))", refId="A")]),
    ])],
).auto_panel_ids()
'''


def test_a_grafanalib_dashboard_becomes_its_json(tmp_path: Path) -> None:
    path = tmp_path / "checkout.dashboard.py"
    path.write_text(DASHBOARD)
    assert is_grafanalib_file(path) and not is_grafanalib_file(tmp_path / "checkout.json")
    data = dashboard_from_grafanalib(path)
    assert data["title"] == "Checkout"
    (row,) = data["rows"]
    assert [(p["type"], p["title"]) for p in row["panels"]] == [("graph", "Requests/s"), ("singlestat", "Errors")]
    assert row["panels"][0]["targets"][0]["expr"] == "sum by (code) (rate(checkout_requests_total[5m]))"


@pytest.mark.parametrize(("source", "message"), [
    ("x = 1\n", "defines no `dashboard`"),
    ("import nonexistent_module_for_test\n", "failed to run: ModuleNotFoundError: No module named"),
    ("raise RuntimeError('boom')\n", "failed to run: RuntimeError: boom (line 1)"),
    ("import time\ntime.sleep(30)\n", "did not finish within 1 s"),
])
def test_a_file_that_cannot_make_a_dashboard_is_one_line(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "bad.dashboard.py"
    path.write_text(source)
    with pytest.raises(GrafanalibError) as caught:
        dashboard_from_grafanalib(path, timeout=1)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
