"""Identity checks (uids, title slugs) on hand-made compiled dashboards."""

from __future__ import annotations

from typing import Any

from dashbuild.checks import check_identity, slugify
from dashbuild.compiled import CompiledDashboard
from dashbuild.queries import referenced_variables, substitute_variables
from panels.spec import DashboardSpec


def compiled(uid: str, title: str) -> CompiledDashboard:
    """Return a minimal compiled dashboard."""
    data: dict[str, Any] = {"uid": uid, "title": title, "panels": [], "templating": {"list": []}}
    spec = DashboardSpec(uid="x", title="x", description="", rows=())
    return CompiledDashboard(spec=spec, json=data, source=f"dashboards/{uid}.py")


def test_slugs_follow_grafana() -> None:
    assert slugify("Prompt Manager") == slugify("prompt-manager") == "prompt-manager"
    assert slugify("LLM  Provider!") == "llm-provider"


def test_identity_check_finds_slug_and_uid_clashes() -> None:
    errors = check_identity([compiled("a", "Same Title"), compiled("a", "same-title"), compiled("B.C", "Other"),
                             compiled("Mixed_Case-1", "Mixed"), compiled("mixed_case-1", "Lower")])
    messages = [str(e) for e in errors]
    assert any("uid 'a' is also used by dashboards/a.py" in m for m in messages)
    assert any("same slug 'same-title'" in m for m in messages)
    assert any("uid 'B.C' must be 1 to 40 letters, digits, '-' or '_'" in m for m in messages)
    # Grafana's uids are case-sensitive, but they name the provisioning files, which must not collide.
    assert any("uid 'mixed_case-1' is also used by dashboards/Mixed_Case-1.py" in m for m in messages)
    assert len(errors) == 4


def test_variables_are_substituted_in_all_grafana_syntaxes() -> None:
    expr = 'rate(x{a=~"$a", b=~"${b}", c=~"[[c]]", d=~"${d:regex}"}[$__rate_interval])'
    assert referenced_variables(expr) == {"a", "b", "c", "d", "__rate_interval"}
    assert substitute_variables(expr, {"a": "1", "b": "2", "c": "3", "d": "4", "__rate_interval": "1m"}) == (
        'rate(x{a=~"1", b=~"2", c=~"3", d=~"4"}[1m])')
