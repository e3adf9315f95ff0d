"""Stable panel keys: a panel's identity apart from its title and its place on the grid.

A panel's key is, in order of preference:
1. explicit: `panel.keyed("ops_rate")`;
2. derived from what the panel shows: the helper that made it and the metric it reads
   (`rate_per_second.prompt_manager_operations_total`), set by every helper in `panels.helpers`;
3. positional: the row's key and the panel's place in it (`summary.3`), for a hand-made `Panel(...)`; a
   headerless first row's key is `top` unless it has an explicit one (`top.1`, `top.2`, ...).

Derived and positional keys that repeat in one dashboard get `-2`, `-3`, ... in declaration order; explicit
keys must be unique. Retitling never changes a key, and moving changes only positional ones. The key
becomes the panel's `id` in the dashboard JSON (`panel_id`), so Grafana links (`viewPanel`) survive too.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence

from panels.spec import Panel, Row

_NOT_KEY = re.compile(r"[^a-z0-9_.-]+")
# Panel ids are positive and below 2**31, so every consumer (Grafana's frontend, int32 APIs) takes them.
_ID_SPACE = 2**31 - 1


def slug(text: str) -> str:
    """Return `text` as a key fragment: lowercase, runs of other characters as one `_`."""
    return _NOT_KEY.sub("_", text.lower()).strip("_.-") or "untitled"


TOP = "top"


def row_key(row: Row) -> str:
    """Return a row's key: explicit, else the slug of its title (`top` for a headerless row)."""
    return row.key or (TOP if row.headerless else slug(row.title))


def _dedupe(wanted: Sequence[tuple[str, bool]]) -> list[str]:
    """Return unique keys: explicit ones as given (must be unique), repeats of the others numbered."""
    explicit = [key for key, is_explicit in wanted if is_explicit]
    repeated = sorted({key for key in explicit if explicit.count(key) > 1})
    if repeated:
        raise ValueError(f"panel key {repeated[0]!r} is given to more than one panel; keys must be unique")
    taken = set(explicit)
    keys = []
    for key, is_explicit in wanted:
        if is_explicit:
            keys.append(key)
            continue
        candidate, number = key, 1
        while candidate in taken:
            number += 1
            candidate = f"{key}-{number}"
        taken.add(candidate)
        keys.append(candidate)
    return keys


def panel_keys(rows: Sequence[Row]) -> list[list[str]]:
    """Return the key of every panel, per row and in declaration order."""
    wanted: list[tuple[str, bool]] = []
    for row in rows:
        for index, panel in enumerate(row.panels, start=1):
            if panel.key:
                wanted.append((panel.key, True))
            else:
                wanted.append((panel.origin or f"{row_key(row)}.{index}", False))
    flat = iter(_dedupe(wanted))
    return [[next(flat) for _ in row.panels] for row in rows]


def row_keys(rows: Sequence[Row]) -> list[str | None]:
    """Return the key of every row header, unique in the dashboard (repeats numbered); None for a headerless
    row, which renders no row panel and so needs no id."""
    headed = iter(_dedupe([(f"row.{row_key(row)}", bool(row.key)) for row in rows if not row.headerless]))
    return [None if row.headerless else next(headed) for row in rows]


def keyed_panels(rows: Sequence[Row]) -> Iterable[tuple[Panel, str]]:
    """Yield every panel with its key, in declaration order."""
    for row, keys in zip(rows, panel_keys(rows), strict=True):
        yield from zip(row.panels, keys, strict=True)


def panel_ids(keys: Iterable[str]) -> dict[str, int]:
    """Return a distinct dashboard panel id for each key, derived from the key alone (hash, then probe)."""
    ids: dict[str, int] = {}
    used: set[int] = set()
    for key in sorted(set(keys)):
        candidate = zlib.crc32(key.encode()) % _ID_SPACE + 1
        while candidate in used:  # a crc32 collision: rare, resolved the same way on every machine
            candidate = candidate % _ID_SPACE + 1
        used.add(candidate)
        ids[key] = candidate
    return ids
