"""Build checks on hand-made compiled dashboards."""

from __future__ import annotations

from typing import Any

from dashbuild.checks import (
    check_identity,
    check_links,
    check_queries,
    referenced_variables,
    slugify,
    substitute_variables,
)
from dashbuild.compiled import CompiledDashboard
from panels.spec import DashboardSpec


def compiled(uid: str, title: str, *, links: list[dict[str, Any]] | None = None,
             exprs: tuple[str, ...] = (), series: frozenset[str] = frozenset()) -> CompiledDashboard:
    """Return a minimal compiled dashboard for check tests."""
    panel = {"type": "timeseries", "title": "P", "targets": [{"refId": "A", "expr": e} for e in exprs]}
    data = {"uid": uid, "title": title, "links": links or [], "panels": [panel], "templating": {"list": []}}
    spec = DashboardSpec(uid="x", title="x", description="", rows=())
    return CompiledDashboard(spec=spec, json=data, source=f"dashboards/{uid}.py", known_series=series)


def test_slugs_follow_grafana() -> None:
    assert slugify("Prompt Manager") == slugify("prompt-manager") == "prompt-manager"
    assert slugify("LLM  Provider!") == "llm-provider"


def test_identity_check_finds_slug_and_uid_clashes() -> None:
    errors = check_identity([compiled("a", "Same Title"), compiled("a", "same-title"), compiled("B_C", "Other")])
    messages = [str(e) for e in errors]
    assert any("uid 'a' is also used by dashboards/a.py" in m for m in messages)
    assert any("same slug 'same-title'" in m for m in messages)
    assert any("uid 'B_C' must match" in m for m in messages)


def test_link_check_requires_a_generated_target() -> None:
    good = compiled("a", "A", links=[{"title": "to b", "url": "/d/b"}])
    bad = compiled("b", "B", links=[{"title": "to nowhere", "url": "/d/missing"}])
    (error,) = check_links([good, bad])
    assert error.file == "dashboards/b.py" and "/d/missing" in str(error)


def test_variables_are_substituted_in_all_grafana_syntaxes() -> None:
    expr = 'rate(x{a=~"$a", b=~"${b}", c=~"[[c]]", d=~"${d:regex}"}[$__rate_interval])'
    assert referenced_variables(expr) == {"a", "b", "c", "d", "__rate_interval"}
    assert substitute_variables(expr, {"a": "1", "b": "2", "c": "3", "d": "4", "__rate_interval": "1m"}) == (
        'rate(x{a=~"1", b=~"2", c=~"3", d=~"4"}[1m])')


def test_query_check_reports_parse_errors_unknown_variables_and_metrics() -> None:
    dashboard = compiled("a", "A", series=frozenset({"known_total"}), exprs=(
        "sum(rate(known_total[$__rate_interval]))",
        "sum(rate(known_total[$__rate_interval])",
        'rate(known_total{x=~"$nope"}[5m])',
        "rate(unknown_total[5m])",
        'count({__name__=~"known.*"})',
    ))
    messages = [str(e) for e in check_queries([dashboard])]
    assert len(messages) == 4
    assert "does not parse" in messages[0]
    assert "$nope" in messages[1]
    assert "unknown_total" in messages[2]
    assert "no metric name" in messages[3] or "known.*" in messages[3]
