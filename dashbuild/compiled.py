"""A compiled dashboard: its spec, its JSON, and which source file each panel comes from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from moddash.contract import ModuleContract
from panels.spec import DashboardSpec


@attrs.frozen
class CompiledDashboard:
    """A dashboard's JSON with provenance, so every finding can name a file and a panel."""

    spec: DashboardSpec
    json: dict[str, Any]
    source: str
    panel_sources: dict[str, str] = attrs.field(factory=dict)
    known_series: frozenset[str] = frozenset()
    # The module's contract for a module dashboard; None for the overview.
    contract: ModuleContract | None = None

    @property
    def filename(self) -> str:
        """Return the provisioning file name, `<uid>.json`."""
        return f"{self.spec.uid}.json"

    def source_of(self, panel_title: str | None) -> str:
        """Return the source file that declared `panel_title` (the dashboard's file by default)."""
        return self.panel_sources.get(panel_title or "", self.source)

    @property
    def silences(self) -> dict[str, dict[str, str]]:
        """Return, per panel title, the lint rules the module file silenced there and why."""
        return {p.title: dict(p.silenced) for row in self.spec.rows for p in row.panels if p.silenced}

    def panels(self) -> Iterator[dict[str, Any]]:
        """Yield every non-row panel, including those inside collapsed rows."""
        for panel in self.json.get("panels", []):
            if panel.get("type") == "row":
                yield from panel.get("panels", [])
            else:
                yield panel
