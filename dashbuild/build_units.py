"""Per-module reuse (issue 16): a build after an edit compiles only the module files whose inputs changed.

After each successful build, `.dashbuild-cache/units.json` (JSON, never code) remembers per module file:
- its **key** (dashbuild/input_snapshot.py: the global key of everything but module files, the file's bytes and
  those of the module files it imports);
- its **cross digest**: the canonical hash (dashbuild/canonical.py) of what the module gives the stages that read
  every module: its contract, its dashboard's uid and external metrics, and its dashboard's uid, title and file.
  The overview table, prometheus.yml, the recording and monitoring rules, the registry's and the identity checks
  and the lint context are functions of these and of the global inputs; and the digest of its **overview
  section**, which the overview reads while it shows sections;
- the hashes of the files it generates (its dashboard, alert and SLO rules), its summary row and its warnings;
and, for the build as a whole, the files no module owns, the overview's summary row and warnings.

The next build (`UnitCache.build`) reuses this when the global key is the one remembered, the set of module files
is the same, and every generated file is on disk with its remembered hash. It loads and compiles only the module
files whose key changed, checks and lints their dashboards, and requires their cross digests (and sections, while
shown) to be unchanged: their alert and SLO rules (functions of the contract and the settings) and every
cross-module file are then exactly what is on disk. promtool and amtool check the Prometheus tree and the
Alertmanager config as always (a pass on the same bytes is remembered). Anything else, a changed contract or
shown section, a module added or removed, an edited settings or helper file, a file not as remembered, builds
everything: a reused result is never different from a clean build's (tests/test_build_units.py edits at random
and compares).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dashbuild.cache_dir import CACHE_DIR, write_cached
from dashbuild.canonical import Uncanonical, digest
from dashbuild.checks import run_checks
from dashbuild.compiled import CompiledDashboard, DashboardIdentity
from dashbuild.consumer_checks import check_consumer_files, raise_on_errors
from dashbuild.discover import ModuleFile, load_each, load_module_file
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.input_snapshot import InputSnapshot
from dashbuild.lint import Finding, LintContext, lint_dashboard
from dashbuild.manifest import is_safe_path, sha256
from dashbuild.outputs import dashboard_files, dashboard_path
from dashbuild.overview import module_section
from dashbuild.pipeline import BuildResult, SummaryRow, as_error, build, compile_module, undeclared_summary
from dashbuild.provisioning import DASHBOARDS_DIR
from dashbuild.settings import load_settings
from dashbuild.stat_hashes import read_file
from dashbuild.tool_passes import ToolPasses
from panels.settings import Alerting

UNITS_NAME = "units.json"
UNITS = f"{CACHE_DIR}/{UNITS_NAME}"
UNITS_VERSION = 1


def cross_digest(module: ModuleFile, compiled: CompiledDashboard) -> str | None:
    """Return the digest of what `module` gives the build's cross-module stages but its overview section; None when
    it has none."""
    contract, dashboard = module.contract, module.dashboard
    try:
        return digest((contract, dashboard.uid, dashboard.external_metrics, compiled.identity))
    except Uncanonical:
        return None


def section_digest(module: ModuleFile) -> str | None:
    """Return the digest of the module's overview section (read only while the overview shows sections)."""
    try:
        return digest(module_section(module.contract, module.dashboard))
    except Uncanonical:
        return None


def _finding_json(finding: Finding) -> list[Any]:
    return [finding.rule, finding.severity, finding.file, finding.dashboard, finding.panel, finding.message,
            finding.panel_key]


def _finding(data: list[Any]) -> Finding:
    rule, severity, file, dashboard, panel, message, panel_key = data
    return Finding(rule, severity, file, dashboard, panel, message, panel_key)


def _row_json(row: SummaryRow) -> list[Any]:
    return [row.dashboard, row.panels, row.queries, row.file, row.escape_hatches]


def _identity_json(identity: DashboardIdentity) -> list[str]:
    return [identity.uid, identity.title, identity.filename, identity.source]


def _summary_row(compiled: CompiledDashboard) -> SummaryRow:
    return SummaryRow(compiled.json["title"], len(compiled.panels), sum(len(p.targets) for p in compiled.panels),
                      dashboard_path(compiled), compiled.escape_hatches)


def _unit(key: str, module: ModuleFile, compiled: CompiledDashboard, files: Mapping[str, bytes],
          outputs: Sequence[str], warnings: Sequence[Finding]) -> dict[str, Any]:
    return {"key": key, "cross": cross_digest(module, compiled), "section": section_digest(module),
            "outputs": {path: sha256(files[path]) for path in outputs},
            "summary": _row_json(_summary_row(compiled)),
            "warnings": [_finding_json(f) for f in warnings if f.dashboard == compiled.filename],
            "identity": _identity_json(compiled.identity)}


def _module_outputs(module: ModuleFile, compiled: CompiledDashboard, files: Mapping[str, bytes]) -> list[str]:
    """Return the files one module generates: its dashboard, its alert rules and its SLO rules."""
    from dashbuild.prometheus import alert_rules_path
    from dashbuild.slo_files import slo_rules_path

    paths = [dashboard_path(compiled), alert_rules_path(module.contract), slo_rules_path(module.contract)]
    return [path for path in paths if path in files]


def _document(result: BuildResult, inputs: InputSnapshot) -> dict[str, Any] | None:
    """Return what a full build leaves for the next one to reuse; None when it cannot be told apart per module."""
    modules, dashboards = result.modules, result.dashboards
    if not modules or len(dashboards) != len(modules) + 1 or len(result.summary) != len(dashboards):
        return None
    units: dict[str, Any] = {}
    owned: set[str] = set()
    for module, compiled in zip(modules, dashboards, strict=False):
        key = inputs.module_keys.get(module.path)
        outputs = _module_outputs(module, compiled, result.files)
        if key is None or owned.intersection(outputs):
            return None
        owned.update(outputs)
        units[module.path] = _unit(key, module, compiled, result.files, outputs, result.warnings)
    overview = dashboards[-1]
    return {"version": UNITS_VERSION, "global": inputs.global_key, "modules": [m.path for m in modules],
            "order": list(result.files), "units": units,
            "shared": {"outputs": {path: sha256(content) for path, content in result.files.items()
                                   if path not in owned},
                       "summary": _row_json(result.summary[-1]),
                       "warnings": [_finding_json(f) for f in result.warnings if f.dashboard == overview.filename],
                       "identity": _identity_json(overview.identity)}}


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_row(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 5 and _is_str(value[0]) and _is_str(value[3])
            and all(type(n) is int for n in (value[1], value[2], value[4])))


def _is_finding(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 7 and all(_is_str(v) for v in value[:4])
            and value[1] in ("error", "warning") and _is_str(value[5])
            and all(v is None or _is_str(v) for v in (value[4], value[6])))


def _is_part(part: Any) -> bool:
    """Return True for a unit, or the shared part: hashes by safe path, a summary row, warnings, an identity."""
    return (isinstance(part, dict) and isinstance(part.get("outputs"), dict)
            and all(_is_str(p) and is_safe_path(p) and _is_str(h) for p, h in part["outputs"].items())
            and _is_row(part.get("summary")) and isinstance(part.get("warnings"), list)
            and all(_is_finding(f) for f in part["warnings"]) and isinstance(part.get("identity"), list)
            and len(part["identity"]) == 4 and all(_is_str(v) for v in part["identity"]))


def _valid(document: Any) -> bool:
    """Return True for a well-formed document of this version, every path a plain relative one, listing each
    generated file once (a damaged or tampered cache is ignored)."""
    if not isinstance(document, dict) or document.get("version") != UNITS_VERSION:
        return False
    units, shared, order = document.get("units"), document.get("shared"), document.get("order")
    if not (isinstance(units, dict) and isinstance(shared, dict) and _is_part(shared) and isinstance(order, list)
            and _is_str(document.get("global")) and list(units) == document.get("modules")):
        return False
    if not all(_is_part(unit) and _is_str(unit.get("key")) and all(unit.get(k) is None or _is_str(unit.get(k))
                                                                   for k in ("cross", "section"))
               for unit in units.values()):
        return False
    owned = [path for unit in units.values() for path in unit["outputs"]]
    every = [*owned, *shared["outputs"]]
    return len(every) == len(set(every)) == len(order) and set(order) == set(every)


class UnitCache:
    """Build `root`, reusing the per-module results the last build remembered where its inputs are unchanged."""

    def __init__(self, root: Path, inputs: InputSnapshot) -> None:
        self.root, self.inputs = root, inputs
        self.document: dict[str, Any] | None = None
        try:
            loaded = json.loads((root / UNITS).read_bytes())
        except (OSError, ValueError):
            loaded = None
        self._previous = loaded if _valid(loaded) else None

    def build(self, passes: ToolPasses | None) -> BuildResult:
        """Return the build of `root`: reusing unchanged modules where that gives exactly a clean build's result,
        else built in full. Raise BuildFailed as the full build does."""
        collecting = gc.isenabled()
        gc.disable()  # as pipeline.build: many short-lived objects, few cycles
        try:
            result = self._reuse(passes)
        finally:
            if collecting:
                gc.enable()
        return result if result is not None else build(self.root, passes)

    def store(self, result: BuildResult) -> None:
        """Remember `result`, now applied, for the next build; nothing when its inputs changed while it ran."""
        document = self.document if self.document is not None else _document(result, self.inputs)
        if document is None or not self.inputs.still_current():
            with contextlib.suppress(OSError):
                (self.root / UNITS).unlink()
            return
        write_cached(self.root, UNITS_NAME, json.dumps(document, sort_keys=True))

    def _reuse(self, passes: ToolPasses | None) -> BuildResult | None:
        previous, keys = self._previous, self.inputs.module_keys
        if previous is None or previous["global"] != self.inputs.global_key or set(keys) != set(previous["units"]):
            return None
        units: dict[str, Any] = previous["units"]
        changed = [path for path in previous["modules"] if units[path]["key"] != keys[path]]
        if not changed:
            return None  # inputs as before, yet the memo did not answer: a generated file differs, or more
        files = self._files_on_disk(previous, frozenset(changed))
        if files is None:
            return None
        try:
            settings = load_settings(self.root)
        except BuildError:
            return None  # unchanged since it loaded: the full build reports it as it does
        sections = len(previous["modules"]) <= settings.overview_sections_max  # else a table reads no section
        loaded = load_each([self.root / path for path in changed], lambda path: load_module_file(path, self.root))
        compiled: list[CompiledDashboard] = []
        for module in loaded:
            try:
                dashboard = compile_module(module, settings)
            except BuildError:
                return None  # the full build reports it, after the registry errors its contract may also cause
            cross, section = cross_digest(module, dashboard), section_digest(module)
            if cross is None or cross != units[module.path]["cross"] or (
                    sections and (section is None or section != units[module.path]["section"])):
                return None  # what it gives the cross-module stages changed: build everything
            compiled.append(dashboard)
        errors = run_checks(compiled)
        if errors:
            raise BuildFailed(errors)
        identities = [DashboardIdentity(*units[path]["identity"]) for path in previous["modules"]]
        context = LintContext(uids=frozenset([*(i.uid for i in identities), previous["shared"]["identity"][0]]))
        findings = sorted((f for d in compiled for f in lint_dashboard(d, context)),
                          key=lambda f: f.severity != "error")
        lint_errors = [as_error(f) for f in findings if f.severity == "error"]
        if lint_errors:
            raise BuildFailed([*lint_errors, *undeclared_summary(findings)])
        new_files = dashboard_files(compiled)
        if set(new_files) != {dashboard_path(d) for d in compiled} or not set(new_files) <= set(previous["order"]):
            return None
        files.update(new_files)
        result = self._checked(previous, files, compiled, findings, settings.alerting, passes)
        self.document = self._updated(previous, loaded, compiled, new_files, findings)
        return result

    def _files_on_disk(self, previous: dict[str, Any], changed: frozenset[str]) -> dict[str, bytes] | None:
        """Return every generated file but the changed modules' dashboards, as on disk; None when one is not as
        the last build wrote it."""
        expected: dict[str, str] = dict(previous["shared"]["outputs"])
        for path, unit in previous["units"].items():
            for output, hashed in unit["outputs"].items():
                if path not in changed or output != _dashboard_output(unit):
                    expected[output] = hashed
        files = {}
        for output, hashed in expected.items():
            content = read_file(os.path.join(self.root, output))
            if content is None or sha256(content) != hashed:
                return None
            files[output] = content
        return files

    def _checked(self, previous: dict[str, Any], files: dict[str, bytes], compiled: Sequence[CompiledDashboard],
                 findings: Sequence[Finding], alerting: Alerting, passes: ToolPasses | None) -> BuildResult:
        """Return the build result of the reused and the new files, promtool and amtool having checked them."""
        order: list[str] = previous["order"]
        ordered = {path: files[path] for path in order}
        units: dict[str, Any] = previous["units"]
        sources = {output: path for path, unit in units.items() for output in unit["outputs"]
                   if output != _dashboard_output(unit)}
        outcome = check_consumer_files(self.root, ordered, sources, alerting, passes)
        raise_on_errors(outcome)
        by_source = {d.source: d for d in compiled}
        new_warnings = {d.source: [f for f in findings if f.severity == "warning" and f.dashboard == d.filename]
                        for d in compiled}
        summary: list[SummaryRow] = []
        warnings: list[Finding] = []
        for path in previous["modules"]:
            if path in by_source:
                summary.append(_summary_row(by_source[path]))
                warnings.extend(new_warnings[path])
            else:
                summary.append(SummaryRow(*units[path]["summary"]))
                warnings.extend(_finding(f) for f in units[path]["warnings"])
        summary.append(SummaryRow(*previous["shared"]["summary"]))
        warnings.extend(_finding(f) for f in previous["shared"]["warnings"])
        reused = tuple(DashboardIdentity(*units[path]["identity"]) for path in previous["modules"]
                       if path not in by_source)
        return BuildResult(files=ordered, summary=tuple(summary), dashboards=tuple(compiled),
                           warnings=tuple(warnings), notes=outcome.notes,
                           reused_identities=(*reused, DashboardIdentity(*previous["shared"]["identity"])),
                           read_from_disk=frozenset(files) - {dashboard_path(d) for d in compiled})

    def _updated(self, previous: dict[str, Any], loaded: Sequence[ModuleFile], compiled: Sequence[CompiledDashboard],
                 new_files: Mapping[str, bytes], findings: Sequence[Finding]) -> dict[str, Any]:
        """Return the document with the rebuilt modules' units replaced."""
        units = dict(previous["units"])
        for module, dashboard in zip(loaded, compiled, strict=True):
            outputs = dict(units[module.path]["outputs"])
            outputs[dashboard_path(dashboard)] = sha256(new_files[dashboard_path(dashboard)])
            unit = _unit(self.inputs.module_keys[module.path], module, dashboard, new_files,
                         [dashboard_path(dashboard)], [f for f in findings if f.severity == "warning"])
            units[module.path] = {**unit, "outputs": outputs}
        return {**previous, "units": units}


def _dashboard_output(unit: Mapping[str, Any]) -> str:
    """Return the path of a unit's dashboard file."""
    return f"{DASHBOARDS_DIR}/{unit['identity'][2]}"
