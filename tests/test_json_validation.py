"""Schema validation cached by shape: every cached answer is the answer jsonschema gives for that very instance,
a mistake among cached valid panels is still found and named, and modules of other layouts reuse validations."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashbuild import schema
from dashbuild.schema import SchemaError, validate_dashboard
from dashbuild.schema_shape import FREE, Shapeless, shape_function
from tests.conftest import REPO

DASHBOARDS = {p.stem: json.loads(p.read_text()) for p in sorted((REPO / "provisioning/dashboards").glob("*.json"))}


def record_parts() -> list[tuple[schema._Cached, Any]]:
    """Return every (cached validator, instance) the fast validation of the repository's dashboards asks about."""
    seen: list[tuple[schema._Cached, Any]] = []
    original = schema._Cached.errors

    def spy(self: schema._Cached, instance: Any) -> list[tuple[str, str]]:
        seen.append((self, copy.deepcopy(instance)))
        return original(self, instance)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema._Cached, "errors", spy)
        for dashboard in DASHBOARDS.values():
            validate_dashboard(dashboard)
    unique = {(id(cached), json.dumps(instance, sort_keys=True)): (cached, instance) for cached, instance in seen}
    return list(unique.values())


PARTS = record_parts()


def truth(cached: schema._Cached, instance: Any) -> list[tuple[str, str]]:
    """Return what jsonschema itself says about `instance`, in the cache's order and form, with no cache at all."""
    errors = sorted(cached.validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [(schema._path(e, ""), e.message) for e in errors]


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the path of `value` and of everything inside it."""
    yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*at, index))


# Values near the schemas' edges: grid bounds, empty and long text, wrong types, enum-like words.
SCALARS = st.one_of(st.integers(-3, 30), st.sampled_from([0, 1, 24, 25, -1, 2**40, 1.5, 0.0, -0.5, float("inf")]),
                    st.sampled_from(["", "x", "A", "time_series", "table", "value", "auto", "none", "$datasource",
                                     "prometheus", "absolute", "green", "list", "bottom", "ops", "percentunit"]),
                    st.text(max_size=4), st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=3),
                                                          st.dictionaries(st.text(max_size=4), children, max_size=3)),
                      max_leaves=6)


@st.composite
def mutated_part(draw: st.DrawFn) -> tuple[schema._Cached, Any]:
    """Return a recorded part with a few values replaced, keys removed or keys added."""
    cached, instance = draw(st.sampled_from(PARTS))
    instance = copy.deepcopy(instance)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(instance))))
        if not where:
            continue
        *parents, last = where
        node = instance
        for step in parents:
            node = node[step]
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if action == "set":
            node[last] = draw(VALUES)
        elif action == "delete" and isinstance(node, dict):
            del node[last]
        elif action == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(["type", "id", "title", "unit", "extra", "h", "value", "refId"]))] = draw(VALUES)
    return cached, instance


@settings(max_examples=1500, deadline=None)
@given(mutated_part())
def test_every_cached_answer_is_jsonschemas_answer_for_that_instance(part: tuple[schema._Cached, Any]) -> None:
    cached, instance = part
    assert cached.errors(instance) == truth(cached, instance)


@pytest.mark.parametrize("part", range(len(PARTS)))
def test_recorded_parts_unchanged(part: int) -> None:
    cached, instance = PARTS[part]
    assert cached.errors(instance) == truth(cached, instance)


def module_dashboard() -> dict[str, Any]:
    return copy.deepcopy(DASHBOARDS["prompt-manager"])


def panels_of(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for top in dashboard["panels"] for p in (top, *top.get("panels", []))]


@pytest.mark.parametrize("mistake", ["grid width", "grid height", "title type", "unit", "target refId type",
                                     "threshold colour", "extra key"])
def test_one_invalid_panel_among_cached_valid_ones_is_refused_and_named(mistake: str) -> None:
    for dashboard in DASHBOARDS.values():
        assert validate_dashboard(dashboard) == []  # every part cached as valid
    dashboard = module_dashboard()
    victim = next(p for p in panels_of(dashboard) if p["type"] == "timeseries" and p["targets"])
    title = victim["title"]
    mistakes: dict[str, Callable[[], None]] = {
        "grid width": lambda: victim["gridPos"].update(w=25),
        "grid height": lambda: victim["gridPos"].update(h=0),
        "title type": lambda: victim.update(title=5),
        "unit": lambda: victim["fieldConfig"]["defaults"].update(unit="furlongs"),
        "target refId type": lambda: victim["targets"][0].update(refId=7),
        "threshold colour": lambda: victim["fieldConfig"]["defaults"]["thresholds"]["steps"][0].update(color=3),
        "extra key": lambda: victim.update(colour="red"),
    }
    mistakes[mistake]()
    found = validate_dashboard(dashboard)
    assert found, mistake
    named = title if mistake != "title type" else "5"
    assert {error.panel for error in found} == {named}
    assert sorted(map(str, found)) == sorted(map(str, validate_dashboard(dashboard, fast=False)))


def relaid(dashboard: dict[str, Any], shift: int) -> dict[str, Any]:
    """Return the dashboard with every panel moved, resized and retitled, its variables' queries and tags
    changed: another module's layout of the same kinds of panels."""
    other = copy.deepcopy(dashboard)
    for number, panel in enumerate(panels_of(other)):
        panel["gridPos"] = {"h": 3 + shift, "w": 5 + shift, "x": shift, "y": 100 * shift + number}
        panel["title"] = f"panel {number} of layout {shift}"
        panel["id"] = 1000 * shift + number
    for variable in other["templating"]["list"]:
        if isinstance(variable.get("query"), str):
            variable["query"] = f"label_values(other_{shift}_total, operation)"
    other["tags"] = [f"tag-{shift}"]
    other["uid"] = f"layout-{shift}"
    return other


def test_modules_of_other_layouts_reuse_the_validations(monkeypatch: pytest.MonkeyPatch) -> None:
    dashboard = module_dashboard()
    assert validate_dashboard(relaid(dashboard, 1)) == []
    v = schema._validators()
    cached = [v.fast_panel, v.fast_row, v.fast_dashboard, v.fast_field_config, v.fast_target, v.partial_defaults,
              *v.fast_options.values(), *v.fast_custom.values(), *v.partial_custom.values()]
    ours = {id(c.validator) for c in cached}
    validated: list[Any] = []
    original = jsonschema.Draft7Validator.iter_errors

    def counting(self: jsonschema.Draft7Validator, instance: Any, _schema: Any = None) -> Any:
        if id(self) in ours:
            validated.append(instance)
        return original(self, instance)

    monkeypatch.setattr(jsonschema.Draft7Validator, "iter_errors", counting)
    for shift in (2, 3, 4):
        assert validate_dashboard(relaid(dashboard, shift)) == []
    assert validated == []


def test_shapes_keep_what_validation_depends_on() -> None:
    grid = schema._validators().fast_panel.validator.schema
    shape = shape_function(grid)
    panel: dict[str, Any] = {"type": "stat", "title": "a", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0}}
    same = {"type": "table", "title": "b", "gridPos": {"h": 1, "w": 24, "x": 23, "y": 900}}
    assert shape(panel) == shape(same)
    for different in ({"h": 0}, {"w": 25}, {"x": 24}, {"y": True}, {"y": 1.5}, {"h": "8"}):
        other = {**panel, "gridPos": {**panel["gridPos"], **different}}
        assert shape(other) != shape(panel), different
    assert shape({**panel, "type": ""}) != shape(panel)  # minLength 1
    wide = {**panel, "gridPos": {**panel["gridPos"], "w": 25}}
    assert shape(wide) != shape({**panel, "gridPos": {**panel["gridPos"], "w": 26}})  # invalid values are kept
    assert shape({**panel, "extra": 1}) != shape(panel)
    assert shape(dict(reversed(panel.items()))) != shape(panel)  # key order kept
    with pytest.raises(Shapeless):
        shape({**panel, "gridPos": (1, 2)})
    with pytest.raises(Shapeless):
        shape({**panel, 1: "x"})
    assert shape_function({"description": "anything"})([1, {"a": None}]) is FREE


def test_a_union_of_leaves_frees_only_a_value_its_one_matching_branch_accepts() -> None:
    shape = shape_function({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
    assert shape("x") is FREE and shape("y") is FREE
    assert shape(["x"]) != shape(["y"])  # the array branch is not a leaf: kept
    assert shape(3) != shape(4)
    overlapping = shape_function({"anyOf": [{"type": "number"}, {"type": "integer", "minimum": 0}]})
    assert overlapping(-1) != overlapping(-2)  # two branches match an int: kept


def test_schema_errors_name_panels_as_before() -> None:
    dashboard = module_dashboard()
    first, second = panels_of(dashboard)[1:3]
    first["gridPos"]["w"] = 30
    second["gridPos"]["w"] = 30
    found = validate_dashboard(dashboard)
    assert found == [SchemaError(first["title"], "gridPos.w", "30 is greater than the maximum of 24"),
                     SchemaError(second["title"], "gridPos.w", "30 is greater than the maximum of 24")]


PANELS = [p for d in DASHBOARDS.values() for p in panels_of(d) if p.get("type") != "row"]
FREE_TEXT = st.one_of(st.text(max_size=5), st.integers(-2, 2), st.booleans(), st.none())


@st.composite
def mutated_panel(draw: st.DrawFn) -> dict[str, Any]:
    """Return a panel of the repository with a few values changed: often only what the whole-panel cache ignores
    (title, description, id, queries, legends), else anything anywhere."""
    panel: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(PANELS)))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            target = panel
            found = panel.get("targets")
            targets = [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []
            in_target: bool = draw(st.booleans())
            if targets and in_target:
                target = draw(st.sampled_from(targets))
            target[draw(st.sampled_from(["title", "description", "id", "expr", "legendFormat", "refId",
                                         "interval"]))] = draw(FREE_TEXT)
            continue
        where = draw(st.sampled_from(list(paths(panel))[1:]))
        *parents, last = where
        node = panel
        for step in parents:
            node = node[step]
        if draw(st.booleans()) or not isinstance(node, dict):
            node[last] = draw(VALUES)
        else:
            del node[last]
    return panel


@settings(max_examples=800, deadline=None)
@given(mutated_panel())
def test_the_whole_panel_cache_answers_what_the_checks_find(panel: dict[str, Any]) -> None:
    v = schema._validators()
    title = str(panel.get("title", f"id {panel.get('id')}"))
    cached = list(schema._panel_errors(panel, v))
    assert cached == list(schema._panel_checks(panel, v, title, fast=True))
    assert sorted(map(str, cached)) == sorted(map(str, schema._panel_errors(panel, v, fast=False)))
