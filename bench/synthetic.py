"""Synthetic modules for the benchmarks: `new-module` scaffolds, as files or as loaded module objects."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import CodeType

from dashbuild.discover import ModuleFile
from dashbuild.scaffold import module_source

REPO = Path(__file__).resolve().parent.parent
CODE = ("build.py", "moddash-service", "panels", "rules", "dashbuild")


def module_name(index: int) -> str:
    """Return the name of synthetic module `index`."""
    return f"bench_m{index:03d}"


def module_title(index: int) -> str:
    """Return the title of synthetic module `index`."""
    return f"Bench M{index:03d}"


def sources(count: int) -> dict[str, str]:
    """Return `count` module files (name -> Python source), each what `new-module` writes."""
    return {module_name(i): module_source(module_name(i), 20000 + i, module_title(i)) for i in range(count)}


def make_repo(root: Path, count: int) -> Path:
    """Create a repository at `root` whose dashboards/ holds only `count` synthetic modules; return it."""
    root.mkdir(parents=True)
    for name in CODE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / "dashboards").mkdir()
    for name in ("__init__.py", "overview.py"):
        shutil.copy2(REPO / "dashboards" / name, root / "dashboards" / name)
    for name, text in sources(count).items():
        (root / "dashboards" / f"{name}.py").write_text(text)
    return root


def compiled_sources(count: int) -> list[tuple[str, CodeType]]:
    """Return the synthetic module files compiled to code objects (parsing is not what we measure)."""
    return [(name, compile(text, f"dashboards/{name}.py", "exec")) for name, text in sources(count).items()]


def load(code: list[tuple[str, CodeType]]) -> list[ModuleFile]:
    """Return the module files declared by running their code: contracts, helpers, specs."""
    loaded = []
    for name, module_code in code:
        namespace: dict[str, object] = {}
        exec(module_code, namespace)
        loaded.append(ModuleFile(f"dashboards/{name}.py", namespace["CONTRACT"], namespace["DASHBOARD"]))  # type: ignore[arg-type]
    return loaded
