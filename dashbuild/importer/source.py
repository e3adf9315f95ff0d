"""Python source for value objects: what the importer writes into a module file.

`expression` prints a value (None, bools, numbers, strings, tuples, lists, dicts, `FrozenMap`, attrs value
objects, and `Code`, `Call` and `Commented`) as an expression that evaluates to an equal value, with the
imports it needs; `module_file` prints a whole module: docstring, imports sorted as ruff's isort sorts them,
then one `NAME = value` per assignment.

Layout is black's: a value is written on one line when it fits in the width, else its outermost brackets are
broken, one item per line, indented 4 more, with a trailing comma, and each item laid out the same way. A
string too long for its line becomes a parenthesised implicit concatenation, split after each newline, then
at spaces, then between identifiers and punctuation, then anywhere. Lines can still exceed the width only
for a token that cannot be split (a number, a dict key, a line of `Code`, a word longer than a comment's
line), and where the nesting is so deep that fewer than 20 columns are left, which still get a string piece
or comment text of 20.

Attrs instances are written `ClassName(field=value, ...)`: every argument by keyword, so a generated file
says what each value sets and still means the same if a class's fields are reordered. Fields equal to their
default (after the field's converter, `attrs.Factory` defaults included) and `init=False` fields are left out.
A class is imported from `panels` when that package exports it, else from `moddash.contract`, else from its
own module. A field whose converter accepts a plainer form (a dict for sorted pairs, a dict for a
`FrozenMap`) is written in that form when the converter gives the same value back; the choice is checked
against the converter at print time, so what is written always rebuilds the value.
"""

from __future__ import annotations

import importlib
import keyword
import math
import re
import sys
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from panels.fields import FrozenMap, thaw

# (module, name) of `from module import name`; name may be `name as alias`, e.g. ("panels", "helpers as h").
Import: TypeAlias = tuple[str, str]

# Where attrs classes are imported from, in order of preference, when the package exports the class.
PUBLIC_HOMES = ("panels", "moddash.contract")
# pyproject.toml [tool.ruff.lint.isort] known-first-party: these sort after third-party imports.
FIRST_PARTY = frozenset({"moddash", "dashbuild", "panels", "rules", "dashboards", "tests", "bench"})
INDENT = 4
# A line never gets less room than this for a string piece or comment text, however deep it is nested.
_MIN_ROOM = 20
# The class of `attrs.Factory(...)` defaults (attrs' stubs declare `Factory` a function).
_FACTORY: type[Any] = type(attrs.Factory(list))
_DOTTED_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _imports(items: Iterable[Import]) -> tuple[Import, ...]:
    return tuple(_checked_import(item) for item in items)


def _objects(items: Iterable[object]) -> tuple[object, ...]:
    return tuple(items)


def _keywords(items: Mapping[str, object] | Iterable[tuple[str, object]]) -> tuple[tuple[str, object], ...]:
    return tuple(items.items() if isinstance(items, Mapping) else items)


@attrs.frozen
class Code:
    """Python source for an expression written as is (e.g. `CONTRACT.metric("x")`), with the imports it needs.

    A multi-line text's later lines get the indentation of the line it starts on added in front.
    """

    text: str = attrs.field(validator=attrs.validators.min_len(1))
    imports: tuple[Import, ...] = attrs.field(default=(), converter=_imports)


@attrs.frozen
class Call:
    """A call `function(*args, **kwargs)` laid out like a constructor, e.g. `h.rate_per_second(_m, by=("a",))`.

    With a `receiver` it is a method call on that value: `receiver.function(...)`, e.g. `.in_overview()`.
    `function` is a dotted name; `imports` are those the name needs (the arguments bring their own).
    """

    function: str = attrs.field(validator=attrs.validators.matches_re(_DOTTED_NAME_RE))
    args: tuple[object, ...] = attrs.field(default=(), converter=_objects)
    kwargs: tuple[tuple[str, object], ...] = attrs.field(default=(), converter=_keywords)
    imports: tuple[Import, ...] = attrs.field(default=(), converter=_imports)
    receiver: object = None

    @kwargs.validator
    def _check_kwargs(self, _: attrs.Attribute[tuple[tuple[str, object], ...]],
                      value: tuple[tuple[str, object], ...]) -> None:
        names = [name for name, _value in value]
        for name in names:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"call of {self.function}: {name!r} is not a keyword argument name")
        if len(set(names)) != len(names):
            raise ValueError(f"call of {self.function}: a keyword argument is given twice in {names}")


@attrs.frozen
class Commented:
    """A value written with a comment on the line(s) before it (e.g. a guess about an inferred metric).

    The comment is wrapped at the line width, each line prefixed `# `; its own newlines start new lines.
    """

    value: object
    comment: str


# -- the layout tree ----------------------------------------------------------------------------------
# Each value becomes a node that knows its one-line form (`flat`, None when it cannot be on one line: it holds a
# comment or multi-line code); `_layout` then chooses, node by node, between that form and a broken one.


@attrs.frozen
class _Atom:
    text: str
    flat: str | None


@attrs.frozen
class _Str:
    value: str
    flat: str


@attrs.frozen
class _Item:
    prefix: str  # `name=`, `"key": ` or nothing
    node: _Node


@attrs.frozen
class _Bracket:
    open: str  # `(`, `[`, `{`, `Panel(`, `.in_overview(`
    items: tuple[_Item, ...]
    close: str
    flat: str | None


@attrs.frozen
class _Chain:
    receiver: _Node
    call: _Bracket
    flat: str | None


@attrs.frozen
class _Note:
    comment: str
    node: _Node
    flat: None = None


_Node: TypeAlias = "_Atom | _Str | _Bracket | _Chain | _Note"


def _bracket(open_: str, items: Sequence[_Item], close: str, one_tuple: bool = False) -> _Bracket:
    flats = [item.node.flat for item in items]
    flat = None
    if all(f is not None for f in flats):
        body = ", ".join(item.prefix + str(f) for item, f in zip(items, flats, strict=True))
        flat = open_ + body + ("," if one_tuple else "") + close
    return _Bracket(open_, tuple(items), close, flat)


def _chain(receiver: _Node, call: _Bracket) -> _Chain:
    flat = None if receiver.flat is None or call.flat is None else receiver.flat + call.flat
    return _Chain(receiver, call, flat)


class _Builder:
    """Turns values into layout nodes and collects the imports they need."""

    def __init__(self) -> None:
        self.imports: set[Import] = set()

    def node(self, value: object, frozen_as_dict: bool = True) -> _Node:
        if value is None or isinstance(value, bool):
            return _atom(repr(value))
        if isinstance(value, int):
            return _atom(repr(int(value)))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value} cannot be written: only finite numbers round-trip through source")
            return _atom(repr(float(value)))
        if isinstance(value, str):
            return _Str(value, _quote(value))
        if isinstance(value, Code):
            self.imports.update(value.imports)
            return _Atom(value.text, None if "\n" in value.text else value.text)
        if isinstance(value, Commented):
            return _Note(value.comment, self.node(value.value, frozen_as_dict))
        if isinstance(value, Call):
            return self._call(value)
        if isinstance(value, FrozenMap) and frozen_as_dict:
            return self.node(thaw(value))
        if attrs.has(type(value)):
            return self._instance(value)
        if isinstance(value, tuple):
            items = [_Item("", self.node(v, frozen_as_dict)) for v in value]
            return _bracket("(", items, ")", one_tuple=len(items) == 1)
        if isinstance(value, list):
            return _bracket("[", [_Item("", self.node(v, frozen_as_dict)) for v in value], "]")
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"dict keys must be strings to be written, got {key!r}")
                items.append(_Item(_quote(key) + ": ", self.node(item, frozen_as_dict)))
            return _bracket("{", items, "}")
        raise TypeError(f"cannot write a {type(value).__name__} as source: {value!r:.80}")

    def _call(self, call: Call) -> _Node:
        self.imports.update(call.imports)
        items = [_Item("", self.node(arg)) for arg in call.args]
        items += [_Item(f"{name}=", self.node(arg)) for name, arg in call.kwargs]
        if call.receiver is None:
            return _bracket(f"{call.function}(", items, ")")
        return _chain(self.node(call.receiver), _bracket(f".{call.function}(", items, ")"))

    def _instance(self, value: object) -> _Node:
        cls: type[Any] = type(value)
        home = public_home(cls)
        self.imports.add((home, cls.__name__))
        items = []
        for field in attrs.fields(cls):
            if not field.init:
                continue
            current = getattr(value, field.name)
            if _is_default(value, field, current):
                continue
            items.append(_Item(f"{field.alias or field.name}=", self._field(cls, field, current)))
        return _bracket(f"{cls.__name__}(", items, ")")

    def _field(self, cls: type, field: attrs.Attribute[Any], value: object) -> _Node:
        """Return the node of a field's value in the plainest form its converter turns back into the value: sorted
        pairs as a dict, a FrozenMap as a dict, and in a field holding JSON objects, arrays as lists."""
        written = _as_written(value)
        converter = _plain_converter(field)
        if converter is None:
            # Without a converter a FrozenMap stays one, written with its own constructor.
            return self.node(value, frozen_as_dict=written == value)
        holds_json = written != value
        candidates = [pairs for thawed in (True, False) if thawed <= holds_json
                      if (pairs := _pairs_as_dict(value, thawed)) is not None]
        for candidate in [*candidates, written, value]:
            if _converts_to(converter, candidate, value):
                return self.node(candidate, frozen_as_dict=candidate is not value)
        raise ValueError(f"{cls.__name__}.{field.name}: no written form of {value!r:.80} gives the value back "
                         "through the field's converter")


def _atom(text: str) -> _Atom:
    return _Atom(text, text)


def _checked_import(item: Import) -> Import:
    module, name = item
    member, _, alias = name.partition(" as ")
    if not _DOTTED_NAME_RE.fullmatch(module) or not member.isidentifier() or (alias and not alias.isidentifier()):
        raise ValueError(f"import {item!r} is not (module, name) or (module, 'name as alias')")
    return item


def public_home(cls: type[Any]) -> str:
    """Return the module a module file imports `cls` from: `panels`, `moddash.contract`, or its own module."""
    if cls not in _HOMES:
        _HOMES[cls] = _find_home(cls)
    return _HOMES[cls]


_HOMES: dict[type[Any], str] = {}


def _find_home(cls: type[Any]) -> str:
    name: str = cls.__name__
    if cls.__qualname__ != name or getattr(importlib.import_module(cls.__module__), name, None) is not cls:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} cannot be imported by name, so it cannot be written")
    for home in PUBLIC_HOMES:
        if getattr(importlib.import_module(home), name, None) is cls:
            return home
    module: str = cls.__module__
    return module


def _is_default(instance: object, field: attrs.Attribute[Any], value: object) -> bool:
    default = field.default
    if default is attrs.NOTHING:
        return False
    try:
        if isinstance(default, _FACTORY):
            factory: Callable[..., object] = default.factory
            default = factory(instance) if default.takes_self else factory()
        converter = _plain_converter(field)
        if converter is not None:
            default = converter(default)
    except Exception:  # a default that cannot be computed is written out
        return False
    return type(default) is type(value) and bool(default == value)


def _plain_converter(field: attrs.Attribute[Any]) -> Callable[[object], object] | None:
    converter = field.converter
    if converter is None or isinstance(converter, attrs.Converter) or not callable(converter):
        return None
    return converter


def _converts_to(converter: Callable[[object], object], candidate: object, value: object) -> bool:
    try:
        return bool(converter(candidate) == value)
    except Exception:  # a form the converter refuses is not one to write
        return False


def _as_written(value: object) -> object:
    """Return what writing `value` evaluates to: FrozenMaps become dicts (as `thaw` gives), all else stays."""
    if isinstance(value, FrozenMap):
        return thaw(value)
    if isinstance(value, tuple) and not attrs.has(type(value)):
        items = tuple(_as_written(v) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    return value


def _pairs_as_dict(value: object, thawed: bool) -> dict[str, object] | None:
    """Return sorted (name, value) pairs as a dict, which the converters of such fields accept; else None.

    `thawed` writes the values as JSON (`thaw`: tuples as lists), else as they are (tuples stay tuples).
    """
    if not isinstance(value, tuple) or not value:
        return None
    if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in value):
        return None
    result = {p[0]: thaw(p[1]) if thawed else _as_written(p[1]) for p in value}
    return result if len(result) == len(value) else None


# -- strings ------------------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str, quote: str) -> str:
    """Return `text` as the inside of a string literal delimited by `quote`."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char == quote:
            out.append("\\" + char)
        elif not char.isprintable():
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def _quote_char(text: str) -> str:
    """Return the quote to write `text` with: double, unless only single quotes would avoid escapes (as black)."""
    return "'" if '"' in text and "'" not in text else '"'


def _quote(text: str, quote: str | None = None) -> str:
    q = quote or _quote_char(text)
    return q + _escape(text, q) + q


def _width(text: str) -> int:
    """Return the columns `text` takes, as ruff measures line length (wide East Asian characters count 2)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# Where a string too long for its line is split, coarsest first: after newlines, at spaces (a piece keeps its
# trailing space), between identifiers and punctuation (a PromQL selector), anywhere.
_BREAKS = (r"[^\n]*\n|[^\n]+", r"\s*\S+\s*|\s+", r"\w+|\W", r".")


def _tokens(text: str, fits: Callable[[str], bool], level: int = 0) -> list[str]:
    """Return `text` cut at the coarsest breaks that make each part fit (a single character always counts)."""
    if level == len(_BREAKS) or (level > 0 and fits(text)):
        return [text]
    return [token for part in re.findall(_BREAKS[level], text, re.DOTALL) for token in _tokens(part, fits, level + 1)]


def _string_pieces(text: str, room: int) -> list[str]:
    """Return the literals, each at most `room` wide, whose implicit concatenation is `text`: one piece per line
    (a Markdown text then reads line by line), long lines packed from the parts `_tokens` cuts."""
    quote = _quote_char(text)

    def fits(part: str) -> bool:
        return _width(_quote(part, quote)) <= room

    pieces: list[str] = []
    current = ""
    for token in _tokens(text, fits):
        if current and (current.endswith("\n") or not fits(current + token)):
            pieces.append(current)
            current = ""
        current += token
    if current:
        pieces.append(current)
    return [_quote(piece, quote) for piece in pieces]


# -- layout -------------------------------------------------------------------------------------------

def _comment_lines(comment: str, column: int, width: int) -> list[str]:
    """Return `comment` as `# ` lines starting at `column`, wrapped at `width`; control characters escaped."""
    room = max(width - column - 2, _MIN_ROOM)
    lines = []
    for paragraph in comment.replace("\r\n", "\n").split("\n"):
        safe = "".join(" " if c == "\t" else c if c.isprintable() else _escape(c, '"') for c in paragraph)
        wrapped = textwrap.wrap(safe, room, break_long_words=False, break_on_hyphens=False) or [""]
        lines += [(" " * column + "# " + line).rstrip() for line in wrapped]
    return lines


def _hoist(node: _Node) -> tuple[list[str], _Node]:
    """Return the comments at the start of `node` and the node without them: they go before its line."""
    if isinstance(node, _Note):
        comments, inner = _hoist(node.node)
        return [node.comment, *comments], inner
    if isinstance(node, _Chain):
        comments, receiver = _hoist(node.receiver)
        if comments:
            return comments, _chain(receiver, node.call)
    return [], node


def _last_column(text: str, indent: int, used: int) -> int:
    """Return the column after `text`, written from column `used` with later lines carrying their indent."""
    if "\n" in text:
        return _width(text.rpartition("\n")[2])
    return used + _width(text)


def _layout(node: _Node, indent: int, used: int, tail: int, width: int) -> str:
    """Return `node` written from column `used` on a line indented `indent`, followed by `tail` columns.

    Later lines carry their own indentation.
    """
    if node.flat is not None and used + _width(node.flat) + tail <= width:
        return node.flat
    inner = " " * (indent + INDENT)
    if isinstance(node, _Atom):
        first, *rest = node.text.split("\n")
        return "\n".join([first, *(" " * indent + line if line else "" for line in rest)])
    if isinstance(node, _Str):
        pieces = _string_pieces(node.value, max(width - indent - INDENT, _MIN_ROOM))
        if not pieces:
            return node.flat
        return "(\n" + "".join(inner + piece + "\n" for piece in pieces) + " " * indent + ")"
    if isinstance(node, _Note):
        comments, bare = _hoist(node)
        lines = [line for c in comments for line in _comment_lines(c, indent, width)]
        return "\n".join(lines)[indent:] + "\n" + " " * indent + _layout(bare, indent, indent, tail, width)
    if isinstance(node, _Chain):
        receiver = _layout(node.receiver, indent, used, len(node.call.open), width)
        column = _last_column(receiver, indent, used)
        return receiver + _layout(node.call, indent, column, tail, width)
    lines = [node.open]
    for item in node.items:
        comments, bare = _hoist(item.node)
        lines += [line for c in comments for line in _comment_lines(c, indent + INDENT, width)]
        start = indent + INDENT + _width(item.prefix)
        lines.append(inner + item.prefix + _layout(bare, indent + INDENT, start, 1, width) + ",")
    lines.append(" " * indent + node.close)
    return "\n".join(lines)


def expression(value: object, indent: int = 0, width: int = 120) -> tuple[str, set[Import]]:
    """Return Python source for `value` and the imports it needs.

    The source starts at column `indent` of its first line (the caller writes what precedes it); later lines
    carry their own indentation. Refuses (ValueError) non-finite floats, and (TypeError) other types than
    those the module's docstring lists. A `FrozenMap` outside an attrs field is written as a dict.
    """
    builder = _Builder()
    node = builder.node(value)
    comments, bare = _hoist(node)
    lines = [line for c in comments for line in _comment_lines(c, indent, width)]
    text = _layout(bare, indent, indent, 0, width)
    if lines:
        text = "\n".join(lines)[indent:] + "\n" + " " * indent + text
    return text, builder.imports


# -- module files -------------------------------------------------------------------------------------

def _natural(text: str) -> tuple[tuple[int, ...], ...]:
    """Return a key comparing as ruff's natural order: runs of digits by their number, other characters by code."""
    return tuple((ord(part[0]), 0) if not part.isdigit() else (ord("0"), 1, int(part))
                 for part in re.findall(r"\d+|\D", text))


def _bound_name(name: str) -> str:
    member, _, alias = name.partition(" as ")
    return alias or member


def _member_key(name: str) -> tuple[object, ...]:
    """Return ruff's isort key of an imported name: constants, then classes, then the rest (order-by-type)."""
    member, _, alias = name.partition(" as ")
    if len(member) > 1 and member.upper() == member and member.lower() != member:
        kind = 0
    elif member[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, _natural(member.lower()), _natural(member), (1, _natural(alias)) if alias else (0,)


def _section(module: str) -> int:
    top = module.split(".")[0]
    if top == "__future__":
        return 0
    if top in FIRST_PARTY:
        return 3
    return 1 if top in sys.stdlib_module_names else 2


def _import_lines(imports: set[Import], width: int) -> list[str]:
    """Return the `from ... import ...` lines, as ruff's isort writes them, sections separated by a blank line."""
    statements: dict[tuple[str, str], list[str]] = {}
    for module, name in sorted(imports):
        # An aliased name is a statement of its own (isort's combine-as-imports is off).
        group = name if " as " in name else ""
        statements.setdefault((module, group), []).append(name)
    keyed = []
    for (module, _group), names in statements.items():
        names.sort(key=_member_key)
        key = (_section(module), _natural(module.lower()), _natural(module), _member_key(names[0]))
        keyed.append((key, module, names))
    keyed.sort(key=lambda entry: entry[0])
    lines: list[str] = []
    section = None
    for key, module, names in keyed:
        if section is not None and key[0] != section:
            lines.append("")
        section = key[0]
        line = f"from {module} import {', '.join(names)}"
        if _width(line) > width:
            line = f"from {module} import (\n" + "".join(f"{' ' * INDENT}{n},\n" for n in names) + ")"
        lines.append(line)
    return lines


def _docstring(text: str, width: int) -> str:
    """Return `text` as a module docstring, long lines wrapped, written so that the literal stays one string."""
    safe = "".join(c if c == "\n" or (c.isprintable() and c != "\\") else _escape(c, '"')
                   for c in text.replace("\t", " "))
    if '"""' in safe or safe.endswith('"'):
        safe = safe.replace('"', '\\"')
    lines = []
    for line in safe.split("\n"):
        lines += textwrap.wrap(line, width - 3, break_long_words=False, break_on_hyphens=False) or [""]
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    return '"""' + "\n".join(line.rstrip() for line in lines) + '\n"""'


def module_file(docstring: str, assignments: Sequence[tuple[str, object]], width: int = 120) -> str:
    """Return a whole module file: docstring, imports grouped and sorted as ruff's isort sorts them (stdlib,
    third-party, first-party), then `NAME = <expression>` for each assignment, separated by blank lines.

    Raises ValueError for a name that is not an identifier, is assigned twice or is also imported, for two
    imports binding one name, and for a result that does not compile (a `Code` whose text is not Python).
    """
    imports: set[Import] = set()
    blocks = []
    names = [name for name, _value in assignments]
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{name!r} is not a name to assign")
    if len(set(names)) != len(names):
        raise ValueError(f"a name is assigned twice in {names}")
    for name, value in assignments:
        builder = _Builder()
        comments, node = _hoist(builder.node(value))
        lines = [line for c in comments for line in _comment_lines(c, 0, width)]
        lines.append(f"{name} = " + _layout(node, 0, len(name) + 3, 0, width))
        blocks.append("\n".join(lines))
        imports |= builder.imports
    bound: dict[str, Import] = {}
    for item in sorted(imports):
        other = bound.setdefault(_bound_name(item[1]), item)
        if other != item:
            raise ValueError(f"imports {other} and {item} bind the same name")
    clash = sorted(set(bound) & set(names))
    if clash:
        raise ValueError(f"{clash[0]!r} is both assigned and imported")
    head = [_docstring(docstring, width)]
    if imports:
        head.append("\n".join(_import_lines(imports, width)))
    text = "\n\n".join([*head, *blocks]) + "\n"
    try:
        compile(text, "<module file>", "exec")
    except SyntaxError as error:
        raise ValueError(f"the module file does not compile ({error.msg}, line {error.lineno}): "
                         f"{(error.text or '').strip()!r:.120}") from None
    return text
