"""The baselines `python build.py` is compared with, each a folder run as its own process.

A baseline folder holds one module file per dashboard in `modules/` and the script `build_baseline.py`, which
does what the build does for dashboards and no more: import every module file, build its dashboard with the
library's calls, serialise it and write `out/<uid>.json`. The folders import nothing of this project.

- bare SDK, recorded: each module file is the grafana-foundation-sdk builder calls our renderer makes for that
  dashboard (bench/sdk_source.py), the overview included, so the JSON is ours byte for byte (checked).
- bare SDK, hand-written: the scaffolded module's dashboard as a person writes it with the SDK
  (bench/bare_sdk.py), one call per module file; byte for byte ours, for the `new-module` shape only.
- grafanalib: the same dashboard in grafanalib's model (bench/with_grafanalib.py): the same panels, queries,
  units, thresholds and positions in grafanalib's JSON, for the `new-module` shape only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import sdk_source, synthetic
from dashbuild.discover import discover
from dashbuild.overview import build_overview
from dashbuild.pipeline import module_spec
from dashbuild.settings import load_settings
from panels.spec import DashboardSpec

SCRIPT = "build_baseline.py"
OUT = "out"
BASELINE_SCRIPT = '''"""A baseline of bench/: import each file of modules/, build its dashboard, write out/UID.json."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent
out = ROOT / "out"
out.mkdir(exist_ok=True)
for path in sorted((ROOT / "modules").glob("*.py")):
    spec = importlib.util.spec_from_file_location(f"modules.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    uid, data = module.dashboard()
    (out / f"{uid}.json").write_bytes(data)
'''
KIT_FILES = ("__init__.py", "scaffold_text.py", "bare_sdk.py", "with_grafanalib.py")
KITS = {"bare-sdk-kit": "bench.bare_sdk", "grafanalib": "bench.with_grafanalib"}


def project_specs(root: Path) -> list[DashboardSpec]:
    """Return the specs of every dashboard the build of `root` writes: each module's, then the overview."""
    settings = load_settings(root)
    modules = discover(root)
    return [*(module_spec(m, settings) for m in modules),
            build_overview([(m.contract, m.dashboard) for m in modules], settings)]


def _start(folder: Path) -> Path:
    (folder / "modules").mkdir(parents=True)
    (folder / SCRIPT).write_text(BASELINE_SCRIPT)
    return folder


def write_recorded(folder: Path, specs: Sequence[DashboardSpec]) -> Path:
    """Write the recorded bare-SDK baseline of these dashboards into `folder`; return it."""
    _start(folder)
    shared, files = sdk_source.programs([sdk_source.record(spec) for spec in specs])
    (folder / f"{sdk_source.SHARED}.py").write_text(shared)
    for uid, source in files.items():
        (folder / "modules" / f"{uid.replace('-', '_')}.py").write_text(source)
    return folder


def write_kit(folder: Path, kit: str, names: Sequence[str]) -> Path:
    """Write a hand-written baseline (`kit`, a key of KITS) of the scaffolded modules `names` into `folder`."""
    _start(folder)
    (folder / "bench").mkdir()
    for name in KIT_FILES:
        shutil.copy2(synthetic.REPO / "bench" / name, folder / "bench" / name)
    for name in names:
        index = int(name.removeprefix("bench_m"))
        (folder / "modules" / f"{name}.py").write_text(
            f'"""{synthetic.module_title(index)}: a module dashboard with {kit}."""\n\n'
            f"from {KITS[kit]} import module_dashboard\n\n\n"
            f"def dashboard():\n"
            f'    """Return the uid and the JSON of the dashboard."""\n'
            f"    return {name.replace('_', '-')!r}, module_dashboard({name!r}, {synthetic.module_title(index)!r})\n")
    return folder


def outputs(folder: Path) -> dict[str, bytes]:
    """Return what a baseline wrote: uid -> JSON bytes."""
    return {path.stem: path.read_bytes() for path in sorted((folder / OUT).glob("*.json"))}


def ours(root: Path) -> dict[str, bytes]:
    """Return the dashboards the build of `root` wrote: uid -> JSON bytes."""
    return {path.stem: path.read_bytes() for path in sorted((root / "provisioning" / "dashboards").glob("*.json"))}


def assert_identical(baseline: dict[str, bytes], built: dict[str, bytes], what: str) -> None:
    """Raise AssertionError unless every dashboard of the baseline is byte for byte the build's."""
    differing = sorted(uid for uid, data in baseline.items() if built.get(uid) != data)
    if not baseline or differing:
        raise AssertionError(f"{what}: {len(differing)} of {len(baseline)} dashboards differ from the build's, "
                             f"e.g. {differing[:3]}")


def panel_contents(dashboard: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Return each panel's (title, position, queries), rows' children included, sorted: what two libraries' JSON
    of the same dashboard share."""
    panels = []
    for panel in dashboard.get("panels", []):
        for each in (panel, *panel.get("panels", [])):
            grid = each.get("gridPos", {})
            where = f"{grid.get('x')},{grid.get('y')},{grid.get('w')},{grid.get('h')}"
            panels.append((str(each.get("title")), where, tuple(str(t.get("expr")) for t in each.get("targets", []))))
    return sorted(panels)


def assert_equivalent(baseline: dict[str, bytes], built: dict[str, bytes], what: str) -> None:
    """Raise AssertionError unless every baseline dashboard has the build's panel titles, positions and queries."""
    differing = sorted(uid for uid, data in baseline.items() if uid not in built
                       or panel_contents(json.loads(data)) != panel_contents(json.loads(built[uid])))
    if not baseline or differing:
        raise AssertionError(f"{what}: {len(differing)} of {len(baseline)} dashboards are not equivalent to the "
                             f"build's, e.g. {differing[:3]}")
