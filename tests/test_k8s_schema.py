"""Kubernetes objects are checked as the API server takes them: the CRD schemas, names, labels, sizes.

The upstream examples (one valid and one invalid manifest per kind, see dashbuild/schemas/kubernetes/SOURCE.md)
prove the schemas are loaded and picked by apiVersion and kind.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.k8s_schema import CONFIGMAP_LIMIT, SCHEMAS, object_problems

EXAMPLES = Path(__file__).parent / "kubernetes_examples"
VALID = sorted(EXAMPLES.glob("*.valid.yaml"))
INVALID = sorted(EXAMPLES.glob("*.invalid-*.yaml"))


def load(path: Path) -> dict[str, Any]:
    """Return the one manifest in `path`."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_every_kind_has_its_examples() -> None:
    kinds = {load(path)["kind"] for path in VALID}
    assert kinds == {kind for _version, kind in SCHEMAS} and len(INVALID) == len(VALID)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_examples_pass(path: Path) -> None:
    assert object_problems(load(path)) == []


# What each invalid example gets wrong (SOURCE.md, "How they were checked"): the problem found must be that one.
EXPECTED = {
    "configmap": "data.checkout-overview.json: {'title': 'Checkout overview', 'panels': []} is not of type 'string'",
    "grafanaalertrulegroup": "spec: 'interval' is a required property",
    "grafanadashboard": "spec: 'instanceSelector' is a required property",
    "grafanadatasource": "spec: 'datasource' is a required property",
    "grafanafolder": "spec.uid: 'shop/folder with spaces' does not match",
    "podmonitor": "spec: 'selector' is a required property",
    "prometheusrule": "spec.groups.0.rules.0: 'expr' is a required property",
    "scrapeconfig": "spec.staticConfigs.0.targets: 'db-1.internal:9100' is not of type 'array'",
    "servicemonitor": "spec.endpoints.0.interval: '1.5m' does not match",
}


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_examples_fail_for_their_mistake(path: Path) -> None:
    problems = object_problems(load(path))
    assert any(problem.startswith(EXPECTED[path.name.split(".")[0]]) for problem in problems), problems


def test_what_the_api_server_checks_beyond_the_schema() -> None:
    configmap = load(EXAMPLES / "configmap.valid.yaml")
    named = copy.deepcopy(configmap)
    named["metadata"]["name"] = "Modules_Overview"
    assert any("is not a DNS-1123 subdomain" in p for p in object_problems(named))
    labelled = copy.deepcopy(configmap)
    labelled["metadata"]["labels"] = {"grafana_dashboard": "1", "bad key!": "x", "ok": "-starts-with-dash"}
    problems = object_problems(labelled)
    assert any("key 'bad key!' is not a valid label name" in p for p in problems)
    assert any("metadata.labels.ok: '-starts-with-dash' is not a valid label value" in p for p in problems)
    big = copy.deepcopy(configmap)
    big["data"] = {"overview.json": "x" * CONFIGMAP_LIMIT}
    assert any("over the 1048576 bytes a ConfigMap may hold" in p for p in object_problems(big))


def test_an_unknown_kind_is_named() -> None:
    (problem,) = object_problems({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert problem.startswith("apiVersion/kind v1/Secret has no schema here")
