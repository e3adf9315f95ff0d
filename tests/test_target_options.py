"""A query's own options (what imported dashboards set): legend left empty, min step, resolution, hidden,
exemplars. Each renders the JSON Grafana saves for it and passes the build's schema checks and lint."""

from __future__ import annotations

from typing import Any

import pytest

from dashbuild.render import render_dashboard
from panels import Panel, Target
from tests.test_panel_kinds import OPS, findings, spec_of

EXPR = f"sum(rate({OPS.name}[$__rate_interval]))"


def rendered_target(target: Target) -> dict[str, Any]:
    """Return the JSON of the one query of a time series panel holding `target`, after checking the panel."""
    panel = Panel("timeseries", "Ops", "Operations per second.", "ops", (target,))
    spec = spec_of(panel)
    assert findings(spec) == []
    (rendered,) = [p for p in render_dashboard(spec)["panels"] if p["type"] != "row"]
    query: dict[str, Any] = rendered["targets"][0]
    return query


def test_defaults_are_what_grafana_saves_for_a_new_query() -> None:
    query = rendered_target(Target(EXPR))
    assert query["legendFormat"] == "__auto"
    assert query["range"] is True
    for key in ("interval", "intervalFactor", "hide", "exemplar"):
        assert key not in query


def test_options_render_as_grafana_names_them() -> None:
    query = rendered_target(Target(EXPR, auto_legend=False, step="1m", interval_factor=2, hide=True, exemplar=True))
    assert "legendFormat" not in query
    assert (query["interval"], query["intervalFactor"], query["hide"], query["exemplar"]) == ("1m", 2, True, True)
    assert rendered_target(Target(EXPR, step="$interval"))["interval"] == "$interval"


@pytest.mark.parametrize(("fields", "message"), [
    ({"legend": "{{operation}}", "auto_legend": False}, "auto_legend=False is for queries without a legend"),
    ({"step": "1 m"}, "step"),
    ({"interval_factor": 0}, "interval_factor"),
])
def test_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Target(EXPR, **fields)


def test_a_blank_description_is_for_lint_to_refuse_and_a_silence_names_why() -> None:
    panel = Panel("stat", "Ops", "", "ops", (Target(EXPR),))
    assert findings(spec_of(panel)) == ["panel-title-description-rule: panel has no description"]
    silenced = panel.silence("panel-title-description-rule", "imported without one; describe it")
    assert findings(spec_of(silenced)) == []
