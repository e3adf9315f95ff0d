"""Atomic writes, the JSON and YAML writers, and the overview's independence from particular modules."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashbuild import files
from dashbuild.discover import module_paths
from dashbuild.files import YAML_HEADER, PurePythonDumper, dump_json, dump_yaml, write_atomic, yaml_text
from tests.conftest import REPO


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "d" / "x.json"
    write_atomic(target, b"one\n")
    write_atomic(target, b"two\n")
    assert target.read_bytes() == b"two\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_failed_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.json"
    target.write_bytes(b"old\n")

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_json_is_sorted_indented_and_newline_terminated() -> None:
    assert dump_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == (
        '{\n  "a": [\n    1,\n    {\n      "c": "é",\n      "d": 2\n    }\n  ],\n  "b": 1\n}\n'.encode())


def test_overview_code_names_no_module() -> None:
    source = (REPO / "dashbuild" / "overview.py").read_text()
    for module in module_paths(REPO / "dashboards"):
        name = module.stem
        title_match = re.search(r'title="([^"]+)"', module.read_text())
        assert title_match is not None
        for word in (name, name.replace("_", "-"), title_match.group(1)):
            assert word not in source, f"overview.py names {word!r}"


# Strings a YAML writer can get wrong: YAML words and numbers, indicators, quotes, spaces at the ends, line
# breaks of every kind, control and non-BMP characters, a BOM, very long text.
ADVERSARIAL = [
    "", " ", "yes", "No", "on", "OFF", "y", "n", "null", "Null", "~", "true", "False", "1e3", "0x10", "0o17", "010",
    "1_000", "+1", "-1.5", ".inf", "-.Inf", ".nan", "12:30:00", "2024-01-01", "=", "<<", " lead", "trail ",
    "a: b", "a:b", ":", "#x", "a #b", "- x", "-", "? x", "?", "!tag", "&anchor", "*alias", "|", ">", "%", "@", "`",
    "{a}", "[a]", ",", "'single'", '"double"', "back\\slash", "line\nbreak", "trailing\n", "\n", "a\r\nb", "\r",
    "tab\there", "\t", "\x00\x01\x1b[31m\x7f", "\x0b\x0c", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffe",
    "\uffff", "\u00a0", "\u200b", "é", "naïve café", "\U0001F600 non-BMP", "\U0010FFFF", "x" * 1500,
    " ".join(["word"] * 400), "multi\n\nline\n  indented\n",
]
# Keys the two emitters lay out differently (`? key` against `key:`): dump_yaml sends these to one of them.
ODD_KEYS = ["", "\r", "a\rb", "a" * 123, "a" * 128, "a" * 129, "é" * 62, "é" * 65, "\U0001F600" * 31]
VALUES = {"strings": ADVERSARIAL, "as values": dict(enumerate(ADVERSARIAL)), "empties": [{}, [], [[]], {"a": {}}, None],
          "numbers": [0, -1, 2**70, 1.5, -0.0, 1e17, 5e-324, 1.7976931348623157e308], "flags": [True, False]}
GENERATED = sorted(path for pattern in ("prometheus/**/*.yml", "alertmanager/*.yml", "provisioning/**/*.yaml")
                   for path in REPO.glob(pattern))
Dumper = type[PurePythonDumper | files.LibyamlDumper]
DUMPERS: list[Dumper] = [PurePythonDumper, *([files.LibyamlDumper] if yaml.__with_libyaml__ else [])]
needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")

texts = st.one_of(st.text(max_size=40), st.sampled_from(ADVERSARIAL))
keys = st.one_of(st.text(max_size=12), st.sampled_from(ADVERSARIAL + ODD_KEYS),
                 st.text(alphabet="ab", min_size=118, max_size=132), st.text(alphabet="aé", min_size=58, max_size=70))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), texts)
documents = st.dictionaries(keys, st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)), max_leaves=20), max_size=5)


def dump_yaml_without_libyaml(data: dict[str, Any]) -> bytes:
    """Return dump_yaml(data) as on a machine whose PyYAML has no libyaml."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml, "__with_libyaml__", False)
        return dump_yaml(data)


def test_yaml_layout() -> None:
    data = {"b": [{"d": 1.5, "c": ["x", "yes", "5s"]}, []], "a": {"f": [], "e": {}, "g": None, "h": True, "i": "é"}}
    assert dump_yaml(data) == (YAML_HEADER + "a:\n  e: {}\n  f: []\n  g: null\n  h: true\n  i: \"\\xE9\"\n"
                               "b:\n- c:\n  - x\n  - 'yes'\n  - 5s\n  d: 1.5\n- []\n").encode()


def test_long_strings_stay_on_one_line() -> None:
    text = " ".join(["word"] * 2000)
    assert dump_yaml({"k": text}) == f"{YAML_HEADER}k: {text}\n".encode()


def test_shared_objects_are_written_in_full() -> None:
    shared = {"x": [1]}
    assert dump_yaml({"a": shared, "b": shared}).endswith(b"a:\n  x:\n  - 1\nb:\n  x:\n  - 1\n")


@pytest.mark.parametrize("dumper", DUMPERS)
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_both_dumpers_refuse_non_finite_numbers(dumper: Dumper, value: float) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        yaml_text({"a": [{"b": value}]}, dumper)


@pytest.mark.parametrize("dumper", DUMPERS)
@pytest.mark.parametrize("data", [{"k": "a\ud800"}, {"\udfff": 1}])
def test_both_dumpers_refuse_lone_surrogates(dumper: Dumper, data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="surrogates not allowed"):
        yaml_text(data, dumper)


@needs_libyaml
@pytest.mark.parametrize("data", [*(yaml.safe_load(path.read_text()) for path in GENERATED), VALUES],
                         ids=[*(str(path.relative_to(REPO)) for path in GENERATED), "adversarial values"])
def test_libyaml_and_pure_python_write_the_same_bytes(data: dict[str, Any]) -> None:
    assert yaml_text(data, files.LibyamlDumper) == yaml_text(data, PurePythonDumper)


@needs_libyaml
@settings(max_examples=300, deadline=None)
@given(documents)
@example({"": "x"}).via("an empty key")
@example({"a\rb": "x"}).via("a carriage return")
@example({"a" * 125: "x"}).via("long to PyYAML, short to libyaml")
@example({"é" * 65: "x"}).via("short to PyYAML, long to libyaml")
def test_dump_yaml_writes_the_same_bytes_without_libyaml(data: dict[str, Any]) -> None:
    assert dump_yaml(data) == dump_yaml_without_libyaml(data)


@pytest.mark.parametrize("dumper", DUMPERS)
@settings(max_examples=300, deadline=None)
@given(documents)
@example(VALUES).via("adversarial values")
@example({key: key for key in ODD_KEYS}).via("every odd key")
def test_yaml_round_trips_through_a_yaml_parser(dumper: Dumper, data: dict[str, Any]) -> None:
    assert yaml.safe_load(yaml_text(data, dumper)) == data
