"""The ad hoc filters variable: key/value filters Grafana applies to every query of its datasource."""

from __future__ import annotations

import pytest

from dashbuild.compiled import variable_value
from dashbuild.render import render_dashboard
from dashbuild.verify_plan import grafana_values
from panels import AdhocVariable, DatasourceVariable, ModuleDashboard, Row
from panels import helpers as h
from tests.test_panel_kinds import OPS, compiled, findings, spec_of


def test_renders_as_grafana_saves_it() -> None:
    spec = spec_of(h.rate_per_second(OPS, by=("operation",)), variables=(
        AdhocVariable("filters", "Filters"),
        AdhocVariable("lts_filters", datasource="lts", hidden=True),
        DatasourceVariable("lts", "Long-term store", regex="/thanos/"),
    ))
    adhoc = [v for v in render_dashboard(spec)["templating"]["list"] if v["type"] == "adhoc"]
    assert [(v["name"], v.get("label"), v["datasource"], v.get("hide")) for v in adhoc] == [
        ("filters", "Filters", {"type": "prometheus", "uid": "${datasource}"}, None),
        ("lts_filters", None, {"type": "prometheus", "uid": "${lts}"}, 2),
    ]
    assert not {"query", "current", "options"} & {key for v in adhoc for key in v}


def test_is_schema_valid_and_lint_clean() -> None:
    assert findings(spec_of(h.rate_per_second(OPS, by=("operation",)),
                            variables=(AdhocVariable("filters", "Filters"),))) == []


def test_stands_for_nothing_in_queries() -> None:
    spec = spec_of(h.rate_per_second(OPS), variables=(AdhocVariable("filters", "Filters"),))
    dashboard = compiled(spec)
    (adhoc,) = [v for v in dashboard.variables() if v["type"] == "adhoc"]
    assert variable_value(adhoc) is None
    assert "filters" not in dashboard.variable_values
    assert "filters" not in grafana_values(600, 15, dashboard.variables())


def test_its_datasource_must_be_a_datasource_variable() -> None:
    with pytest.raises(ValueError, match=r"variable 'filters' uses \$lts, which is not one of this dashboard's "
                                         r"datasource variables \(datasource\)"):
        ModuleDashboard(rows=(Row("r", (h.rate_per_second(OPS),)),),
                        variables=(AdhocVariable("filters", datasource="lts"),))
    with pytest.raises(ValueError, match="'filters' is defined twice"):
        spec_of(h.rate_per_second(OPS), variables=(AdhocVariable("filters"), AdhocVariable("filters")))


@pytest.mark.parametrize(("name", "datasource"), [("__filters", "datasource"), ("filters", "${lts}")])
def test_names_are_variable_names(name: str, datasource: str) -> None:
    with pytest.raises(ValueError, match="must be letters, digits and '_'"):
        AdhocVariable(name, datasource=datasource)
