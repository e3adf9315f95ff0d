"""What `python build.py preview` and `diff --html` do once their options are read: choose the data, make and
write the pages, take the screenshots, serve and remake them; each failure one `error:` line and an exit."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import click

from dashbuild.cli_support import exit_with_error
from dashbuild.preview.pages import INDEX, DataSource, aligned_end, generated_dashboards, preview_pages, write_pages
from dashbuild.preview.review import review_pages
from dashbuild.preview.sources import DEMO_RANGE_SECONDS, demo_source, prometheus_source
from dashbuild.transaction import describe
from dashbuild.verify_client import PrometheusUnavailable
from moddash.contract import ModuleContract


@attrs.frozen
class DataOptions:
    """Where a preview's data comes from and the time range it shows, as the command line gave them."""

    prometheus_url: str | None = None
    seconds: float | None = None  # None: each dashboard's own range (with a Prometheus), the demo's default
    at: float | None = None  # the end of the range; None: now, to the minute
    seed: int = 0
    timeout: float = 10.0

    def arguments(self) -> list[str]:
        """Return these options as `preview` arguments, for a child process making the same pages."""
        given = [("--prometheus", self.prometheus_url),
                 ("--range", None if self.seconds is None else f"{round(self.seconds * 1000)}ms"),
                 ("--at", None if self.at is None else repr(self.at))]
        return [*(word for option, value in given if value is not None for word in (option, value)),
                "--seed", str(self.seed), "--timeout", repr(self.timeout)]


def data_source(options: DataOptions, contracts: Sequence[ModuleContract], files: Mapping[str, bytes]
                ) -> tuple[DataSource, float, float | None]:
    """Return the data source, the end of the range and its length (None: each dashboard's own); exit 2 with one
    line when the Prometheus URL cannot be used."""
    end = options.at if options.at is not None else aligned_end(time.time())
    if options.prometheus_url is not None:
        try:
            return prometheus_source(options.prometheus_url, options.timeout), end, options.seconds
        except PrometheusUnavailable as error:
            exit_with_error(str(error), 2)
    history = options.seconds or DEMO_RANGE_SECONDS
    return demo_source(contracts, files, end, history, options.seed), end, history


def write_or_exit(out: Path, pages: Mapping[str, bytes]) -> None:
    """Write the pages into `out`, saying which earlier pages were removed; exit 1 with one line when the disk
    refuses."""
    try:
        removed = write_pages(out, pages)
    except OSError as error:
        exit_with_error(f"cannot write the pages into {out}: {describe(error)}")
    for name in removed:
        click.echo(f"removed: {out / name}")


def preview(out: Path, options: DataOptions, contracts: Sequence[ModuleContract], files: Mapping[str, bytes]) -> None:
    """Make and write a page per generated dashboard among a build's `files`, and the index."""
    source, end, seconds = data_source(options, contracts, files)
    try:
        pages = preview_pages(generated_dashboards(files), source, end, seconds)
    except PrometheusUnavailable as error:
        exit_with_error(str(error), 2)
    write_or_exit(out, pages)
    click.echo(f"{len(pages) - 1} dashboard page(s): {out / INDEX}")


def review(out: Path, options: DataOptions, base: str, before: Mapping[str, bytes], contracts: Sequence[ModuleContract],
           files: Mapping[str, bytes], png: bool) -> None:
    """Write the before/after page of each changed dashboard and the index; with `png`, a screenshot of each."""
    source, end, seconds = data_source(options, contracts, files)
    try:
        pages = review_pages(before, files, base, source, end, seconds)
    except PrometheusUnavailable as error:
        exit_with_error(str(error), 2)
    write_or_exit(out, pages)
    click.echo(f"{len(pages) - 1} changed dashboard(s): {out / INDEX}")
    if png:
        screenshots(out, sorted(name for name in pages if name != INDEX))


def screenshots(folder: Path, names: Sequence[str]) -> None:
    """Write `<page>.png` beside each named page, taken with headless Chromium; exit 1 with one line on failure."""
    from dashbuild.preview.browser import Browser, BrowserError
    from dashbuild.preview.page import PAGE_WIDTH

    try:
        with Browser() as browser:
            for name in names:
                report = browser.open((folder / name).resolve().as_uri(), width=PAGE_WIDTH)
                target = folder / name.replace(".html", ".png")
                target.write_bytes(report.png)
                for problem in report.problems:
                    click.echo(f"warning: {name}: {problem}", err=True)
                click.echo(f"wrote {target}")
    except BrowserError as error:
        exit_with_error(str(error))
    except OSError as error:
        exit_with_error(f"cannot write a PNG into {folder}: {describe(error)}")


def serve(root: Path, folder: Path, port: int, options: DataOptions, build_script: Path, lock_timeout: float,
          sources: Path) -> None:
    """Serve `folder` on 127.0.0.1:`port` and make the pages again, in a fresh process, after every save of the
    project's inputs (watch mode's loop), until Ctrl-C."""
    from dashbuild.preview.serve import start_server
    from dashbuild.watch import WatchConfig, input_folders, watch

    root = root.resolve()
    command = (sys.executable, str(build_script), "--root", str(root), "--lock-timeout", repr(lock_timeout),
               "preview", "--out", str(folder.resolve()), *options.arguments())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        server, url = start_server(folder.resolve(), port)
    except OSError as error:
        exit_with_error(f"cannot serve the previews on 127.0.0.1:{port}: {describe(error)}")
    click.echo(f"serving the previews at {url} (pages reload themselves after each save)")
    try:
        watch(WatchConfig(root, command, input_folders(root, sources), 200, (), {"PYTHONDONTWRITEBYTECODE": "1"},
                          intro="the previews are made again after each save"))
    finally:
        server.shutdown()
        server.server_close()
