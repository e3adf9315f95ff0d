#!/usr/bin/env python3
"""Build every dashboard and provisioning file from dashboards/*.py (`python build.py --help`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from dashbuild.discover import discover  # noqa: E402
from dashbuild.errors import BuildError, BuildFailed  # noqa: E402
from dashbuild.files import MANIFEST, check_outputs, write_outputs  # noqa: E402
from dashbuild.pipeline import BuildResult, build  # noqa: E402


def _build_or_exit(root: Path) -> BuildResult:
    try:
        result = build(root)
    except BuildFailed as failure:
        for error in failure.errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"build failed with {len(failure.errors)} error(s); no file was changed", err=True)
        sys.exit(1)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return result


def _print_summary(result: BuildResult) -> None:
    width = max(len(row.dashboard) for row in result.summary)
    click.echo(f"{'dashboard':<{width}}  panels  queries  file")
    for row in result.summary:
        click.echo(f"{row.dashboard:<{width}}  {row.panels:>6}  {row.queries:>7}  {row.file}")


@click.group(invoke_without_command=True)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming every missing, stale or orphaned file.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=ROOT, show_default=False,
              help="Repository to build (default: the folder of build.py).")
@click.pass_context
def cli(ctx: click.Context, check: bool, root: Path) -> None:
    """Build dashboards, provisioning files and the manifest. With no command: build everything."""
    if ctx.invoked_subcommand is not None:
        return
    result = _build_or_exit(root)
    if check:
        freshness = check_outputs(root, result.files)
        for label, paths in (("missing", freshness.missing), ("stale", freshness.stale),
                             ("no longer generated", freshness.orphaned)):
            for path in paths:
                click.echo(f"{label}: {path}", err=True)
        if not freshness.fresh:
            click.echo("generated files are not fresh: run `python build.py` and commit the result", err=True)
            sys.exit(1)
        click.echo(f"all {len(result.files) + 1} generated files are fresh")
        return
    report = write_outputs(root, result.files)
    _print_summary(result)
    click.echo(f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed "
               f"(manifest: {MANIFEST})")
    for path in report.removed:
        click.echo(f"removed: {path}")


@cli.command("lint")
@click.option("--rules", "list_rules", is_flag=True, help="List the rules and exit.")
@click.pass_context
def lint_command(ctx: click.Context, list_rules: bool) -> None:
    """Lint every dashboard without writing anything; exit 1 on an error (warnings are printed)."""
    from dashbuild.lint import RULES, lint
    from dashbuild.pipeline import compile_checked

    if list_rules:
        for rule in RULES:
            click.echo(f"{rule.name:<38} {rule.severity:<8} {rule.description}")
        return
    root: Path = ctx.parent.params["root"] if ctx.parent else ROOT
    try:
        _modules, dashboards = compile_checked(root)
    except BuildFailed as failure:
        for error in failure.errors:
            click.echo(f"error: {error}", err=True)
        sys.exit(1)
    findings = lint(dashboards)
    for finding in findings:
        click.echo(f"{finding.severity}: {finding}")
    errors = sum(f.severity == "error" for f in findings)
    click.echo(f"{len(dashboards)} dashboards linted with {len(RULES)} rules: {errors} error(s), "
               f"{len(findings) - errors} warning(s)")
    sys.exit(1 if errors else 0)


@cli.command("diff")
@click.option("--base", default="HEAD", show_default=True, help="Git revision to compare the fresh build with.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option("--layout", is_flag=True, help="Also report position and panel id changes.")
@click.pass_context
def diff_command(ctx: click.Context, base: str, fmt: str, layout: bool) -> None:
    """Show, panel by panel, how a fresh build's dashboards differ from those generated at BASE."""
    from dashbuild.diff import diff_files, git_files, iter_lines
    from dashbuild.provisioning import DASHBOARDS_DIR

    root: Path = ctx.parent.params["root"] if ctx.parent else ROOT
    result = _build_or_exit(root)
    try:
        before = git_files(root, base, DASHBOARDS_DIR)
    except ValueError as error:
        click.echo(f"error: cannot read {DASHBOARDS_DIR} at {base!r}: {error}", err=True)
        sys.exit(2)
    changes = diff_files(before, result.files, layout=layout)
    for line in iter_lines(changes, "markdown" if fmt == "markdown" else "text"):
        click.echo(line)


@cli.command("new-module")
@click.argument("name")
@click.option("--port", type=int, required=True, help="Port the module serves /metrics on.")
@click.option("--title", help="Dashboard title (default: from NAME, e.g. billing_gateway -> Billing Gateway).")
@click.pass_context
def new_module(ctx: click.Context, name: str, port: int, title: str | None) -> None:
    """Scaffold dashboards/NAME.py with the standard metrics and panels."""
    from dashbuild.scaffold import scaffold_module

    root: Path = ctx.parent.params["root"] if ctx.parent else ROOT
    try:
        path = scaffold_module(root, name, port, title)
    except BuildError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"created {path.relative_to(root).as_posix()}: run `python build.py` to generate its dashboard")


@cli.command("check-metrics")
@click.argument("module")
@click.argument("source")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds to wait for SOURCE (a URL).")
@click.pass_context
def check_metrics(ctx: click.Context, module: str, source: str, timeout: float) -> None:
    """Compare MODULE's contract with what SOURCE exposes (a /metrics URL, a file, or - for stdin)."""
    from instrumentation.check import check_exposition, fetch

    root: Path = ctx.parent.params["root"] if ctx.parent else ROOT
    try:
        modules = {m.contract.name: m.contract for m in discover(root)}
    except BuildFailed as failure:
        for error in failure.errors:
            click.echo(f"error: {error}", err=True)
        sys.exit(1)
    if module not in modules:
        click.echo(f"error: no module {module!r} (known: {', '.join(sorted(modules))})", err=True)
        sys.exit(2)
    try:
        if source.startswith(("http://", "https://")):
            text, content_type = fetch(source, timeout)
        else:
            text, content_type = (sys.stdin.read() if source == "-" else Path(source).read_text()), ""
        findings = check_exposition(modules[module], text, content_type)
    except (OSError, ValueError) as error:
        click.echo(f"error: cannot read metrics from {source}: {error}", err=True)
        sys.exit(2)
    for finding in findings:
        click.echo(str(finding))
    problems = sum(1 for f in findings if f.severity == "problem")
    declared = len(modules[module].metrics)
    click.echo(f"{module}: {declared} declared metrics, {problems} problem(s), {len(findings) - problems} note(s)")
    sys.exit(1 if problems else 0)


@cli.command("demo")
@click.option("--port-offset", type=int, default=0, show_default=True, help="Added to every module's port.")
@click.option("--port", "overrides", multiple=True, metavar="MODULE=PORT", help="Serve MODULE on PORT instead.")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets a Prometheus in docker reach it on Linux.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the traffic.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
@click.pass_context
def demo(ctx: click.Context, port_offset: int, overrides: tuple[str, ...], bind: str, seed: int,
         duration: float | None) -> None:
    """Serve every module's metrics with realistic, moving demo traffic until Ctrl-C."""
    import time

    from instrumentation.demo import start_demo

    root: Path = ctx.parent.params["root"] if ctx.parent else ROOT
    try:
        contracts = [m.contract for m in discover(root)]
    except BuildFailed as failure:
        for error in failure.errors:
            click.echo(f"error: {error}", err=True)
        sys.exit(1)
    ports = {c.name: c.target.port + port_offset for c in contracts}
    for override in overrides:
        name, _, port = override.partition("=")
        if name not in ports or not port.isdigit():
            raise click.BadParameter(f"{override!r}: expected MODULE=PORT with MODULE one of {', '.join(ports)}",
                                     param_hint="--port")
        ports[name] = int(port)
    try:
        running = start_demo(contracts, ports, bind=bind, seed=seed)
    except OSError as error:
        click.echo(f"error: cannot serve the demo: {error}", err=True)
        sys.exit(1)
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
@click.option("--strict", is_flag=True, help="Also exit 1 when a panel has no data.")
@click.option("--range", "range_", default="15m", show_default=True, help="Time range to query, ending now.")
@click.pass_context
def verify_command(ctx: click.Context, prometheus_url: str, strict: bool, range_: str) -> None:
    """Run every target of every generated dashboard against Prometheus; print ok / no data / error."""
    import json
    import time

    from dashbuild.provisioning import DASHBOARDS_DIR
    from dashbuild.verify import PrometheusClient, parse_duration, verify

    root: Path = ctx.parent.params["root"] if ctx.parent else ROOT
    try:
        range_seconds = parse_duration(range_)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--range") from None
    dashboards = [json.loads(p.read_text()) for p in sorted((root / DASHBOARDS_DIR).glob("*.json"))]
    try:
        results = verify(PrometheusClient(prometheus_url), dashboards, time.time(), range_seconds)
    except OSError as error:
        click.echo(f"error: cannot query {prometheus_url}: {error}", err=True)
        sys.exit(1)
    current = None
    for result in results:
        if result.dashboard != current:
            current = result.dashboard
            click.echo(current)
        click.echo(f"  {result.status:<8} {result.panel}" + (f"  ({result.detail})" if result.detail else ""))
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "no data", "error")}
    click.echo(f"{len(dashboards)} dashboards, {len(results)} panels: {counts['ok']} ok, {counts['no data']} no data, "
               f"{counts['error']} error")
    sys.exit(1 if counts["error"] or (strict and counts["no data"]) else 0)


if __name__ == "__main__":
    cli()
