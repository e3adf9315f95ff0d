#!/usr/bin/env python3
"""Build every dashboard and provisioning file from dashboards/*.py (`python build.py --help`)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

ROOT = Path(__file__).resolve().parent
# The repository's own sources first: its panels/ and dashboards/, and the service-facing moddash package.
sys.path[:0] = [str(ROOT), str(ROOT / "moddash-service")]

# Light imports only: a no-change build or check answers before the pipeline is imported (dashbuild/build_memo.py).
from dashbuild.cli_support import (  # noqa: E402
    Project,
    exit_with_error,
    exit_with_errors,
    exiting_on_failure,
    pass_project,
)
from dashbuild.errors import BuildFailed  # noqa: E402
from dashbuild.lock import DEFAULT_WAIT_SECONDS  # noqa: E402
from dashbuild.manifest import MANIFEST  # noqa: E402
from dashbuild.module_timeout import MODULE_TIMEOUT_ENV, set_module_timeout  # noqa: E402

if TYPE_CHECKING:
    from dashbuild.build_units import UnitCache
    from dashbuild.input_snapshot import InputSnapshot
    from dashbuild.pipeline import BuildResult
    from dashbuild.tool_passes import ToolPasses
    from moddash.contract import ModuleContract


def _build_or_exit(root: Path, passes: ToolPasses | None = None, units: UnitCache | None = None) -> BuildResult:
    """Return the build of `root`, its warnings and notes printed; exit with its errors. With `passes`, tool checks
    that passed on the same bytes before are not run again (and new passes are noted in it); with `units`, modules
    whose inputs are unchanged are reused where that gives exactly a clean build."""
    from dashbuild.pipeline import build

    with exiting_on_failure(building=True):
        result = units.build(passes) if units is not None else build(root, passes)
    for line in _said(result):
        click.echo(line, err=True)
    return result


def _passes(root: Path, use_cache: bool) -> ToolPasses | None:
    from dashbuild.tool_passes import ToolPasses

    return ToolPasses(root) if use_cache else None


def _said(result: BuildResult) -> list[str]:
    """Return the warning and note lines a build prints."""
    return [*(f"warning: {warning}" for warning in result.warnings), *(f"note: {note}" for note in result.notes)]


def _summary_lines(result: BuildResult) -> list[str]:
    width = max(len(row.dashboard) for row in result.summary)
    # The escape-hatch column appears once a dashboard uses one, so reviewers see how many there are.
    raw = any(row.escape_hatches for row in result.summary)
    lines = [f"{'dashboard':<{width}}  panels  queries{'  raw' if raw else ''}  file"]
    for row in result.summary:
        hatches = f"  {row.escape_hatches:>3}" if raw else ""
        lines.append(f"{row.dashboard:<{width}}  {row.panels:>6}  {row.queries:>7}{hatches}  {row.file}")
    return lines


def _remember(root: Path, inputs: InputSnapshot, result: BuildResult) -> None:
    """Store what the no-change fast path needs to answer the next build or check (dashbuild/build_memo.py)."""
    from dashbuild.build_memo import store

    store(root, inputs, result.files, _summary_lines(result), _said(result))


def _unchanged(root: Path, use_cache: bool) -> dict[str, Any] | None:
    from dashbuild.build_memo import unchanged

    return unchanged(root) if use_cache else None


def _seconds(allow_zero: bool = False) -> Callable[[click.Context, click.Parameter, float | None], float | None]:
    """Return a click callback accepting finite seconds, positive (or zero) and at most a week: no nan or inf."""
    def check(_ctx: click.Context, _param: click.Parameter, seconds: float | None) -> float | None:
        if seconds is not None and (not 0 <= seconds <= 604800 or (seconds == 0 and not allow_zero)):
            lowest = "0" if allow_zero else "more than 0"
            raise click.BadParameter(f"{seconds!r} must be a number of seconds from {lowest} to 604800 (a week)")
        return seconds
    return check


def _module_timeout(ctx: click.Context, param: click.Parameter, seconds: float | None) -> None:
    set_module_timeout(_seconds()(ctx, param, seconds))


def _project_root(_ctx: click.Context, _param: click.Parameter, value: Path) -> Path:
    if not (value / "dashboards").is_dir():
        reason = "not a project (it has no dashboards/ folder)" if value.is_dir() else "no such folder"
        exit_with_error(f"--root {value}: {reason}", 2)
    return value


@click.group(invoke_without_command=True)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming every missing, stale or orphaned file.")
@click.option("--root", type=click.Path(path_type=Path), default=ROOT, show_default=False,
              callback=_project_root, help="Repository to build (default: the folder of build.py).")
@click.option("--repair", is_flag=True,
              help=f"Rebuild a lost or damaged {MANIFEST} from what the build can prove it generated, then build.")
@click.option("--lock-timeout", type=float, callback=_seconds(allow_zero=True), default=DEFAULT_WAIT_SECONDS,
              show_default=True,
              help="Seconds to wait for another build of the same repository to finish.")
@click.option("--module-timeout", type=float, envvar=MODULE_TIMEOUT_ENV,
              show_envvar=True, metavar="SECONDS", expose_value=False,
              callback=_module_timeout,
              help="Time limit of each dashboards/*.py import, for every command that loads them [default: 10].")
@click.option("--env", "env", metavar="NAME", help="Build environment NAME (environments/NAME.py) into "
              "deploy/NAME/ instead of the local stack; with --check, check only that environment.")
@click.option("--no-cache", is_flag=True,
              help="Build from scratch even when nothing changed since the last build (.dashbuild-cache/).")
@click.pass_context
def cli(ctx: click.Context, check: bool, root: Path, repair: bool, lock_timeout: float, env: str | None,
        no_cache: bool) -> None:
    """Build dashboards, provisioning files and the manifest. With no command: build everything."""
    ctx.obj = Project(root, lock_timeout)
    if ctx.invoked_subcommand is not None:
        if env is not None:
            exit_with_error("--env applies to the build and to --check, not to a command", 2)
        return
    if check and repair:
        exit_with_error("--check writes nothing and --repair writes the manifest: give one of them", 2)
    if env is not None:
        _environment(root, env, check, repair, lock_timeout)
        return
    if check:
        from dashbuild.environment_paths import environment_paths

        # Environments are checked by building them; without any, an unchanged tree needs no build.
        memo = None if environment_paths(root) else _unchanged(root, not no_cache)
        if memo is not None:
            for line in memo["warnings"]:
                click.echo(line, err=True)
            click.echo(f"all {len(memo['files']) + 1} generated files are fresh")
            return
        result = _build_or_exit(root, _passes(root, not no_cache))
        _check_or_exit(root, result, environments_too=True)
        return
    _build_and_apply(root, repair, lock_timeout, use_cache=not no_cache and not repair)


def _environment(root: Path, name: str, check: bool, repair: bool, lock_timeout: float) -> None:
    """Check or build one environment into deploy/NAME/, from a checked local build."""
    from dashbuild.environments import environment_named, environment_result, environment_root
    from dashbuild.settings import load_settings

    with exiting_on_failure(building=True):
        environment = environment_named(root, name)
        local = _build_or_exit(root)
        result = environment_result(environment, local, load_settings(root).runbooks)
    target = environment_root(root, environment)
    if check:
        _check_or_exit(target, result, shown=f"deploy/{environment.name}/")
        return
    _apply(root, target, lambda: result, repair, lock_timeout, shown=f"deploy/{environment.name}/")


def _stale_lines(root: Path, result: BuildResult, shown: str = "") -> tuple[list[str], int]:
    """Return a line per missing, stale, orphaned or interrupted file under `root`, and how many files it checked."""
    from dashbuild.freshness import check_outputs
    from dashbuild.manifest import ManifestError

    try:
        freshness = check_outputs(root, result.files)
    except ManifestError as error:
        exit_with_error(f"{shown}{error}")
    lines = [f"{label}: {shown}{path}" for label, paths in (
        ("missing", freshness.missing), ("stale", freshness.stale), ("no longer generated", freshness.orphaned),
        ("left by an interrupted build", freshness.interrupted)) for path in paths]
    return lines, len(result.files) + 1


def _check_or_exit(root: Path, result: BuildResult, shown: str = "", environments_too: bool = False) -> None:
    lines, checked = _stale_lines(root, result, shown)
    command = "python build.py" + (f" --env {shown.strip('/').split('/')[-1]}" if shown else "")
    hints = [f"generated files are not fresh: run `{command}` and commit the result"] if lines else []
    if environments_too:
        from dashbuild.environments import environment_result, environment_root, environments
        from dashbuild.settings import load_settings

        with exiting_on_failure(building=True):
            found = environments(root)
            runbooks = load_settings(root).runbooks if found else ""
            results = [(e, environment_result(e, result, runbooks)) for e in found]
        for environment, env_result in results:
            env_lines, env_checked = _stale_lines(environment_root(root, environment), env_result,
                                                  f"deploy/{environment.name}/")
            lines += env_lines
            checked += env_checked
            if env_lines:
                hints.append(f"environment {environment.name!r} is not fresh: run `python build.py --env "
                             f"{environment.name}` and commit the result")
    for line in lines:
        click.echo(line, err=True)
    if lines:
        for hint in hints:
            click.echo(hint, err=True)
        sys.exit(1)
    click.echo(f"all {checked} generated files are fresh")


def _apply(root: Path, target: Path, make_result: Callable[[], BuildResult], repair: bool, lock_timeout: float,
           shown: str = "", remember: Callable[[Path, BuildResult], None] | None = None) -> BuildResult:
    """Build and write the result under `target` as one transaction, holding the project's build lock; exit with
    one line per error (paths prefixed with `shown`, an environment's folder) when nothing could be changed."""
    from dashbuild.apply import apply_build
    from dashbuild.lock import LockBusy, build_lock
    from dashbuild.manifest import ManifestError
    from dashbuild.transaction import ApplyError

    try:
        with build_lock(root, lock_timeout):
            result = make_result()
            try:
                applied = apply_build(target, result, repair)
            except KeyboardInterrupt:
                exit_with_error("interrupted; the build was applied completely or not at all", 130)
            if remember is not None:
                remember(target, result)
    except LockBusy as busy:
        exit_with_error(str(busy))
    except (ManifestError, ApplyError) as error:
        click.echo(f"error: {shown}{error}", err=True)
        click.echo("no file was changed", err=True)
        sys.exit(1)
    except BuildFailed as failure:
        exit_with_errors(failure, summary=True, shown=shown)
    if applied.recovered:
        click.echo(f"completed an interrupted build first ({applied.recovered} steps)")
    for warning in applied.warnings:
        click.echo(f"warning: {warning}", err=True)
    if repair:
        click.echo(f"repair: {shown}{MANIFEST} rebuilt; left alone as hand-made: "
                   f"{', '.join(applied.hand_made) or 'nothing'}")
    report = applied.report
    if not shown:
        for line in _summary_lines(result):
            click.echo(line)
    where = f"{shown.rstrip('/')}: " if shown else ""
    click.echo(f"{where}{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} "
               f"removed (manifest: {shown}{MANIFEST})")
    for path in report.removed:
        click.echo(f"removed: {shown}{path}")
    return result


def _build_and_apply(root: Path, repair: bool, lock_timeout: float, use_cache: bool = True) -> None:
    from dashbuild.build_memo import look_up
    from dashbuild.lock import LockBusy, build_lock

    try:
        with build_lock(root, lock_timeout):
            # The inputs are taken before the build reads them: what it remembers is keyed by what it read.
            lookup = look_up(root)
    except LockBusy as busy:
        exit_with_error(str(busy))
    memo = lookup.memo if use_cache else None
    if memo is not None:
        lookup.inputs.hashes.save()  # a build that succeeded, changing nothing
        # What the build would print, having found every file as it would write it.
        for line in memo["warnings"]:
            click.echo(line, err=True)
        for line in memo["summary"]:
            click.echo(line)
        click.echo(f"0 written, {len(memo['files'])} unchanged, 0 removed (manifest: {MANIFEST})")
        return
    from dashbuild.build_units import UnitCache

    passes = _passes(root, use_cache)
    units = UnitCache(root, lookup.inputs)

    def remember(target: Path, result: BuildResult) -> None:
        # Only once the files are applied: a build that fails leaves the cache as it was.
        if passes is not None:
            passes.save()
        _remember(target, lookup.inputs, result)
        units.store(result)
        lookup.inputs.hashes.save()

    _apply(root, root, lambda: _build_or_exit(root, passes, units if use_cache else None), repair, lock_timeout,
           remember=remember)


@cli.command("lint")
@click.option("--rules", "list_rules", is_flag=True, help="List the rules and exit.")
@pass_project
def lint_command(project: Project, list_rules: bool) -> None:
    """Lint every dashboard without writing anything; exit 1 on an error (warnings are printed)."""
    from dashbuild.lint import RULES, lint
    from dashbuild.pipeline import compile_checked

    if list_rules:
        for rule in RULES:
            click.echo(f"{rule.name:<38} {rule.severity:<8} {rule.description}")
        return
    with exiting_on_failure(building=False):
        _modules, dashboards = compile_checked(project.root)
    findings = lint(dashboards)
    for finding in findings:
        click.echo(f"{finding.severity}: {finding}")
    errors = sum(f.severity == "error" for f in findings)
    click.echo(f"{len(dashboards)} dashboards linted with {len(RULES)} rules: {errors} error(s), "
               f"{len(findings) - errors} warning(s)")
    sys.exit(1 if errors else 0)


def _duration(_ctx: click.Context, _param: click.Parameter, text: str | None) -> float | None:
    from dashbuild.verify_plan import parse_duration

    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if seconds == 0:
        raise click.BadParameter(f"{text!r} must be more than 0")
    return seconds


_PREVIEW_DATA = (
    click.option("--prometheus", "prometheus_url", default=None, metavar="URL",
                 help="Draw data from this Prometheus (e.g. http://127.0.0.1:9090) [default: the demo's traffic, "
                      "generated in memory]."),
    click.option("--range", "range_", default=None, metavar="DURATION", callback=_duration,
                 help="Time range shown, e.g. 30m or 6h [default: each dashboard's own with --prometheus, 15m of "
                      "demo data without]."),
    click.option("--at", "at", type=float, default=None, metavar="UNIX_SECONDS",
                 help="End of the time range [default: now, to the minute]."),
    click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the demo traffic."),
    click.option("--timeout", type=float, callback=_seconds(), default=10.0, show_default=True,
                 help="Seconds allowed for each request to Prometheus."),
)


def _preview_data(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_PREVIEW_DATA):
        func = option(func)
    return func


@cli.command("diff")
@click.option("--base", default="HEAD", show_default=True, help="Git revision to compare the fresh build with.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option("--layout", is_flag=True, help="Also report every position, panel id and link order change.")
@click.option("--html", "html_dir", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR",
              help="Also write each changed dashboard before and after, side by side, as a page in DIR.")
@click.option("--png", is_flag=True, help="With --html: also a PNG of each page, made with headless Chromium.")
@_preview_data
@pass_project
def diff_command(project: Project, base: str, fmt: str, layout: bool, html_dir: Path | None, png: bool,
                 prometheus_url: str | None, range_: float | None, at: float | None, seed: int, timeout: float) -> None:
    """Show, item by item, how a fresh build's generated files differ from those at BASE."""
    from dashbuild.diff import diff_files, git_files, iter_lines
    from dashbuild.diff_dashboard import overview_sections
    from dashbuild.transaction import OUTPUT_AREAS

    if png and html_dir is None:
        raise click.UsageError("--png needs --html DIR")
    result = _build_or_exit(project.root, _passes(project.root, True))
    try:
        before = git_files(project.root, base, OUTPUT_AREAS)
    except ValueError as error:
        exit_with_error(f"cannot read the generated files at {base!r}: {error}", 2)
    changes = diff_files(before, result.files, layout=layout, sections=overview_sections(result.dashboards))
    for line in iter_lines(changes, "markdown" if fmt == "markdown" else "text"):
        click.echo(line)
    if html_dir is not None:
        from dashbuild.preview.command import DataOptions, review

        review(html_dir, DataOptions(prometheus_url, range_, at, seed, timeout), base, before, result.contracts,
               result.files, png)


@cli.command("preview")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR",
              help="Folder for the pages [default: preview/ in the project].")
@click.option("--serve", "serve_pages", is_flag=True,
              help="Serve the pages on 127.0.0.1 and make them again on every save.")
@click.option("--port", type=click.IntRange(0, 65535), default=8300, show_default=True,
              help="With --serve: the port (0: any free one).")
@_preview_data
@pass_project
def preview_command(project: Project, out: Path | None, serve_pages: bool, port: int, prometheus_url: str | None,
                    range_: float | None, at: float | None, seed: int, timeout: float) -> None:
    """Write a static page per generated dashboard, its panels drawn with data, into DIR (no Grafana needed).

    The pages open from disk with no network: Grafana's grid, rows (collapsed ones collapsed; click to open),
    titles, units, threshold colours and legends, with data from --prometheus or the demo's traffic generated
    in memory. With --serve, the pages are served on 127.0.0.1 and made again whenever a module file, panels/
    or rules/ changes; an open page reloads itself.
    """
    from dashbuild.preview.command import DataOptions, preview, serve

    folder = out if out is not None else project.root / "preview"
    options = DataOptions(prometheus_url, range_, at, seed, timeout)
    if serve_pages:
        serve(project.root, folder, port, options, Path(__file__).resolve(), project.lock_timeout, ROOT)
        return
    result = _build_or_exit(project.root, _passes(project.root, True))
    preview(folder, options, result.contracts, result.files)


@cli.command("new-module")
@click.argument("name")
@click.option("--port", type=int, required=True, help="Port the module serves /metrics on.")
@click.option("--title", help="Dashboard title (default: from NAME, e.g. billing_gateway -> Billing Gateway).")
@pass_project
def new_module(project: Project, name: str, port: int, title: str | None) -> None:
    """Scaffold dashboards/NAME.py with the standard metrics and panels."""
    from dashbuild.scaffold import scaffold_module

    with exiting_on_failure(building=False):
        path = scaffold_module(project.root, name, port, title)
    click.echo(f"created {path.relative_to(project.root).as_posix()}: run `python build.py` to generate its dashboard")


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--module", "name", help="Module name (default: the metrics' common prefix, else from the title).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port the module serves /metrics on (default: the "
              "first free one from 9100).")
@click.option("--overwrite", is_flag=True, help="Replace dashboards/NAME.py if it exists.")
@pass_project
def import_command(project: Project, source: Path, name: str | None, port: int | None, overwrite: bool) -> None:
    """Write dashboards/NAME.py from a Grafana dashboard JSON file or a grafanalib .dashboard.py."""
    from dashbuild.import_command import import_file, summary

    with exiting_on_failure(building=False):
        result = import_file(project.root, source, name, port, overwrite)
    for line in summary(result, project.root):
        click.echo(line)


@cli.command("check-metrics")
@click.argument("module")
@click.argument("source")
@click.option("--timeout", type=float, callback=_seconds(), default=5.0, show_default=True,
              help="Seconds allowed for the whole request when SOURCE is a URL.")
@pass_project
def check_metrics(project: Project, module: str, source: str, timeout: float) -> None:
    """Compare MODULE's contract with what SOURCE exposes (a /metrics URL, a file, or - for stdin)."""
    from moddash.instrumentation.bounded_http import one_line, show
    from moddash.instrumentation.check import check_exposition, read_exposition

    modules = {contract.name: contract for contract in _contracts(project.root)}
    if module not in modules:
        exit_with_error(f"no module {module!r} (known: {', '.join(sorted(modules))})", 2)
    try:
        text, content_type = read_exposition(source, timeout, sys.stdin.buffer)
        findings = check_exposition(modules[module], text, content_type)
    except (OSError, ValueError) as error:
        exit_with_error(f"cannot read metrics from {show(source)}: {one_line(str(error), 400)}", 2)
    for finding in findings:
        click.echo(str(finding))
    problems = sum(1 for f in findings if f.severity == "problem")
    declared = len(modules[module].metrics)
    click.echo(f"{module}: {declared} declared metrics, {problems} problem(s), {len(findings) - problems} note(s)")
    sys.exit(1 if problems else 0)


@cli.command("prometheus-config")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write prometheus.yml and rules/ to (created if missing).")
@click.option("--targets-host", default=None, metavar="HOST",
              help="Host every module is scraped at, e.g. 127.0.0.1 for `build.py demo` on this machine.")
@click.option("--port-offset", type=click.IntRange(-65535, 65535), default=0, show_default=True,
              help="Added to every module's port, as `demo --port-offset`.")
@click.option("--port", "overrides", multiple=True, metavar="MODULE=PORT", help="Scrape MODULE on PORT instead.")
@click.option("--prometheus-address", default="127.0.0.1:9090", show_default=True, metavar="HOST:PORT",
              help="Where this Prometheus listens (its own scrape job).")
@click.option("--alertmanager-address", default="127.0.0.1:9093", show_default=True, metavar="HOST:PORT",
              help="Where the Alertmanager this Prometheus sends its alerts to listens.")
@pass_project
def prometheus_config_command(project: Project, out: Path, targets_host: str | None, port_offset: int,
                              overrides: tuple[str, ...], prometheus_address: str, alertmanager_address: str) -> None:
    """Write the Prometheus config and rules for a Prometheus running on the host (not in docker compose)."""
    from dashbuild.host_config import host_files, write_host_tree
    from dashbuild.transaction import OUTPUT_AREAS

    root = project.root
    if any(out.resolve().is_relative_to((root / area).resolve()) for area in OUTPUT_AREAS):
        exit_with_error(f"--out {out}: that folder is generated by `python build.py`; choose another", 2)
    ports = _port_overrides(overrides, set(_module_names(root)))
    # The rule files are the build's own, checked as in every build.
    result = _build_or_exit(root, _passes(root, True))
    with exiting_on_failure(building=False):
        files = host_files(result.contracts, result.files, targets_host, port_offset, ports, prometheus_address,
                           alertmanager_address)
        removed = write_host_tree(out, files)
    for relative in sorted(files):
        click.echo(f"wrote {(out / relative).as_posix()}")
    for path in removed:
        click.echo(f"removed {path}")
    # No --web.enable-lifecycle: it serves an unauthenticated /-/quit; SIGHUP reloads the config.
    click.echo(f"run: prometheus --config.file={(out / 'prometheus.yml').as_posix()} "
               f"--web.listen-address={prometheus_address}   (reload: kill -HUP <its pid>)")
    click.echo(f"alerts go to the Alertmanager at {alertmanager_address} (README.md: Alerts)")


def _contracts(root: Path) -> list[ModuleContract]:
    """Return every module file's contract; exit 1 with their errors when one of them fails to load."""
    from dashbuild.discover import discover

    with exiting_on_failure(building=False):
        return [module.contract for module in discover(root)]


def _module_names(root: Path) -> list[str]:
    from dashbuild.discover import module_paths

    return [path.stem for path in module_paths(root / "dashboards")]


def _port_overrides(overrides: tuple[str, ...], modules: set[str]) -> dict[str, int]:
    ports = {}
    for override in overrides:
        name, _, port = override.partition("=")
        if name not in modules or not port.isdigit() or not 1 <= int(port) <= 65535:
            known = ", ".join(sorted(modules))
            raise click.BadParameter(f"{override!r}: expected MODULE=PORT with MODULE one of {known}",
                                     param_hint="--port")
        ports[name] = int(port)
    return ports


@cli.command("demo")
@click.option("--port-offset", type=int, default=0, show_default=True, help="Added to every module's port.")
@click.option("--port", "overrides", multiple=True, metavar="MODULE=PORT", help="Serve MODULE on PORT instead.")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Address to listen on; the docker bridge address (e.g. 172.17.0.1) lets a Prometheus in docker "
                   "reach it on Linux without exposing it to the network.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the traffic.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
@pass_project
def demo(project: Project, port_offset: int, overrides: tuple[str, ...], bind: str, seed: int,
         duration: float | None) -> None:
    """Serve every module's metrics with realistic, moving demo traffic until Ctrl-C."""
    import time

    from moddash.instrumentation.demo import start_demo

    contracts = _contracts(project.root)
    ports = {c.name: c.target.port + port_offset for c in contracts}
    ports.update(_port_overrides(overrides, set(ports)))
    try:
        running = start_demo(contracts, ports, bind=bind, seed=seed)
    except OSError as error:
        exit_with_error(f"cannot serve the demo: {error}")
    for name, url in running.urls.items():
        click.echo(f"{name:<20} {url}")
    click.echo("serving demo traffic; Ctrl-C to stop")
    try:
        if duration is None:
            while True:
                time.sleep(3600)
        time.sleep(duration)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        click.echo("demo stopped")


@cli.command("verify")
@click.option("--prometheus", "prometheus_url", required=True, help="Base URL, e.g. http://127.0.0.1:9090")
@click.option("--strict", is_flag=True, help="Also exit 1 when a target is stale, has no series or only NaN/Inf.")
@click.option("--range", "range_", default=None, metavar="DURATION",
              help="Look back instead: a target is ok when it has data in this range ending now (e.g. 15m). "
                   "Default: judge now, over each dashboard's own time range.")
@click.option("--stale-after", "stale_after", default=None, metavar="DURATION",
              help="A series whose newest sample is older is stale [default: 3 scrape intervals, 15s].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=float, callback=_seconds(), default=10.0, show_default=True,
              help="Seconds allowed for each whole request to Prometheus.")
@pass_project
def verify_command(project: Project, prometheus_url: str, strict: bool, range_: str | None, stale_after: str | None,
                   fmt: str, timeout: float) -> None:
    """Check target health, then every panel target of every generated dashboard against Prometheus.

    Prints the modules Prometheus cannot scrape (with its error), then per dashboard one line per panel
    target: ok, stale, no series (with the cause), NaN/Inf or query error.

    \b
    Exit codes:
      0  otherwise: all ok, or (without --strict) only stale, no series or NaN/Inf
      1  a query error, or a module target down (or a module without a target);
         with --strict also any target stale, with no series or only NaN/Inf
      2  Prometheus cannot be queried at all, or a dashboard file cannot be read
         (one `error:` line on stderr)
    """
    import json
    import time

    from dashbuild.provisioning import DASHBOARDS_DIR
    from dashbuild.verify import (
        STALE_AFTER_SECONDS,
        DashboardFileError,
        PrometheusClient,
        PrometheusUnavailable,
        exit_code,
        load_dashboards,
        parse_duration,
        text_lines,
        to_json,
        verify,
    )

    durations: dict[str, float | None] = {}
    for option, text in (("--range", range_), ("--stale-after", stale_after)):
        try:
            durations[option] = parse_duration(text) if text is not None else None
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint=option) from None
        if durations[option] == 0:
            raise click.BadParameter(f"{text!r} must be more than 0", param_hint=option)
    try:
        client = PrometheusClient(prometheus_url, timeout)
        dashboards = load_dashboards(project.root, DASHBOARDS_DIR)
        report = verify(client, dashboards, time.time(), durations["--range"],
                        durations["--stale-after"] or STALE_AFTER_SECONDS)
    except (PrometheusUnavailable, DashboardFileError) as error:
        exit_with_error(str(error), 2)
    if fmt == "json":
        click.echo(json.dumps(to_json(report, strict), indent=2, sort_keys=True, allow_nan=False))
    else:
        click.echo("\n".join(text_lines(report)))
    sys.exit(exit_code(report, strict))


def _reload_command(_ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    import shlex

    if value is None:
        return ()
    try:
        words = tuple(shlex.split(value))
    except ValueError as error:
        raise click.BadParameter(f"{value!r}: {error}") from None
    if not words:
        raise click.BadParameter("an empty command")
    return words


def _one_way(server: str, pid: int | None, pidfile: Path | None, command: tuple[str, ...], options: str) -> None:
    if sum((pid is not None, pidfile is not None, bool(command))) > 1:
        raise click.UsageError(f"{options}: give one way to reload {server}")


@cli.command("watch")
@click.option("--prometheus-pid", type=click.IntRange(min=1), metavar="PID",
              help="Send SIGHUP to this Prometheus process when its config or rule files change.")
@click.option("--prometheus-pidfile", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="The same, with the pid read from FILE at each reload.")
@click.option("--reload-command", callback=_reload_command, metavar="COMMAND",
              help='Run COMMAND (no shell) in the project to reload Prometheus, e.g. '
                   '"docker compose kill -s HUP prometheus".')
@click.option("--alertmanager-pid", type=click.IntRange(min=1), metavar="PID",
              help="Send SIGHUP to this Alertmanager process when alertmanager/alertmanager.yml changes.")
@click.option("--alertmanager-pidfile", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="The same, with the pid read from FILE at each reload.")
@click.option("--alertmanager-reload-command", callback=_reload_command, metavar="COMMAND",
              help='Run COMMAND to reload Alertmanager, e.g. "docker compose kill -s HUP alertmanager".')
@click.option("--debounce", type=click.IntRange(10, 10000), default=200, show_default=True, metavar="MS",
              help="Rebuild once no input has changed for MS milliseconds.")
@pass_project
def watch_command(project: Project, prometheus_pid: int | None, prometheus_pidfile: Path | None,
                  reload_command: tuple[str, ...], alertmanager_pid: int | None, alertmanager_pidfile: Path | None,
                  alertmanager_reload_command: tuple[str, ...], debounce: int) -> None:
    """Build, then rebuild on every save of dashboards/, panels/, rules/ or environments/ until Ctrl-C.

    Each rebuild is `python build.py` in a fresh process (same lock, same all-or-nothing apply, same summary or
    error lines); a failed build changes nothing and watch goes on. When Prometheus' config or rule files
    changed, it is reloaded as the options say; Grafana reads changed dashboards by itself.
    """
    from dashbuild.discover import module_timeout
    from dashbuild.watch import WatchConfig, alertmanager_reloader, input_folders, prometheus_reloader, watch

    _one_way("Prometheus", prometheus_pid, prometheus_pidfile, reload_command,
             "--prometheus-pid, --prometheus-pidfile and --reload-command")
    _one_way("Alertmanager", alertmanager_pid, alertmanager_pidfile, alertmanager_reload_command,
             "--alertmanager-pid, --alertmanager-pidfile and --alertmanager-reload-command")
    try:
        timeout = module_timeout()
    except ValueError as error:
        exit_with_error(str(error), 2)
    root = project.root.resolve()
    command = (sys.executable, str(Path(__file__).resolve()), "--root", str(root), "--lock-timeout",
               repr(project.lock_timeout), "--module-timeout", repr(timeout))
    reloaders = (prometheus_reloader(prometheus_pid, prometheus_pidfile, reload_command),
                 alertmanager_reloader(alertmanager_pid, alertmanager_pidfile, alertmanager_reload_command))
    # The children never write bytecode: a .pyc written for an edit saved in the same second with the same size
    # would be taken for the next edit.
    watch(WatchConfig(root, command, input_folders(root, ROOT), debounce, reloaders,
                      {"PYTHONDONTWRITEBYTECODE": "1"}))


def _exit(code: int) -> NoReturn:
    """Exit with `code`, also when a module file started a thread that never ends (Python would wait for it)."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _exit_code(exit: SystemExit) -> int:
    if exit.code is None or isinstance(exit.code, int):
        return exit.code or 0
    click.echo(f"error: {exit.code}", err=True)
    return 1


def main() -> None:
    """Run the CLI; a usage error is one `error:` line (exit 2), Ctrl-C outside a build exits 130."""
    try:
        code = cli.main(standalone_mode=False)
    except SystemExit as exit:
        _exit(_exit_code(exit))
    except click.UsageError as error:
        where = error.ctx.command_path if error.ctx else "build.py"
        click.echo(f"error: {error.format_message()} (see `{where} --help`)", err=True)
        _exit(2)
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        _exit(error.exit_code)
    except click.Abort:
        click.echo("error: interrupted", err=True)
        _exit(130)
    _exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
