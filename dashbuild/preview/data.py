"""A dashboard's data for a preview: every panel's targets run as Grafana runs them on open (the same variable
substitution, intervals and steps as `verify`), against a Prometheus or the in-memory demo data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from dashbuild.preview.series import Series, answer_series
from dashbuild.verify_client import QueryClient, answer_error
from dashbuild.verify_plan import flat_panels, plan_panel, resolve_variables, run_query


@attrs.frozen
class PanelData:
    """One panel's series and its targets' errors (one line each)."""

    series: tuple[Series, ...] = ()
    errors: tuple[str, ...] = ()


def panel_key(panel: Mapping[str, Any], index: int) -> str:
    """Return how a preview tells panels apart: the panel id, else its position among the panels."""
    panel_id = panel.get("id")
    return str(panel_id) if isinstance(panel_id, int) else f"at-{index}"


def dashboard_data(client: QueryClient, dashboard: dict[str, Any], end: float, range_seconds: float
                   ) -> dict[str, PanelData]:
    """Return every panel's data (collapsed rows' panels included) by `panel_key`, over the range ending at `end`."""
    resolved, _ = resolve_variables(client, dashboard, end, range_seconds)
    found: dict[str, PanelData] = {}
    for index, panel in enumerate(flat_panels(dashboard)):
        targets = {str(t.get("refId")): t for t in panel.get("targets", []) if not t.get("hide")}
        series: list[Series] = []
        errors: list[str] = []
        for query in plan_panel(dashboard, panel, range_seconds, resolved=resolved):
            if query.ref_id not in targets:
                continue
            answer = run_query(client, query, end, range_seconds)
            if answer.get("status") == "error":
                errors.append(f"query {query.ref_id}: {answer_error(answer)}")
                continue
            series.extend(answer_series(answer, targets[query.ref_id]))
        found[panel_key(panel, index)] = PanelData(tuple(series), tuple(errors))
    return found
