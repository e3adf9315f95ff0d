"""Write dashboards as plain grafana-foundation-sdk programs: the builder calls our renderer makes for each,
recorded and written out as Python source that imports nothing of this project.

This is the bare-SDK baseline's module files: what a user without this project would write to get the very same
JSON (the benchmark asserts the bytes are equal). The calls are recorded by putting stand-ins for the SDK's
modules into `dashbuild.render` and `dashbuild.render_panels` while a dashboard renders: each call is made on
the real SDK object and written down with its arguments. A builder chain or model that occurs more than once
across the dashboards is written once, as a function of a shared module, as a person writes helpers; the
files stay small, so the baseline does not pay for compiling repeated text.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import attrs
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as dashboard_models

from dashbuild import render, render_panels
from panels.spec import DashboardSpec

SDK = "grafana_foundation_sdk"
SHARED = "sdk_shared"
# Shorter repeated calls stay inline: a function call would be no shorter to read.
HOISTED_MIN_CHARS = 40
# How the programs write JSON: as dashbuild.files.dump_json does, from the SDK model.
ENCODE = '''def encode(model):
    """Return the dashboard model as JSON text: sorted keys, 2-space indent, a final newline."""
    return (json.dumps(model, cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\\n").encode()
'''


class Node:
    """Source text: literal pieces and the nodes it contains, with a digest of its text; `shareable` for a call
    (it makes a new object each time, so it may become a shared function)."""

    __slots__ = ("children", "key", "pieces", "shareable", "size")

    def __init__(self, pieces: Sequence[str | Node], shareable: bool = False) -> None:
        self.pieces, self.shareable = tuple(pieces), shareable
        self.children = tuple(piece for piece in self.pieces if isinstance(piece, Node))
        digest = hashlib.blake2b(digest_size=16)
        for piece in self.pieces:
            digest.update(b"\0" + (piece.encode() if isinstance(piece, str) else piece.key))
        self.key: bytes = digest.digest()
        self.size: int = sum(len(p) if isinstance(p, str) else p.size for p in self.pieces)

    def text(self, write: Callable[[Node], str] | None = None) -> str:
        """Return the source, each contained call written by `write` (default: in full)."""
        return "".join(p if isinstance(p, str) else (write(p) if write else p.text()) for p in self.pieces)


Source = str | Node


def _joined(items: Sequence[Source], separator: str = ", ") -> list[Source]:
    pieces: list[Source] = []
    for index, item in enumerate(items):
        pieces += [separator, item] if index else [item]
    return pieces


class _Recorder:
    """The source of every SDK object made while recording, by object identity."""

    def __init__(self) -> None:
        self.sources: dict[int, Node] = {}
        self.kept: list[object] = []  # alive until the recording ends, so that no id is reused
        self.modules: set[str] = set()
        self.last_built: object = None

    def alias(self, module: str) -> str:
        """Return the name a generated file imports SDK module `module` as (`builders_timeseries`)."""
        if not module.startswith(f"{SDK}."):
            raise TypeError(f"{module} is not part of the SDK")
        self.modules.add(module)
        return module.removeprefix(f"{SDK}.").replace(".", "_")

    def remember(self, value: object, source: Node) -> None:
        """Record that `value` is made by `source`."""
        self.sources[id(value)] = source
        self.kept.append(value)

    def source(self, value: object) -> Source:
        """Return the source making `value`: recorded, an enum member or a literal."""
        if isinstance(value, _BuilderStandIn):
            return value.source
        if id(value) in self.sources:
            return self.sources[id(value)]
        if isinstance(value, enum.Enum):
            kind = type(value)
            return f"{self.alias(kind.__module__)}.{kind.__qualname__}.{value.name}"
        if value is None or isinstance(value, bool | int | str):
            return repr(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} has no literal")
            return repr(value)
        if isinstance(value, list | tuple):
            items = [self.source(item) for item in value]
            if isinstance(value, tuple):
                return Node(["(", *_joined(items), ",)" if len(items) == 1 else ")"])
            return Node(["[", *_joined(items), "]"])
        if isinstance(value, dict):
            return Node(["{", *_joined([Node([self.source(k), ": ", self.source(v)]) for k, v in value.items()]),
                         "}"])
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as source")

    def call(self, callee: Source, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """Return the source of calling `callee` with these arguments."""
        arguments = [*(self.source(a) for a in args), *(Node([f"{k}=", self.source(v)]) for k, v in kwargs.items())]
        return Node([callee, "(", *_joined(arguments), ")"], shareable=True)


def _real(value: Any) -> Any:
    """Return `value` with every stand-in replaced by the SDK builder it stands for."""
    if isinstance(value, _BuilderStandIn):
        return value.real
    if isinstance(value, list):
        return [_real(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_real(item) for item in value)
    if isinstance(value, dict):
        return {key: _real(item) for key, item in value.items()}
    return value


class _BuilderStandIn:
    """An SDK builder whose method calls are made on the real builder and added to its source."""

    def __init__(self, recorder: _Recorder, real: Builder[Any], source: Node) -> None:
        self.recorder, self.real, self.source = recorder, real, source

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.real, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*_real(args), **_real(kwargs))
            source = self.recorder.call(Node([self.source, f".{name}"]), args, kwargs)
            if result is self.real:
                self.source = source
                return self
            if name == "build":
                self.recorder.remember(result, source)
                self.recorder.last_built = result
                return result
            raise TypeError(f"{type(self.real).__name__}.{name} returned neither the builder nor a model")

        return call


class _ClassStandIn:
    """An SDK class: what it makes is recorded (a builder as a stand-in, a model by identity)."""

    def __init__(self, recorder: _Recorder, real: type) -> None:
        self.recorder, self.real = recorder, real

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        made = self.real(*_real(args), **_real(kwargs))
        source = self.recorder.call(f"{self.recorder.alias(self.real.__module__)}.{self.real.__name__}", args, kwargs)
        if isinstance(made, Builder):
            return _BuilderStandIn(self.recorder, made, source)
        self.recorder.remember(made, source)
        return made


class _ModuleStandIn:
    """An SDK module whose classes are recorded; enums and everything else are the real ones."""

    def __init__(self, recorder: _Recorder, real: ModuleType) -> None:
        self.recorder, self.real = recorder, real

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)
        if isinstance(value, type) and not issubclass(value, enum.Enum):
            return _ClassStandIn(self.recorder, value)
        return value


@attrs.frozen
class _Sources:
    """The source of each rendered panel and row header, by the id of the JSON the renderer made of it."""

    panels: dict[int, Node] = attrs.field(factory=dict)
    rows: dict[int, Node] = attrs.field(factory=dict)


@contextmanager
def _recording(recorder: _Recorder) -> Iterator[_Sources]:
    """Put stand-ins for the SDK modules into the renderer; yield the source of each rendered panel and row, by
    the id of the JSON `render_panel` returned or the row header was converted to."""
    sources = _Sources()
    namespace = vars(render)  # render_panel and sdk_json as dashbuild.render calls them
    original_render_panel, original_sdk_json = namespace["render_panel"], namespace["sdk_json"]

    def recorded_render_panel(*args: Any, **kwargs: Any) -> dict[str, Any]:
        recorder.last_built = None
        rendered = original_render_panel(*args, **kwargs)
        if recorder.last_built is None:
            raise TypeError("render_panel built no SDK panel")
        sources.panels[id(rendered)] = recorder.sources[id(recorder.last_built)]
        recorder.kept.append(rendered)
        return rendered

    def recorded_sdk_json(model: Any) -> Any:
        converted = original_sdk_json(model)
        if isinstance(model, dashboard_models.RowPanel):
            sources.rows[id(converted)] = recorder.sources[id(model)]
            recorder.kept.append(converted)
        return converted

    sdk_modules = [(module, name, value) for module in (render, render_panels)
                   for name, value in vars(module).items()
                   if isinstance(value, ModuleType) and value.__name__.startswith(f"{SDK}.")]
    try:
        for module, name, value in sdk_modules:
            setattr(module, name, _ModuleStandIn(recorder, value))
        namespace["render_panel"], namespace["sdk_json"] = recorded_render_panel, recorded_sdk_json
        yield sources
    finally:
        for module, name, value in sdk_modules:
            setattr(module, name, value)
        namespace["render_panel"], namespace["sdk_json"] = original_render_panel, original_sdk_json


@attrs.frozen
class Recorded:
    """One dashboard's recorded calls: the model, each row's statement, the panel list, the SDK modules used."""

    uid: str
    title: str
    model: Node
    rows: tuple[tuple[Node, tuple[Node, ...]], ...]  # (row, its children when collapsed)
    panels: tuple[Node | int, ...]  # a panel's source, or the index of a row in `rows`
    modules: frozenset[str]


def record(spec: DashboardSpec) -> Recorded:
    """Return the SDK calls `render_dashboard` makes for `spec`."""
    recorder = _Recorder()
    with _recording(recorder) as sources:
        rendered = render.render_dashboard(spec)
    (model,) = [value for value in recorder.kept if isinstance(value, dashboard_models.Dashboard)]
    rows: list[tuple[Node, tuple[Node, ...]]] = []
    panels: list[Node | int] = []
    for panel in rendered["panels"]:
        if id(panel) in sources.panels:
            panels.append(sources.panels[id(panel)])
        elif id(panel) in sources.rows:
            children = tuple(sources.panels[id(child)] for child in panel.get("panels", []))
            panels.append(len(rows))
            rows.append((sources.rows[id(panel)], children))
        else:
            raise TypeError(f"unexpected panel {panel.get('type')!r}")
    return Recorded(spec.uid, spec.title, recorder.sources[id(model)], tuple(rows), tuple(panels),
                    frozenset(recorder.modules))


def _roots(recorded: Recorded) -> Iterator[Node]:
    yield recorded.model
    for row, children in recorded.rows:
        yield row
        yield from children
    yield from (panel for panel in recorded.panels if isinstance(panel, Node))


def _calls(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _imports(modules: frozenset[str]) -> list[str]:
    return [f"from {module.rpartition('.')[0]} import {module.rpartition('.')[2]} as "
            f"{module.removeprefix(f'{SDK}.').replace('.', '_')}" for module in sorted(modules)]


def programs(recorded: Sequence[Recorded]) -> tuple[str, dict[str, str]]:
    """Return the shared module (`sdk_shared.py`) and one program per dashboard (uid -> source); each program's
    `dashboard()` returns the dashboard's uid and JSON."""
    counts = Counter(call.key for item in recorded for root in _roots(item) for call in _calls(root)
                     if call.shareable)
    names: dict[bytes, str] = {}
    bodies: list[str] = []

    def write(node: Node) -> str:
        if counts[node.key] < 2 or node.size < HOISTED_MIN_CHARS:
            return node.text(write)
        if node.key not in names:
            names[node.key] = f"f{len(names) + 1}"
            bodies.append(f"def {names[node.key]}():\n    return {node.text(write)}\n")
        return f"{SHARED}.{names[node.key]}()"

    def top(node: Node) -> str:  # a dashboard's own statements are written out, their parts shared
        return node.text(write)

    files = {}
    modules: set[str] = set()
    for item in recorded:
        modules |= item.modules
        lines = [f"    model = {top(item.model)}"]
        for index, (row, children) in enumerate(item.rows):
            lines.append(f"    row_{index} = {top(row)}")
            if children:
                lines.append(f"    row_{index}.panels = [\n" + "".join(f"        {top(c)},\n" for c in children)
                             + "    ]")
        panels = "".join(f"        {f'row_{p}' if isinstance(p, int) else top(p)},\n" for p in item.panels)
        lines.append(f"    model.panels = [\n{panels}    ]")
        files[item.uid] = "\n".join([
            f'"""{item.title}: grafana-foundation-sdk builder calls (written by bench/sdk_source.py)."""', "",
            f"import {SHARED}", *_imports(item.modules), "", "",
            "def dashboard():", '    """Return the uid and the JSON of the dashboard."""', *lines,
            f"    return model.uid, {SHARED}.encode(model)", ""])
    shared = "\n".join(['"""Builder calls the dashboards share (written by bench/sdk_source.py)."""', "",
                        "import json", "", f"import {SHARED}",
                        "from grafana_foundation_sdk.cog.encoder import JSONEncoder", *_imports(frozenset(modules)),
                        "", "", ENCODE, "", "\n\n".join(bodies)])
    return shared, files
