"""The build pipeline: registry → dashboards → checks → files → promtool and amtool.

Nothing here writes to the repository: discovery reads module files, the promtool stage reads the
hand-made rule files and checks the Prometheus tree in a temp folder, and amtool checks the Alertmanager
config in another.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

import attrs

from dashbuild.checks import run_checks
from dashbuild.compiled import CompiledDashboard, DashboardIdentity
from dashbuild.consumer_checks import BackgroundChecks, raise_on_errors
from dashbuild.discover import ModuleFile, discover
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.lint import Finding, lint
from dashbuild.lint_rules import undeclared_metrics
from dashbuild.outputs import OUTPUTS, BuildInputs, Output, dashboard_path, merge_outputs
from dashbuild.overview import build_overview, module_section
from dashbuild.prometheus import alert_rules_path
from dashbuild.render import render_dashboard
from dashbuild.settings import load_settings
from dashbuild.slo_files import slo_sources
from dashbuild.tool_passes import ToolPasses
from moddash.contract import ModuleContract
from panels.settings import DEFAULTS, OVERVIEW_UID, SELF_JOB, ProjectSettings
from panels.slo import slo_row
from panels.spec import DashboardSpec, Link
from rules.recording import recorded_series
from rules.slo import recorded_series as slo_recorded_series
from rules.slo import slo_spec

OVERVIEW_SOURCE = "dashbuild/overview.py"


@attrs.frozen
class SummaryRow:
    """One line of the build summary."""

    dashboard: str
    panels: int
    queries: int
    file: str
    # JSON options set through `Panel.raw`, the reviewed escape hatch.
    escape_hatches: int = 0


@attrs.frozen
class BuildResult:
    """Everything a build produces, in memory: files by relative path, and the summary."""

    files: dict[str, bytes]
    summary: tuple[SummaryRow, ...]
    dashboards: tuple[CompiledDashboard, ...]
    warnings: tuple[Finding, ...] = ()
    # Said once per build, e.g. that promtool is not installed.
    notes: tuple[str, ...] = ()
    contracts: tuple[ModuleContract, ...] = ()
    # The loaded module files, in registry order (`dashboards` holds their dashboards in the same order, then the
    # overview): what per-module reuse remembers (dashbuild/build_units.py).
    modules: tuple[ModuleFile, ...] = ()
    # Every generated dashboard's identity, when `dashboards` holds only some of them (a build reusing the rest).
    reused_identities: tuple[DashboardIdentity, ...] = ()
    # Files whose bytes a reusing build read from disk just now, under the build lock: apply need not read them.
    read_from_disk: frozenset[str] = frozenset()

    @property
    def identities(self) -> tuple[DashboardIdentity, ...]:
        """Return the uid, title, file and source of every dashboard the build generates."""
        return (*(d.identity for d in self.dashboards), *self.reused_identities)


def check_registry(modules: Sequence[ModuleFile]) -> list[BuildError]:
    """Return errors for modules that clash (same scrape port on the same host) or declare a metric twice."""
    errors = []
    seen: dict[str, str] = {}
    for module in modules:
        for metric in module.dashboard.external_metrics:
            if module.contract.has_metric(metric.name):
                errors.append(BuildError(module.path, f"{metric.name} is in CONTRACT.metrics and in DASHBOARD's "
                                                      "external_metrics: keep it in one (the contract when this "
                                                      "module exposes it)"))
        if module.contract.job == SELF_JOB:
            errors.append(BuildError(module.path, f"module {module.contract.name!r} would scrape as job {SELF_JOB!r}, "
                                                  "which is Prometheus' own job; choose another module name, e.g. "
                                                  f"'{module.contract.name}_server'"))
        # Host names are case-insensitive, and `address` writes an IPv6 host one way, brackets included.
        key = module.contract.target.address.lower()
        if key in seen:
            errors.append(BuildError(module.path, f"scrape target {module.contract.target.address} is already used "
                                                  f"by {seen[key]}"))
        seen.setdefault(key, module.path)
    return errors


def module_spec(module: ModuleFile, settings: ProjectSettings = DEFAULTS) -> DashboardSpec:
    """Return the dashboard spec of one module file, titled as the project's settings say, with its SLO row."""
    contract, dashboard = module.contract, module.dashboard
    slos = slo_row(contract)
    return DashboardSpec(
        uid=dashboard.uid or contract.slug,
        title=settings.dashboard_title(contract),
        description=dashboard.description or f"{contract.title} module.",
        rows=(*dashboard.rows, *((slos,) if slos else ())),
        variables=dashboard.variables,
        links=(Link(settings.overview_title, OVERVIEW_UID, "All modules at a glance"),),
        tags=("generated", "module", contract.slug, *dashboard.tags),
        annotations=dashboard.annotations,
        silenced=dashboard.silenced,
    )


def _compile(spec: DashboardSpec, source: str, **provenance: object) -> CompiledDashboard:
    try:
        rendered = render_dashboard(spec)
    except (ValueError, TypeError) as error:
        raise BuildError(source, f"cannot compile dashboard {spec.uid!r}: {error}") from error
    return CompiledDashboard(spec=spec, json=rendered, source=source, **provenance)  # type: ignore[arg-type]


def _external_series(module: ModuleFile) -> frozenset[str]:
    return frozenset(name for metric in module.dashboard.external_metrics for name in metric.series_names())


def _series_of(module: ModuleFile) -> frozenset[str]:
    """Return the series a module's panels may read: its contract's, its external metrics', what its SLO rules
    record."""
    return module.contract.series_names() | _external_series(module) | slo_recorded_series(slo_spec(module.contract))


def compile_module(module: ModuleFile, settings: ProjectSettings = DEFAULTS) -> CompiledDashboard:
    """Return one module's dashboard, compiled, with provenance for error messages; raise BuildError naming it."""
    try:
        spec = module_spec(module, settings)
    except (ValueError, TypeError) as error:
        raise BuildError(module.path, str(error)) from error
    return _compile(spec, module.path, known_series=_series_of(module), contract=module.contract,
                    external_series=_external_series(module), module_names=frozenset({module.contract.name}))


def compile_dashboards(modules: Sequence[ModuleFile], settings: ProjectSettings = DEFAULTS) -> list[CompiledDashboard]:
    """Return every module dashboard and the overview, compiled, with provenance for error messages."""
    return [*(compile_module(module, settings) for module in modules), compile_overview(modules, settings)]


def compile_overview(modules: Sequence[ModuleFile], settings: ProjectSettings = DEFAULTS) -> CompiledDashboard:
    """Return the overview of `modules`, compiled, knowing which module file each section panel comes from."""
    overview_sources: dict[str, str] = {}  # panel key -> module file
    for module in modules:
        section = module_section(module.contract, module.dashboard)
        for panel in section.panels if section else ():
            overview_sources[panel.key or ""] = module.path
    try:
        overview = build_overview([(m.contract, m.dashboard) for m in modules], settings)
    except Exception as error:  # overview.py is code we edit too: report any failure as a build error
        raise BuildError(OVERVIEW_SOURCE, f"cannot assemble the overview: {type(error).__name__}: {error}") from error
    every_series = frozenset().union(recorded_series(), *(_series_of(m) for m in modules))
    external = frozenset().union(*(_external_series(m) for m in modules))
    return _compile(overview, OVERVIEW_SOURCE, panel_sources=overview_sources, known_series=every_series,
                    external_series=external, module_names=frozenset(m.contract.name for m in modules))


def compile_checked(root: Path) -> tuple[list[ModuleFile], list[CompiledDashboard]]:
    """Return the registry and its compiled, schema-checked dashboards; raise BuildFailed on any error."""
    _settings, modules, dashboards = _compile_checked(root)
    return modules, dashboards


def _compile_checked(root: Path) -> tuple[ProjectSettings, list[ModuleFile], list[CompiledDashboard]]:
    settings, modules = _registry(root)
    return settings, modules, _checked_dashboards(modules, settings)


def _registry(root: Path) -> tuple[ProjectSettings, list[ModuleFile]]:
    """Return the project's settings and its module files, loaded and checked; raise BuildFailed on any error."""
    try:
        settings = load_settings(root)
    except BuildError as error:
        raise BuildFailed([error]) from error
    modules = discover(root)
    errors = check_registry(modules)
    if errors:
        raise BuildFailed(errors)
    return settings, modules


def _checked_dashboards(modules: Sequence[ModuleFile], settings: ProjectSettings) -> list[CompiledDashboard]:
    """Return every dashboard compiled and checked; raise BuildFailed on any error."""
    try:
        dashboards = compile_dashboards(modules, settings)
    except BuildError as error:
        raise BuildFailed([error]) from error
    errors = run_checks(dashboards)
    if errors:
        raise BuildFailed(errors)
    return dashboards


def undeclared_summary(findings: Sequence[Finding]) -> list[BuildError]:
    """Return per module file whose panels read several metrics nothing declares one error listing them all, and
    how to declare them: the way forward for a dashboard written elsewhere (one such metric says it itself)."""
    messages = [(f.file, f.message) for f in findings if f.rule == "target-metric-declared-rule"]
    return [BuildError(file, f"{len(names)} metric(s) no contract declares: {', '.join(names)}. Declare each in "
                             "CONTRACT.metrics when this module exposes it, or in ModuleDashboard(external_metrics="
                             f'(Metric("{names[0]}", GAUGE, "..."), ...)) when another exporter does')
            for file, names in undeclared_metrics(messages).items() if len(names) > 1]


def as_error(finding: Finding) -> BuildError:
    """Return a lint finding as a build error naming its file and panel."""
    return BuildError(finding.file, f"[{finding.rule}] {finding.dashboard}: {finding.message}", finding.panel)


def build(root: Path, passes: ToolPasses | None = None) -> BuildResult:
    """Return the complete, checked and linted build of `root`; raise BuildFailed on any error. With `passes`,
    promtool and amtool checks that passed on the same bytes before are not run again."""
    # The build allocates many short-lived objects and few cycles: without the cyclic collector's
    # repeated full passes over a growing heap, build time grows linearly with the number of modules.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(root, passes)
    finally:
        if collecting:
            gc.enable()


def _build(root: Path, passes: ToolPasses | None) -> BuildResult:
    settings, modules = _registry(root)
    # The stages that do not read the dashboards first, and their consumers' checks started on them: promtool and
    # amtool then run on another core while this process compiles, validates and lints the dashboards.
    early: list[tuple[Output, dict[str, bytes]]] = []
    early_failure: BuildFailed | None = None
    try:
        early = [(o, o.render(BuildInputs(settings, tuple(modules), ()))) for o in OUTPUTS if not o.reads_dashboards]
    except BuildFailed as failure:
        early_failure = failure  # reported after the dashboards' errors, as each stage's errors come in stage order
    checks = None if early_failure else BackgroundChecks(
        root, merge_outputs(early), {**{alert_rules_path(m.contract): m.path for m in modules}, **slo_sources(modules)},
        settings.alerting, passes)
    try:
        dashboards = _checked_dashboards(modules, settings)
        findings = lint(dashboards)
        errors = [as_error(f) for f in findings if f.severity == "error"]
        if errors:
            raise BuildFailed([*errors, *undeclared_summary(findings)])
        inputs = BuildInputs(settings, tuple(modules), tuple(dashboards))
        late = {o.name: o.render(inputs) for o in OUTPUTS if o.reads_dashboards}
        if early_failure is not None:
            raise early_failure
        assert checks is not None
        outcome = checks.outcome()
    except BaseException:
        if checks is not None:
            checks.stop()
        raise
    raise_on_errors(outcome)
    stages = dict(early)
    files = merge_outputs([(o, late[o.name] if o.reads_dashboards else stages[o]) for o in OUTPUTS])
    summary = tuple(
        SummaryRow(d.json["title"], len(d.panels), sum(len(p.targets) for p in d.panels),
                   dashboard_path(d), d.escape_hatches)
        for d in dashboards
    )
    return BuildResult(files=files, summary=summary, dashboards=tuple(dashboards),
                       contracts=tuple(m.contract for m in modules), modules=tuple(modules),
                       warnings=tuple(f for f in findings if f.severity == "warning"), notes=outcome.notes)
