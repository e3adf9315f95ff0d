"""`compare`: do two dashboards show the same thing? The round-trip proof of an import.

Both dashboards go through `migrate` first, so a legacy original and its modern rebuild are compared in
one model. Panels are matched by title within their row (then by title anywhere, a panel that changed
rows; then by place, a retitled panel); rows and variables by name. Values Grafana treats as equal
compare equal: unset and empty, schema defaults and their absence, data source spellings, refIds, key
order, and PromQL spelling (queries are compared parsed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from dashbuild.importer.compare_panels import panel_view
from dashbuild.importer.compare_queries import normalize_expr
from dashbuild.importer.compare_values import (
    ABSENT,
    clean,
    datasource_uid,
    leaf_differences,
    mapping,
    schema_of,
    with_defaults,
)
from dashbuild.importer.migrate import migrate
from dashbuild.importer.migrate_common import arr, obj, short

__all__ = ["Difference", "Layout", "compare"]

Layout = Literal["exact", "order"]


@attrs.frozen
class Difference:
    """One way the rebuilt dashboard differs from the original: where, what, before and after."""

    where: str  # "dashboard", "panel 'CPU' in row 'Headlines'", "variable 'cluster'", "row 'CPU'", ...
    path: str  # the setting ("queries[0].expr", "unit", "layout"); "" when the whole item is missing or added
    before: Any  # ABSENT when the original does not have it
    after: Any  # ABSENT when the rebuilt dashboard does not have it

    def __str__(self) -> str:
        what = f"{self.path}: " if self.path else ""
        return f"{self.where}: {what}{_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    return "(absent)" if value is ABSENT else value if isinstance(value, str) and value.startswith("(") \
        else short(value, 100)


@attrs.frozen
class _Placed:
    """A panel with its row (title and occurrence) and its place in that row."""

    row: tuple[str, int] | None
    index: int
    panel: Mapping[str, Any]

    @property
    def title(self) -> str:
        return str(self.panel.get("title") or "")

    @property
    def label(self) -> str:
        name = f"panel {self.title!r}" if self.title else f"untitled {self.panel.get('type')} panel #{self.index + 1}"
        return f"{name} in row {self.row[0]!r}" if self.row else name


def _rows_and_panels(dashboard: Mapping[str, Any]) -> tuple[list[tuple[tuple[str, int], Mapping[str, Any]]],
                                                             list[_Placed]]:
    rows: list[tuple[tuple[str, int], Mapping[str, Any]]] = []
    placed: list[_Placed] = []
    seen: dict[str, int] = {}
    row: tuple[str, int] | None = None
    counts: dict[Any, int] = {}

    def add(panel: Mapping[str, Any]) -> None:
        placed.append(_Placed(row, counts.get(row, 0), panel))
        counts[row] = counts.get(row, 0) + 1

    for panel in arr(dashboard.get("panels")):
        if not isinstance(panel, Mapping):
            continue
        if panel.get("type") == "row":
            title = str(panel.get("title") or "")
            seen[title] = seen.get(title, 0) + 1
            row = (title, seen[title])
            rows.append((row, panel))
            for child in arr(panel.get("panels")):
                if isinstance(child, Mapping):
                    add(child)
        else:
            add(panel)
    return rows, placed


def _match(before: list[_Placed], after: list[_Placed]) -> tuple[list[tuple[_Placed, _Placed]], list[_Placed],
                                                                 list[_Placed]]:
    """Pair panels: by (row, title, n-th of that title in the row), then by title anywhere, then by place."""
    def keyed(items: list[_Placed]) -> dict[tuple[Any, str, int], _Placed]:
        counts: dict[tuple[Any, str], int] = {}
        found = {}
        for item in items:
            counts[(item.row, item.title)] = counts.get((item.row, item.title), 0) + 1
            found[(item.row, item.title, counts[(item.row, item.title)])] = item
        return found

    pairs: list[tuple[_Placed, _Placed]] = []
    left, right = keyed(before), keyed(after)
    for key, item in left.items():
        if key in right:
            pairs.append((item, right.pop(key)))
    unmatched = [item for item in before if all(item is not a for a, _ in pairs)]
    rest = [item for item in after if item in right.values()]
    def same_title(a: _Placed, b: _Placed) -> bool:
        return bool(a.title) and a.title == b.title

    def same_place(a: _Placed, b: _Placed) -> bool:
        return a.row == b.row and a.index == b.index

    for rule in (same_title, same_place):
        still = []
        for item in unmatched:
            partner = next((other for other in rest if rule(item, other)), None)
            if partner is None:
                still.append(item)
            else:
                rest.remove(partner)
                pairs.append((item, partner))
        unmatched = still
    return pairs, unmatched, rest


def _lcs_keep(sequence: list[int]) -> set[int]:
    """Return the positions of `sequence` in its longest increasing subsequence (the panels that kept order)."""
    best: list[list[int]] = []  # best[i]: the longest chain ending at position i
    for position, value in enumerate(sequence):
        longest: list[int] = []
        for chain in best:
            if sequence[chain[-1]] < value and len(chain) > len(longest):
                longest = chain
        best.append([*longest, position])
    overall: list[int] = []
    for chain in best:
        if len(chain) > len(overall):
            overall = chain
    return set(overall)


def _layout(pairs: list[tuple[_Placed, _Placed]], layout: Layout) -> Iterator[Difference]:
    def where(item: _Placed) -> str:
        return f"row {item.row[0]!r}" if item.row else "top"

    def grid(item: _Placed) -> str:
        pos = mapping(item.panel.get("gridPos"))
        return f"{where(item)} at x={pos.get('x')} y={pos.get('y')} w={pos.get('w')} h={pos.get('h')}"

    def size(item: _Placed) -> str:
        pos = mapping(item.panel.get("gridPos"))
        return f"w={pos.get('w')} h={pos.get('h')}"

    moved: set[int] = set()
    by_row: dict[Any, list[int]] = {}
    for number, (a, b) in enumerate(pairs):
        if a.row != b.row:
            moved.add(number)
        else:
            by_row.setdefault(a.row, []).append(number)
    for numbers in by_row.values():
        numbers.sort(key=lambda n: pairs[n][0].index)
        kept = _lcs_keep([pairs[n][1].index for n in numbers])
        moved |= {n for position, n in enumerate(numbers) if position not in kept}
    for number, (a, b) in enumerate(pairs):
        if layout == "exact":
            if grid(a) != grid(b):
                yield Difference(a.label, "layout", f"({grid(a)})", f"({grid(b)})")
        elif number in moved:
            yield Difference(a.label, "layout", f"({where(a)}, place {a.index + 1})",
                             f"({where(b)}, place {b.index + 1})")
        elif size(a) != size(b):
            yield Difference(a.label, "size", f"({size(a)})", f"({size(b)})")


def _written(panel: Mapping[str, Any], index: int) -> str:
    targets = [t for t in arr(panel.get("targets")) if isinstance(t, Mapping)]
    return " ".join(str(targets[index].get("expr") or "").split())


def _rows(rows_a: list[tuple[tuple[str, int], Mapping[str, Any]]],
          rows_b: list[tuple[tuple[str, int], Mapping[str, Any]]]) -> Iterator[Difference]:
    right = dict(rows_b)
    for key, row in rows_a:
        label = f"row {key[0]!r}" + (f" (#{key[1]})" if key[1] > 1 else "")
        other = right.pop(key, None)
        if other is None:
            yield Difference(label, "", "(present)", ABSENT)
            continue
        if bool(row.get("collapsed")) != bool(other.get("collapsed")):
            yield Difference(label, "collapsed", bool(row.get("collapsed")), bool(other.get("collapsed")))
        if (row.get("repeat") or "") != (other.get("repeat") or ""):
            yield Difference(label, "repeat", row.get("repeat", ABSENT), other.get("repeat", ABSENT))
    for key in right:
        yield Difference(f"row {key[0]!r}", "", ABSENT, "(present)")
    order_a = [key for key, _ in rows_a if key in dict(rows_b)]
    order_b = [key for key, _ in rows_b if key in dict(rows_a)]
    kept = _lcs_keep([order_b.index(key) for key in order_a])
    for position, key in enumerate(order_a):
        if position not in kept:
            yield Difference(f"row {key[0]!r}", "layout", f"(row {position + 1})", f"(row {order_b.index(key) + 1})")


def _panel(a: _Placed, b: _Placed) -> Iterator[Difference]:
    view_a, view_b = panel_view(a.panel), panel_view(b.panel)
    queries_a, queries_b = view_a.pop("queries"), view_b.pop("queries")
    for index in range(max(len(queries_a), len(queries_b))):
        if index >= len(queries_a) or index >= len(queries_b):
            there = {"expr": _written(a.panel if index < len(queries_a) else b.panel, index)}
            yield Difference(a.label, f"queries[{index}]", there if index < len(queries_a) else ABSENT,
                             there if index < len(queries_b) else ABSENT)
            continue
        for path, old, new in leaf_differences(queries_a[index], queries_b[index], f"queries[{index}]"):
            if path.endswith(".expr"):  # compared parsed, shown as written
                old, new = _written(a.panel, index), _written(b.panel, index)
            yield Difference(a.label, path, old, new)
    overrides_a, overrides_b = view_a.pop("overrides"), view_b.pop("overrides")
    for matcher in [*overrides_a, *(m for m in overrides_b if m not in overrides_a)]:
        if matcher not in overrides_b or matcher not in overrides_a:
            yield Difference(a.label, f"overrides[{matcher}]", overrides_a.get(matcher, ABSENT),
                             overrides_b.get(matcher, ABSENT))
            continue
        for prop in sorted(set(overrides_a[matcher]) | set(overrides_b[matcher])):
            old, new = overrides_a[matcher].get(prop, ABSENT), overrides_b[matcher].get(prop, ABSENT)
            if any(True for _ in leaf_differences(old, new)):
                yield Difference(a.label, f"overrides[{matcher}].{prop}", old, new)
    for path, old, new in leaf_differences(view_a, view_b):
        yield Difference(a.label, path, old, new)


def _panels(before: Mapping[str, Any], after: Mapping[str, Any], layout: Layout) -> Iterator[Difference]:
    rows_a, placed_a = _rows_and_panels(before)
    rows_b, placed_b = _rows_and_panels(after)
    yield from _rows(rows_a, rows_b)
    pairs, missing, added = _match(placed_a, placed_b)
    for item in missing:
        yield Difference(item.label, "", f"({item.panel.get('type')} panel)", ABSENT)
    for item in added:
        yield Difference(item.label, "", ABSENT, f"({item.panel.get('type')} panel)")
    for a, b in pairs:
        yield from _panel(a, b)
    yield from _layout(pairs, layout)


def _variable_view(variable: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(with_defaults(variable, schema_of("dashboard", "VariableModel")))
    query = view.get("query")
    if isinstance(query, Mapping):
        query = query.get("query", json.dumps(query, sort_keys=True))
    view["query"] = normalize_expr(query) if query else ""
    view["datasource"] = datasource_uid(view.get("datasource"))
    current = mapping(view.get("current"))
    value = current.get("value")
    if isinstance(value, list):
        value = str(value[0]) if len(value) == 1 else sorted(map(str, value))
    if value in (None, "", []) and view.get("includeAll") and view.get("type") in ("query", "custom"):
        value = "$__all"  # with nothing selected, Grafana selects the first option: All
    view["current"] = value
    if view.get("type") == "query":
        view["sort"] = view.get("sort") or 0
    for key in ("options", "definition", "queryValue", "id", "rootStateKey", "global", "index", "state", "error"):
        view.pop(key, None)  # the editor's and the runtime's: options are refreshed from the query
    if view.get("type") != "query":
        view.pop("refresh", None)
    view["hide"] = view.get("hide") or 0  # shown, Grafana's default
    cleaned: dict[str, Any] = clean(view)
    return cleaned


def _annotation_view(annotation: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(with_defaults(annotation, schema_of("dashboard", "AnnotationQuery")))
    view["datasource"] = datasource_uid(view.get("datasource"))
    if "expr" in view:
        view["expr"] = normalize_expr(view["expr"])
    view["enable"] = view.get("enable", True) is not False
    view["hide"] = bool(view.get("hide"))
    if view.get("datasource") is not None and "expr" in view:  # the Prometheus data source's defaults
        view["step"] = view.get("step") or "60s"
        view["useValueForTime"] = bool(view.get("useValueForTime"))
    cleaned: dict[str, Any] = clean(view)
    return cleaned


def _named(items: Any, key: str = "name") -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            name = str(item.get(key) or "")
            while name in found:
                name += "'"
            found[name] = item
    return found


def _listed(before: Any, after: Any, kind: str, view: Any, skip: Any = None, key: str = "name"
            ) -> Iterator[Difference]:
    items_a, items_b = _named(before, key), _named(after, key)
    for name in [*items_a, *(n for n in items_b if n not in items_a)]:
        a, b = items_a.get(name), items_b.get(name)
        if skip is not None and skip(a) and skip(b):
            continue
        if a is None or b is None:
            yield Difference(f"{kind} {name!r}", "", "(present)" if a is not None else ABSENT,
                             "(present)" if b is not None else ABSENT)
            continue
        for path, old, new in leaf_differences(view(a), view(b)):
            yield Difference(f"{kind} {name!r}", path, old, new)


def _builtin_default(annotation: Mapping[str, Any] | None) -> bool:
    # Grafana adds "Annotations & Alerts" to every dashboard; unchanged, it is the same as its absence.
    return annotation is None or (bool(annotation.get("builtIn")) and annotation.get("enable", True) is not False
                                  and annotation.get("hide", True) is not False)


def _link_view(link: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = clean(with_defaults(link, schema_of("dashboard", "DashboardLink")))
    return view


def _dashboard(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterator[Difference]:
    def view(dashboard: Mapping[str, Any]) -> dict[str, Any]:
        time = mapping(dashboard.get("time"))
        return {"title": dashboard.get("title") or "", "uid": dashboard.get("uid") or "",
                "description": dashboard.get("description") or "",
                "tags": sorted(map(str, arr(dashboard.get("tags")))), "refresh": dashboard.get("refresh") or "",
                "time": {"from": time.get("from") or "now-6h", "to": time.get("to") or "now"},
                "timezone": dashboard.get("timezone") or "browser", "graphTooltip": dashboard.get("graphTooltip") or 0}

    for path, old, new in leaf_differences(view(before), view(after)):
        yield Difference("dashboard", path, old, new)
    yield from _listed(obj(before.get("templating")).get("list"), obj(after.get("templating")).get("list"),
                       "variable", _variable_view)
    yield from _listed(obj(before.get("annotations")).get("list"), obj(after.get("annotations")).get("list"),
                       "annotation", _annotation_view, _builtin_default)
    yield from _listed(before.get("links"), after.get("links"), "link", _link_view, key="title")


def compare(original: Mapping[str, Any], rebuilt: Mapping[str, Any], layout: Layout = "exact") -> list[Difference]:
    """Return every difference between what two dashboards show (both are migrated first).

    `layout="exact"` compares each panel's row and gridPos; `layout="order"` its row, its order among the
    panels that kept their order there (a longest common subsequence, so inserting a panel moves nothing
    else) and its size, not where the grid's flow puts it.
    """
    before, after = migrate(original), migrate(rebuilt)
    return [*_dashboard(before, after), *_panels(before, after, layout)]
