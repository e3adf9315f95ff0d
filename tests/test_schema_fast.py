"""The fast schema validation (dereferenced, part by part, cached) finds exactly what the plain one finds."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from dashbuild.schema import validate_dashboard
from tests.conftest import REPO

DASHBOARDS = {p.stem: json.loads(p.read_text()) for p in sorted((REPO / "provisioning/dashboards").glob("*.json"))}
Mutation = Callable[[dict[str, Any]], None]


def first(dashboard: dict[str, Any], kind: str) -> dict[str, Any]:
    """Return the first panel of a kind (looking inside rows too)."""
    panels = [p for top in dashboard["panels"] for p in (top.get("panels") or [top])]
    found: dict[str, Any] = next(p for p in panels if p["type"] == kind)
    return found


MUTATIONS: dict[str, Mutation] = {
    "none": lambda d: None,
    "grid width": lambda d: first(d, "timeseries")["gridPos"].update(w=25),
    "unit": lambda d: first(d, "stat")["fieldConfig"]["defaults"].update(unit="furlongs"),
    "legend placement": lambda d: first(d, "timeseries")["options"]["legend"].update(placement="middle"),
    "threshold value": lambda d: first(d, "stat")["fieldConfig"]["defaults"]["thresholds"]["steps"][0].update(
        value="low"),
    "stat color mode": lambda d: first(d, "stat")["options"].update(colorMode="rainbow"),
    "draw style": lambda d: first(d, "timeseries")["fieldConfig"]["defaults"]["custom"].update(drawStyle="dots"),
    "target extra key": lambda d: first(d, "timeseries")["targets"][0].update(query="x"),
    "target expr type": lambda d: first(d, "timeseries")["targets"][0].update(expr=42),
    "target missing refId": lambda d: first(d, "timeseries")["targets"][0].pop("refId"),
    "targets not a list": lambda d: first(d, "timeseries").update(targets={"A": 1}),
    "target not an object": lambda d: first(d, "timeseries").update(targets=["up"]),
    "options not an object": lambda d: first(d, "stat").update(options=[1]),
    "fieldConfig without overrides": lambda d: first(d, "timeseries")["fieldConfig"].pop("overrides"),
    "panel extra key": lambda d: first(d, "timeseries").update(colour="red"),
    "panel without type": lambda d: first(d, "stat").pop("type"),
    "mapping": lambda d: first(d, "stat")["fieldConfig"]["defaults"].update(mappings=[{"type": "value"}]),
    "dashboard tooltip": lambda d: d.update(graphTooltip=7),
}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_fast_and_plain_validation_agree(name: str, mutation: str) -> None:
    dashboard = copy.deepcopy(DASHBOARDS[name])
    try:
        MUTATIONS[mutation](dashboard)
    except StopIteration:
        pytest.skip(f"{name} has no panel of that kind")
    plain = sorted(map(str, validate_dashboard(dashboard, fast=False)))
    fast = sorted(map(str, validate_dashboard(dashboard, fast=True)))
    assert fast == plain
    assert bool(plain) == (mutation != "none")
    # A second, cached, run gives the same answer.
    assert sorted(map(str, validate_dashboard(dashboard, fast=True))) == plain
