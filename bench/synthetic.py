"""The benchmarks' inputs: generated repositories of the project's code, its three real module files and
scaffolded modules of several shapes; also scaffolded modules as loaded objects, for in-process uses."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import CodeType

from dashbuild.discover import ModuleFile
from dashbuild.scaffold import module_source

REPO = Path(__file__).resolve().parent.parent
# What `python build.py` needs besides module files; pyproject.toml is not read by the build.
CODE = ("build.py", "moddash-service", "panels", "rules", "dashbuild")
PROJECT_FILES = ("__init__.py", "settings.py")
REAL_MODULES = ("llm_provider", "prompt_manager", "prompt_security")
# What a build writes; removed for a cold build so that every file is written again.
OUTPUTS = ("provisioning", "prometheus", "alertmanager", "build-manifest.json")
CACHES = (".dashbuild-cache",)

_ROW = re.compile(r'        Row\("(?P<title>[^"]+)", \(\n.*?\n        \)\),\n', re.DOTALL)
_EXTRA_ROW = '''        Row("Errors and distribution", (
            h.rate_per_second(_errors, by=("error_type",), title="Errors/s by type"),
            h.count_over_range(_errors, title="Errors"),
            h.distribution(_ops, "operation", title="Operations by operation"),
            h.event_timeline(_errors, by=("error_type",), title="Error events"),
            h.heatmap(_duration, title="Operation duration (distribution)"),
        ), collapsed=True),
'''
# Scaffolded module shapes, cycled through by index: name -> panels besides the SLO row's six stats.
SHAPES = {"scaffold": 10, "summary": 4, "no-per-operation": 7, "wide": 15}
EDITED_TITLE = 'title="Operations/s")'


def module_name(index: int) -> str:
    """Return the name of synthetic module `index`."""
    return f"bench_m{index:04d}"


def module_title(index: int) -> str:
    """Return the title of synthetic module `index`."""
    return f"Bench M{index:04d}"


def shape_of(index: int) -> str:
    """Return the shape of scaffolded module `index` (a key of SHAPES)."""
    return list(SHAPES)[index % len(SHAPES)]


def _without_row(source: str, title: str) -> str:
    shorter = "".join(part for part in _split_rows(source) if f'Row("{title}", (' not in part)
    if shorter == source:
        raise AssertionError(f"the scaffold has no row {title!r}: bench/synthetic.py needs updating")
    return shorter


def _split_rows(source: str) -> Iterator[str]:
    position = 0
    for match in _ROW.finditer(source):
        yield source[position:match.start()]
        yield match.group(0)
        position = match.end()
    yield source[position:]


def _with_extra_row(source: str) -> str:
    rows = list(_ROW.finditer(source))
    if not rows:
        raise AssertionError("the scaffold has no rows: bench/synthetic.py needs updating")
    end = rows[-1].end()
    return source[:end] + _EXTRA_ROW + source[end:]


def shaped_source(index: int) -> str:
    """Return the module file of scaffolded module `index`: what `new-module` writes, with rows removed or added
    as its shape says."""
    source = module_source(module_name(index), 20000 + index, module_title(index))
    shape = shape_of(index)
    if shape == "summary":
        return _without_row(_without_row(source, "Per operation ($operation)"), "Tokens, cost and cache")
    if shape == "no-per-operation":
        return _without_row(source, "Per operation ($operation)")
    if shape == "wide":
        return _with_extra_row(source)
    return source


def sources(count: int) -> dict[str, str]:
    """Return `count` module files (name -> Python source), each exactly what `new-module` writes."""
    return {module_name(i): module_source(module_name(i), 20000 + i, module_title(i)) for i in range(count)}


def mixed_sources(count: int) -> dict[str, str]:
    """Return `count` module files (name -> Python source): the three real ones, then scaffolded ones of every
    shape in turn."""
    if count < len(REAL_MODULES):
        raise ValueError(f"a mixed repository has at least the {len(REAL_MODULES)} real modules")
    real = {name: (REPO / "dashboards" / f"{name}.py").read_text() for name in REAL_MODULES}
    return {**real, **{module_name(i): shaped_source(i) for i in range(count - len(REAL_MODULES))}}


def copy_code(root: Path) -> None:
    """Copy the project's code and its settings (no module file) into `root`, without bytecode caches."""
    root.mkdir(parents=True)
    for name in CODE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, root / name)
    (root / "dashboards").mkdir()
    for name in PROJECT_FILES:
        shutil.copy2(REPO / "dashboards" / name, root / "dashboards" / name)


def make_repo(root: Path, count: int, modules: dict[str, str] | None = None) -> Path:
    """Create a repository at `root` with the project's code and `count` modules (`mixed_sources`, or the given
    module files); return it."""
    copy_code(root)
    for name, text in (mixed_sources(count) if modules is None else modules).items():
        (root / "dashboards" / f"{name}.py").write_text(text)
    return root


def make_cold(root: Path, outputs: bool = True) -> None:
    """Remove what makes a build of `root` warm: its cache folder, every `__pycache__` and (with `outputs`) the
    files the last build wrote."""
    for name in (*CACHES, *(OUTPUTS if outputs else ())):
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    remove_bytecode(root)


def remove_bytecode(root: Path) -> None:
    """Remove every `__pycache__` folder under `root`."""
    for folder in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(folder)


def edit_title(root: Path, run: int) -> Path:
    """Change one panel title in one module file of `root` (a new title each run); return the file."""
    path = root / "dashboards" / f"{module_name(0)}.py"
    text = path.read_text()
    current = re.search(r'title="Operations/s(?: \(edit \d+\))?"\)', text)
    if current is None:
        raise AssertionError(f"{path}: no {EDITED_TITLE} to edit")
    path.write_text(text.replace(current.group(0), f'title="Operations/s (edit {run})")', 1))
    return path


def compiled_sources(count: int) -> list[tuple[str, CodeType]]:
    """Return `count` scaffolded module files compiled to code objects."""
    return [(name, compile(text, f"dashboards/{name}.py", "exec")) for name, text in sources(count).items()]


def load(code: list[tuple[str, CodeType]]) -> list[ModuleFile]:
    """Return the module files declared by running their code: contracts, helpers, specs."""
    loaded = []
    for name, module_code in code:
        namespace: dict[str, object] = {}
        exec(module_code, namespace)
        loaded.append(ModuleFile(f"dashboards/{name}.py", namespace["CONTRACT"], namespace["DASHBOARD"]))  # type: ignore[arg-type]
    return loaded
