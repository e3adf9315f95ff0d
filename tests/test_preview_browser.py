"""`python build.py preview` and `diff --html` as a user runs them, every page opened in real headless Chromium:
no console error and no request off the machine, every panel drawn where it has data, and the panels' rectangles in
the screenshot where the dashboards' JSON puts them on Grafana's grid."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dashbuild.preview.browser import Browser
from dashbuild.preview.page import COLUMN_PX, GAP_PX, PANEL_BORDER, ROW_PX
from dashbuild.preview.png_pixels import decode_png, has_border
from tests.conftest import REPO, copy_repository, free_port, run_build
from tests.test_panel_kinds import MODULE as KINDS_MODULE

# A fixed end, so that the pages are the same on every run (the demo's traffic follows the clock).
AT = "1764590400"
# Where a test needs pages but not every panel's data: two minutes of demo traffic cost a fraction of the default.
SHORT = "2m"
PANELS_JS = """(() => {
  if (%s) document.querySelectorAll('details.row').forEach(d => { d.open = true; });
  const grid = document.querySelector('.grid').getBoundingClientRect();
  return [...document.querySelectorAll('section.panel')].map(p => {
    const r = p.getBoundingClientRect();
    const block = p.parentElement.getBoundingClientRect();
    return {id: p.dataset.panelId, type: p.dataset.type, grid: p.dataset.grid.split(',').map(Number),
            series: +p.dataset.series, marks: +p.dataset.marks, errors: +p.dataset.errors,
            nodata: p.querySelector(".nodata") !== null, visible: p.checkVisibility(),
            rect: [r.left - grid.left, r.top - grid.top, r.width, r.height],
            page: [r.left + scrollX, r.top + scrollY, r.width, r.height], block: block.top - grid.top};
  });
})()"""
STEP = COLUMN_PX + GAP_PX
ROW_STEP = ROW_PX + GAP_PX


def _colour(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


@pytest.fixture(scope="module")
def previews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder of the repository's previews made from the demo's data, nothing running."""
    root = copy_repository(tmp_path_factory.mktemp("preview") / "repo")
    out = root / "pages"
    done = run_build(root, "preview", "--out", str(out), "--at", AT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"{out / 'index.html'}")
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Return one headless Chromium for the module's pages."""
    with Browser(timeout=60) as chromium:
        yield chromium


def _dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((REPO / "provisioning" / "dashboards").glob("*.json"))]


@pytest.mark.parametrize("dashboard", _dashboards(), ids=lambda d: str(d["uid"]))
def test_each_page_draws_every_panel_where_the_json_puts_it(previews: Path, browser: Browser,
                                                            dashboard: dict[str, Any]) -> None:
    page = previews / f"{dashboard['uid']}.html"
    report = browser.open(page.as_uri(), evaluate=PANELS_JS % "false", width=1600)
    assert report.problems == ()
    panels = {p["id"]: p for p in report.value}
    image = decode_png(report.png)
    top_level = [p for p in dashboard["panels"] if p["type"] != "row"]
    nested = [c for p in dashboard["panels"] if p["type"] == "row" for c in p.get("panels") or []]
    assert set(panels) == {str(p["id"]) for p in top_level + nested}
    for panel in top_level:
        shown = panels[str(panel["id"])]
        grid = panel["gridPos"]
        # Where Grafana draws it: x and y on the grid, from the JSON alone.
        expected = [grid["x"] * STEP, grid["y"] * ROW_STEP, grid["w"] * STEP - GAP_PX, grid["h"] * ROW_STEP - GAP_PX]
        assert shown["rect"] == expected, panel["title"]
        x, y, w, h = (round(v) for v in shown["page"])
        assert has_border(image, (x, y, w, h), _colour(PANEL_BORDER)), f"{panel['title']}: no border at {x, y, w, h}"
        assert shown["errors"] == 0, panel["title"]
        assert shown["series"] > 0 and shown["marks"] > 0 and not shown["nodata"], panel["title"]
    for panel in nested:
        assert not panels[str(panel["id"])]["visible"], f"{panel['title']} shows in a collapsed row"


@pytest.mark.parametrize("dashboard", _dashboards(), ids=lambda d: str(d["uid"]))
def test_opening_every_row_draws_its_panels_in_place(previews: Path, browser: Browser,
                                                      dashboard: dict[str, Any]) -> None:
    page = previews / f"{dashboard['uid']}.html"
    report = browser.open(page.as_uri(), evaluate=PANELS_JS % "true", width=1600)
    assert report.problems == ()
    panels = {p["id"]: p for p in report.value}
    image = decode_png(report.png)
    for row in (p for p in dashboard["panels"] if p["type"] == "row"):
        for child in row.get("panels") or []:
            shown = panels[str(child["id"])]
            grid = child["gridPos"]
            assert shown["visible"], child["title"]
            # Within its row, as Grafana lays out an opened row: the row's header is one grid row.
            assert shown["rect"][0] == grid["x"] * STEP
            assert shown["rect"][1] - shown["block"] == (grid["y"] - row["gridPos"]["y"] - 1) * ROW_STEP
            assert shown["rect"][2:] == [grid["w"] * STEP - GAP_PX, grid["h"] * ROW_STEP - GAP_PX]
            assert has_border(image, tuple(round(v) for v in shown["page"]), _colour(PANEL_BORDER))
            assert shown["errors"] == 0, child["title"]
            assert shown["series"] > 0 and shown["marks"] > 0, child["title"]


def test_the_index_links_every_page_and_pages_need_no_network(previews: Path, browser: Browser) -> None:
    report = browser.open((previews / "index.html").as_uri(),
                          evaluate="[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))",
                          screenshot=False)
    assert report.problems == ()
    assert sorted(report.value) == sorted(f"{d['uid']}.html" for d in _dashboards())
    for page in previews.glob("*.html"):
        text = page.read_text()
        assert "<script" not in text and not re.search(r"(src|href)=\"(https?:)?//", text), page.name


def test_diff_html_outlines_the_changed_panel_and_makes_a_png(tmp_path: Path, browser: Browser) -> None:
    root = copy_repository(tmp_path / "repo")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    module = root / "dashboards" / "prompt_manager.py"
    text = module.read_text()
    assert 'title="Rate limit hits/s"' in text
    module.write_text(text.replace('title="Rate limit hits/s"', 'title="Rate-limit hits per second"'))
    out = tmp_path / "review"
    done = run_build(root, "diff", "--html", str(out), "--png", "--at", AT, "--range", SHORT)
    assert done.returncode == 0, done.stderr
    assert "1 changed dashboard(s)" in done.stdout
    page = out / "prompt-manager.html"
    report = browser.open(page.as_uri(), evaluate="""[...document.querySelectorAll('section.panel.changed')]
        .map(p => p.querySelector('h3').textContent)""", screenshot=False)
    assert report.problems == ()
    assert report.value == ["Rate limit hits/s", "Rate-limit hits per second"]
    image = decode_png((out / "prompt-manager.png").read_bytes())
    assert image.width == 1600 and image.height > 600
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "index.html", "prompt-manager.html", "prompt-manager.png"]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        body: bytes = answer.read()
    return body.decode()


def test_serve_makes_the_pages_again_after_a_save_and_pages_reload_themselves(tmp_path: Path,
                                                                              browser: Browser) -> None:
    root = copy_repository(tmp_path / "repo")
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, str(root / "build.py"), "preview", "--serve", "--port", str(port),
                                    "--out", str(tmp_path / "pages"), "--at", AT, "--range", SHORT], cwd=root, env=env,
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/prompt-manager.html"
            page = _wait(lambda: _page_with(url, "Rate limit hits/s"), log)
            assert "__preview_version" in page and "<script" in page
            assert "<script" not in (tmp_path / "pages" / "prompt-manager.html").read_text()
            before = _get(f"http://127.0.0.1:{port}/__preview_version")
            report = browser.open(url, screenshot=False, evaluate="document.title")
            assert report.problems == () and report.value == "Prompt Manager Dashboard"
            module = root / "dashboards" / "prompt_manager.py"
            module.write_text(module.read_text().replace('title="Rate limit hits/s"', 'title="Throttled per second"'))
            _wait(lambda: _page_with(url, "Throttled per second"), log)
            assert _get(f"http://127.0.0.1:{port}/__preview_version") != before
        finally:
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=60)
    assert code == 0, log.read_text()
    assert "stopped watching" in log.read_text()


def _page_with(url: str, text: str) -> str | None:
    try:
        page = _get(url)
    except (OSError, ValueError):
        return None
    return page if text in page else None


def _wait(ready: Callable[[], str | None], log: Path, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ready()
        if found is not None:
            return found
        time.sleep(0.5)
    pytest.fail(f"not ready within {timeout:g} s:\n{log.read_text()}")


def test_preview_errors_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    root = copy_repository(tmp_path / "repo")
    out = tmp_path / "pages"
    for args, expected in (
        (("--prometheus", f"http://127.0.0.1:{free_port()}"), r"^error: cannot query Prometheus at http://127\.0\.0\.1"),
        (("--range", "soon"), r"^error: Invalid value for '--range': 'soon' is not a duration like 30s"),
    ):
        done = run_build(root, "preview", "--out", str(out), "--at", AT, *args)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and re.match(expected, lines[0]), done.stderr
        assert "Traceback" not in done.stderr and not out.exists()
    # A folder that cannot be made, also for root: its parent is a file.
    (tmp_path / "file").write_text("not a folder\n")
    out = tmp_path / "file" / "pages"
    done = run_build(root, "preview", "--out", str(out), "--at", AT, "--range", SHORT)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: cannot write the pages into {out}: not a directory"]
    assert (tmp_path / "file").read_text() == "not a folder\n"


def test_every_panel_kind_and_the_overview_table_are_drawn(tmp_path: Path, browser: Browser) -> None:
    root = copy_repository(tmp_path / "repo")
    (root / "dashboards" / "kinds_demo.py").write_text(KINDS_MODULE.replace("HATCH", '"never"'))
    settings = root / "dashboards" / "settings.py"
    # Two sections at most: the overview of these four modules takes its table form.
    settings.write_text(settings.read_text().replace("SETTINGS = ProjectSettings(",
                                                     "SETTINGS = ProjectSettings(\n    overview_sections_max=2,"))
    out = tmp_path / "pages"
    done = run_build(root, "preview", "--out", str(out), "--at", AT, "--range", "5m")
    assert done.returncode == 0, done.stderr
    drawn: dict[str, list[dict[str, Any]]] = {}
    for page in ("kinds-demo.html", "modules-overview.html"):
        report = browser.open((out / page).as_uri(), evaluate=PANELS_JS % "true", screenshot=False)
        assert report.problems == ()
        drawn[page] = report.value
        for panel in report.value:
            assert panel["errors"] == 0, panel
            assert panel["marks"] > 0 or panel["series"] == 0, panel
    kinds = {p["type"]: p for p in drawn["kinds-demo.html"]}
    assert set(kinds) >= {"text", "gauge", "bargauge", "table", "heatmap", "histogram", "state-timeline",
                          "status-history", "timeseries"}
    for kind in ("gauge", "bargauge", "table", "heatmap", "histogram", "state-timeline"):
        assert kinds[kind]["series"] > 0 and kinds[kind]["marks"] > 0, kind
    # Its minimum interval is an hour: over five minutes of data, Grafana too would find nothing to show.
    assert kinds["status-history"]["series"] == 0 and kinds["status-history"]["nodata"]
    table = browser.open((out / "modules-overview.html").as_uri(), screenshot=False, evaluate="""(() => {
        document.querySelectorAll('details.row').forEach(d => { d.open = true; });
        const panel = [...document.querySelectorAll('section.panel')].find(p => p.querySelector('h3').textContent
                                                                                  === 'Modules');
        return {head: [...panel.querySelectorAll('th')].map(c => c.textContent),
                rows: [...panel.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent))};
    })()""")
    assert table.value["head"] == ["Module", "Health", "Operations/s", "Error ratio", "P95 duration", "Cost/h"]
    assert sorted(row[0] for row in table.value["rows"]) == ["kinds-demo", "llm-provider", "prompt-manager",
                                                             "prompt-security"]
    assert all(row[1] == "UP" for row in table.value["rows"])
