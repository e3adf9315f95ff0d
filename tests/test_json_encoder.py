"""dump_json writes the standard library's bytes (orjson where it provably agrees) and raises what it raises."""

from __future__ import annotations

import enum
import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashbuild import json_out
from dashbuild.files import dump_json
from dashbuild.json_out import reference_json, writes_with_orjson
from dashbuild.outputs import dashboard_files
from dashbuild.pipeline import compile_checked
from dashbuild.scaffold import module_source
from tests.conftest import REPO


class Text(str):
    """A str subclass, as enum members and libraries' string types are."""


class Number(int):
    """An int subclass."""


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def outcome(write: Any, data: Any) -> tuple[str, Any]:
    """Return ("bytes", the bytes) or ("raises", exception type, message) of `write(data)`."""
    try:
        return "bytes", write(data)
    except (ValueError, TypeError, RecursionError) as error:
        return "raises", (type(error), str(error))


def assert_same_as_stdlib(data: Any) -> None:
    assert outcome(dump_json, data) == outcome(reference_json, data)


# Strings an encoder can escape differently: control characters, DEL, line and paragraph separators, slashes,
# quotes, backslashes, a BOM, non-characters, non-BMP characters, lone surrogates.
STRINGS = ["", "\x00", "\x01\x1f", "\x7f", "\x80\x9f", "\u2028", "\u2029", "/", "</script>", '"', "\\", "\b\f\n\r\t",
           "\ufeff", "\ufffe\uffff", "é", "\U0001F600", "\U0010FFFF", "a\ud800", "\udfff", "\ud83d\ude00"]
# Floats at and around where Python's repr and orjson start to print differently.
FLOATS = [0.0, -0.0, 1.0, 1.5, 0.1, 1e-4, math.nextafter(1e-4, 0), 9.999e-5, 1e-5, 1e-7, 5e-324,
          2.2250738585072014e-308, 1e15, 9999999999999998.0, 1e16, -1e16, 1e17, 1.7976931348623157e308,
          123456789.123456789, float("nan"), float("inf"), float("-inf")]
INTEGERS: list[float] = [0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30]
deep: list[Any] = []
for _ in range(300):
    deep = [deep]
cyclic: list[Any] = []
cyclic.append(cyclic)
SPECIAL: dict[str, Any] = {
    "empty containers": {"a": {}, "b": [], "c": [{}, [], {"d": {}}], "e": [[]]},
    "keys by code point": {"\ue000": 1, "\U00010000": 2, "a": 3, "B": 4, "é": 5, "": 6, "aa": 7, "a\x00": 8},
    "non-str keys": {1: "a", 2.5: "b", False: "c", None: "d"},
    "str subclass key": {Text("k"): 1},
    "str subclass value": [Text("x"), Colour.RED],
    "int subclass": [Number(5), Level.HIGH],
    "tuples": {"t": (1, (2, "x"), ())},
    "ordered dict": OrderedDict([("b", 1), ("a", 2)]),
    "nested 300 deep": deep,
    "cyclic": cyclic,
    "top-level scalar": "x",
    "bool and int": [True, 1, False, 0],
}


@pytest.mark.parametrize("value", STRINGS, ids=repr)
def test_strings(value: str) -> None:
    assert_same_as_stdlib({value: value, "list": [value]})


@pytest.mark.parametrize("value", FLOATS + INTEGERS, ids=repr)
def test_numbers(value: float) -> None:
    assert_same_as_stdlib({"v": value, "list": [value]})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
def test_non_finite_numbers_raise_value_error(value: float) -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        dump_json({"thresholds": [{"value": value}]})


@pytest.mark.parametrize("data", SPECIAL.values(), ids=SPECIAL.keys())
def test_special_documents(data: Any) -> None:
    assert_same_as_stdlib(data)


def test_unsupported_objects_raise_type_error_as_the_stdlib_does() -> None:
    for value in (object(), {1, 2}, b"bytes", enum.Enum("Plain", "A").A):  # type: ignore[attr-defined]
        assert outcome(dump_json, {"v": value})[0] == "raises"
        assert_same_as_stdlib({"v": value})


def test_orjson_writes_the_plain_domain() -> None:
    """The fast path is taken where it should be: the speed-up is not lost to a needless fallback."""
    data = {"b": [1, 2.5, None, True, "é"], "a": {"x": (1,), "y": {}}, "c": -0.0}
    assert writes_with_orjson(data)
    assert dump_json(data) == orjson.dumps(data, option=json_out._OPTIONS)
    for exponent in (1e-7, 1e16, -1e-300):
        assert writes_with_orjson({"v": [exponent]})
    for outside in (float("nan"), float("inf"), Text("x"), {1: 2}, {Text("k"): 1}, Number(1), deep):
        assert not writes_with_orjson({"v": [outside]})


def test_floats_printed_with_an_exponent_are_written_as_their_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"le": 1e-09, "big": [1e16, -2.5e-300], "plain": 0.5}
    monkeypatch.setattr(json_out, "reference_json", None)  # the fast path must not need the stdlib here
    assert dump_json(data) == b'{\n  "big": [\n    1e+16,\n    -2.5e-300\n  ],\n  "le": 1e-09,\n  "plain": 0.5\n}\n'


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
              st.floats(), st.floats(min_value=-1e20, max_value=1e20), st.floats(min_value=-1e-3, max_value=1e-3),
              st.sampled_from(FLOATS + INTEGERS), st.text(), st.sampled_from(STRINGS),
              st.text(alphabet=st.characters(codec=None, min_codepoint=0xD700, max_codepoint=0xE100)),
              st.text(max_size=3).map(Text), st.integers().map(Number)),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(STRINGS)), children, max_size=5),
        # Built from pairs: hypothesis' own key deduplication does not expect keys such as 1 and True.
        st.lists(st.tuples(st.one_of(st.integers(), st.booleans(), st.none(), st.text(max_size=2).map(Text)),
                           children), max_size=2).map(dict)),
    max_leaves=30)


@settings(max_examples=1500, deadline=None)
@given(json_values)
@example({"a": [1e-05, 1e16, {}]}).via("floats printed with an exponent")
@example({"x": 2**64}).via("an integer beyond 64 bits")
@example([1e16, float("inf")]).via("a float with an exponent, then a non-finite one")
def test_random_documents_are_written_as_the_stdlib_writes_them(data: Any) -> None:
    assert_same_as_stdlib(data)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children,
                                                                                max_size=4)), max_leaves=30)))
def test_random_plain_documents_take_the_orjson_path(data: dict[str, Any]) -> None:
    assert writes_with_orjson(data)
    assert dump_json(data) == reference_json(data)


GENERATED_JSON = sorted([REPO / "build-manifest.json", *REPO.glob("provisioning/**/*.json"),
                         *REPO.glob("deploy/**/*.json")])
CORPUS = sorted(REPO.glob("tests/corpus/dashboards/*.json"))


@pytest.mark.parametrize("path", GENERATED_JSON + CORPUS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_generated_file_and_the_import_corpus(path: Path) -> None:
    data = json.loads(path.read_bytes())
    assert dump_json(data) == reference_json(data)
    if path in GENERATED_JSON:
        assert dump_json(data) == path.read_bytes()
        assert writes_with_orjson(data), "a generated file left the fast path"


def test_a_synthetic_50_module_build(tmp_path: Path) -> None:
    dashboards = tmp_path / "dashboards"
    dashboards.mkdir()
    for name in ("__init__.py", "settings.py"):
        (dashboards / name).write_bytes((REPO / "dashboards" / name).read_bytes())
    for index in range(50):
        name = f"synthetic_m{index:03d}"
        (dashboards / f"{name}.py").write_text(module_source(name, 21000 + index, f"Synthetic M{index:03d}"))
    _modules, compiled = compile_checked(tmp_path)
    assert len(compiled) == 51
    written = dashboard_files(compiled)
    for dashboard in compiled:
        assert writes_with_orjson(dashboard.json)
        assert reference_json(dashboard.json) in written.values()
    assert sorted(written.values()) == sorted(reference_json(d.json) for d in compiled)
