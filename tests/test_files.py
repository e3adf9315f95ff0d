"""Atomic writes and the overview's independence from particular modules."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dashbuild.files import dump_json, write_atomic
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
    source = (REPO / "dashboards" / "overview.py").read_text()
    for module in sorted((REPO / "dashboards").glob("*.py")):
        if module.stem in {"__init__", "overview"}:
            continue
        name = module.stem
        title_match = re.search(r'title="([^"]+)"', module.read_text())
        assert title_match is not None
        for word in (name, name.replace("_", "-"), title_match.group(1)):
            assert word not in source, f"overview.py names {word!r}"
