"""Find and load module files: every `dashboards/*.py` but `__init__.py` and `overview.py`."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

import attrs

from contract import ModuleContract
from dashbuild.errors import BuildError
from panels.spec import ModuleDashboard

RESERVED = frozenset({"__init__", "overview"})


@attrs.frozen
class ModuleFile:
    """A loaded module file: where it is, its contract and its dashboard."""

    path: str
    contract: ModuleContract
    dashboard: ModuleDashboard


def module_paths(dashboards_dir: Path) -> list[Path]:
    """Return the module files in `dashboards_dir`, sorted by name (the registry order)."""
    return sorted(p for p in dashboards_dir.glob("*.py") if p.stem not in RESERVED and not p.stem.startswith("_"))


def _where_it_failed(error: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    if isinstance(error, SyntaxError) and error.lineno:
        return f" (line {error.lineno})"
    return f" (line {frames[-1].lineno})" if frames else ""


def _import(path: Path, display: str) -> ModuleType:
    name = f"dashboards.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BuildError(display, "cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # a module file may raise anything; report it as a build error
        sys.modules.pop(name, None)
        detail = error.msg if isinstance(error, SyntaxError) else str(error)
        raise BuildError(display, f"failed to load{_where_it_failed(error, path)}: "
                                  f"{type(error).__name__}: {detail}") from error
    return module


def load_module_file(path: Path, root: Path) -> ModuleFile:
    """Return the module file's CONTRACT and DASHBOARD; raise BuildError naming the file otherwise."""
    display = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    module = _import(path.resolve(), display)
    contract = getattr(module, "CONTRACT", None)
    dashboard = getattr(module, "DASHBOARD", None)
    if not isinstance(contract, ModuleContract):
        raise BuildError(display, "defines no CONTRACT = ModuleContract(...)")
    if not isinstance(dashboard, ModuleDashboard):
        raise BuildError(display, "defines no DASHBOARD = ModuleDashboard(...)")
    if contract.name != path.stem:
        raise BuildError(display, f"CONTRACT.name {contract.name!r} must equal the file name {path.stem!r}")
    return ModuleFile(display, contract, dashboard)


def discover(root: Path) -> list[ModuleFile]:
    """Return every module file under `root/dashboards`, loaded; raise BuildFailed listing each broken file."""
    from dashbuild.errors import BuildFailed

    loaded: list[ModuleFile] = []
    errors: list[BuildError] = []
    for path in module_paths(root / "dashboards"):
        try:
            loaded.append(load_module_file(path, root))
        except BuildError as error:
            errors.append(error)
    if errors:
        raise BuildFailed(errors)
    return loaded
