"""Value mappings: the AngularJS value/range maps and the 7.x mapping list to today's mapping objects."""

from __future__ import annotations

from typing import Any

from dashbuild.importer.migrate_common import Json, arr, number, obj


def _color(text: Any, thresholds: Json | None) -> Any:
    # The color the thresholds give the mapped text when it is a number (Grafana's migrations do this).
    value = number(text)
    steps = arr(obj(thresholds).get("steps"))
    if value is None or not steps:
        return None
    active = steps[0]
    for step in steps[1:]:
        level = number(step.get("value"))
        if level is not None and value >= level:
            active = step
    return active.get("color")


def _result(text: Any, thresholds: Json | None, index: int) -> Json:
    result: Json = {"text": text, "index": index}
    color = _color(text, thresholds)
    if color is not None:
        result["color"] = color
    return result


class _Builder:
    """Collects mappings in order, every value-to-text pair in one `value` mapping at its first place."""

    def __init__(self, thresholds: Json | None) -> None:
        self.thresholds = thresholds
        self.mappings: list[Json] = []
        self.values: Json | None = None
        self.index = 0

    def value(self, value: Any, text: Any) -> None:
        if value is None:
            return
        result = _result(text, self.thresholds, self.index)
        self.index += 1
        if str(value) == "null":
            self.mappings.append({"type": "special", "options": {"match": "null", "result": result}})
            return
        if self.values is None:
            self.values = {"type": "value", "options": {}}
            self.mappings.append(self.values)
        self.values["options"][str(value)] = result

    def range(self, low: Any, high: Any, text: Any) -> None:
        result = _result(text, self.thresholds, self.index)
        self.index += 1
        if str(low) == "null" and str(high) == "null":
            self.mappings.append({"type": "special", "options": {"match": "null", "result": result}})
            return
        self.mappings.append({"type": "range", "options": {"from": number(low), "to": number(high), "result": result}})


def angular_mappings(source: Json, thresholds: Json | None) -> tuple[list[Json], Json]:
    """Return (mappings, inactive settings) from a singlestat's or table style's `valueMaps`/`rangeMaps`.

    As in the AngularJS panels, `mappingType` 1 uses the value maps and 2 the range maps (guessed from
    which list is filled when it is missing); the other list was not in use and is returned as inactive.
    """
    value_maps = [m for m in arr(source.get("valueMaps")) if isinstance(m, dict)]
    range_maps = [m for m in arr(source.get("rangeMaps")) if isinstance(m, dict)]
    kind = number(source.get("mappingType")) or (1 if value_maps else 2 if range_maps else None)
    builder = _Builder(thresholds)
    inactive: Json = {}
    if kind == 1:
        for entry in value_maps:
            builder.value(entry.get("value"), entry.get("text"))
        if range_maps:
            inactive["rangeMaps"] = range_maps
    elif kind == 2:
        for entry in range_maps:
            builder.range(entry.get("from"), entry.get("to"), entry.get("text"))
        if value_maps:
            inactive["valueMaps"] = value_maps
    return builder.mappings, inactive


def upgrade_mappings(old: Any, thresholds: Json | None) -> Any:
    """Return a 7.x field-config mapping list (`{id, type: 1|2, value, text}`) in today's form (schema 30).

    Mappings already in today's form are kept; value-to-text ones are merged into the first value mapping.
    """
    if not isinstance(old, list):
        return old
    builder = _Builder(thresholds)
    for entry in old:
        if not isinstance(entry, dict):
            continue
        if "options" in entry and isinstance(entry.get("type"), str):
            if entry["type"] == "value" and isinstance(entry["options"], dict):
                for value, result in entry["options"].items():
                    if builder.values is None:
                        builder.values = {"type": "value", "options": {}}
                        builder.mappings.append(builder.values)
                    builder.values["options"][value] = result
            else:
                builder.mappings.append(entry)
        elif number(entry.get("type")) == 1:
            builder.value(entry.get("value"), entry.get("text"))
        elif number(entry.get("type")) == 2:
            builder.range(entry.get("from"), entry.get("to"), entry.get("text"))
        else:
            builder.mappings.append(entry)
    return builder.mappings
