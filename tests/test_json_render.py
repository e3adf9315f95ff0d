"""Rendering without a JSON round trip: `sdk_json` returns what the SDK's encoder and `json.loads` return, and the
rendered dashboards are the same values, of the same types, as when every model went through the round trip."""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashbuild import render, render_panels
from dashbuild.discover import discover
from dashbuild.overview import build_overview
from dashbuild.pipeline import module_spec
from dashbuild.render import render_dashboard
from dashbuild.sdk_json import round_trip, sdk_json
from panels.spec import DashboardSpec, Panel, Row, Target
from tests.conftest import REPO


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Text(str):
    """A str subclass."""


def typed(value: Any) -> Any:
    """Return `value` with every leaf paired with its exact type (and NaN made comparable), for exact comparison."""
    if isinstance(value, dict):
        return ("dict", type(value), [(typed(key), typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", type(value), [typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return (type(value), "nan")
    return (type(value), value)


def outcome(convert: Any, value: Any) -> Any:
    try:
        return typed(convert(value))
    except (TypeError, ValueError) as error:
        return type(error), str(error)


def assert_same_as_round_trip(value: Any) -> None:
    assert outcome(sdk_json, value) == outcome(round_trip, value)


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63), st.floats(), st.text(),
              st.sampled_from([Colour.RED, Level.HIGH, Text("x"), "\ud83d\ude00", "a\ud800", "é", -0.0]),
              st.sampled_from([dm.GridPos(h=1, w=2, x=3, y=4), dm.DataSourceRef(type_val="prometheus", uid="u"),
                               dm.VariableHide.HIDE_VARIABLE, dm.ThresholdsMode.ABSOLUTE])),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
        st.lists(st.tuples(st.one_of(st.integers(), st.booleans(), st.none(), st.floats(), st.just(Text("k"))),
                           children), max_size=2).map(dict)),
    max_leaves=25)


@settings(max_examples=800, deadline=None)
@given(json_like)
@example({"a": (1, [Colour.RED, Level.HIGH]), 1: "x", "1": "y"}).via("an int key and its str")
@example(["\ud83d\ude00"]).via("a surrogate pair, read back as one character")
@example([float("nan"), float("inf")]).via("non-finite numbers")
def test_sdk_json_returns_what_the_round_trip_returns(value: Any) -> None:
    assert_same_as_round_trip(value)


def test_unserialisable_values_and_cycles_raise_as_the_round_trip_does() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    for value in ({"a": object()}, [{1, 2}], cyclic, {"v": b"x"}):
        assert outcome(sdk_json, value)[0] in (TypeError, ValueError)
        assert_same_as_round_trip(value)


def test_sdk_json_shares_no_container_with_the_model() -> None:
    tags = ["a", "b"]
    model = db.Dashboard("T").tags(tags).build()
    plain = sdk_json(model)
    plain["tags"].append("c")
    assert tags == ["a", "b"] and model.tags == ["a", "b"]


def specs() -> list[DashboardSpec]:
    """Return the repository's module dashboards and its overview."""
    modules = discover(REPO)
    return [*(module_spec(m) for m in modules), build_overview([(m.contract, m.dashboard) for m in modules])]


def round_trip_render(spec: DashboardSpec, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Return the dashboard as rendered when every model (and the whole dashboard) went through the round trip."""
    with monkeypatch.context() as patch:
        patch.setattr(render, "sdk_json", round_trip)
        patch.setattr(render_panels, "sdk_json", round_trip)
        rendered = render_dashboard(spec)
    # The old render passed its finished panels through the round trip once more, with the dashboard.
    rendered["panels"] = round_trip(rendered["panels"])
    return rendered


@pytest.mark.parametrize("spec", specs(), ids=lambda spec: spec.uid)
def test_the_repository_dashboards_render_as_with_the_round_trip(spec: DashboardSpec,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert typed(render_dashboard(spec)) == typed(round_trip_render(spec, monkeypatch))


def test_raw_values_become_plain_json(monkeypatch: pytest.MonkeyPatch) -> None:
    panel = Panel("stat", "Raw", "Raw values.", "none", (Target("up"),)).with_raw({
        "options.tuple": (1, (2, 3)), "options.enum": Level.HIGH, "options.text": Text("t"),
        "options.map": {"b": [Colour.RED], "a": 1.5}})
    spec = DashboardSpec(uid="raw", title="Raw", description="", rows=(Row("Row", (panel,)),))
    rendered = render_dashboard(spec)
    assert typed(rendered) == typed(round_trip_render(spec, monkeypatch))
    (options,) = [p["options"] for p in rendered["panels"] if p.get("type") != "row"]
    assert options["tuple"] == [1, [2, 3]] and type(options["enum"]) is int and type(options["text"]) is str


def test_renders_share_nothing() -> None:
    spec = specs()[0]
    first, second = render_dashboard(spec), render_dashboard(spec)
    expected = typed(second)

    def scribble(value: Any) -> None:
        if isinstance(value, dict):
            for item in list(value.values()):
                scribble(item)
            value["scribbled"] = True
        elif isinstance(value, list):
            for item in value:
                scribble(item)
            value.append("scribbled")

    scribble(first)
    assert typed(second) == expected
    assert typed(render_dashboard(spec)) == expected
