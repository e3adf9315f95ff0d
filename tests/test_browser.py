"""The preview browser driver against a real headless Chromium: screenshots agree with the rectangles a page draws,
problems are reported one line each, requests that would leave the machine are blocked, expressions return their
JSON value, a page that never loads times out, and no Chromium process outlives its Browser."""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashbuild.preview.browser import Browser, BrowserError, screenshot_file
from dashbuild.preview.png_pixels import Image, border_coverage, decode_png, has_border

WIDTH = 1200
WHITE = (255, 255, 255)
# (x, y, w, h), border colour, fill colour; the last one lies far below the 900-pixel viewport.
BOXES = [
    ((8, 8, 400, 240), (61, 113, 217), (20, 20, 20)),
    ((420, 8, 772, 240), (230, 60, 40), (240, 240, 200)),
    ((8, 300, 1184, 500), (40, 170, 80), (10, 40, 60)),
    ((300, 2400, 600, 300), (150, 50, 200), (255, 220, 0)),
]


def _css(colour: tuple[int, int, int]) -> str:
    """Return a colour as CSS rgb()."""
    return f"rgb({colour[0]}, {colour[1]}, {colour[2]})"


def _page(tmp_path: Path, body: str, name: str = "page.html") -> str:
    """Write an HTML page with `body` into tmp_path and return its file:// URL."""
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><head><meta charset=utf-8></head>"
                    f"<body style='margin:0;background:#fff'>{body}</body></html>")
    return path.as_uri()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the tests that only open pages."""
    with Browser(timeout=20) as started:
        yield started


@pytest.fixture(scope="module")
def boxes_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A page of bordered boxes at known rectangles, with a title in each and a gradient between them."""
    divs = "".join(
        f"<div style='position:absolute;box-sizing:border-box;left:{x}px;top:{y}px;width:{w}px;height:{h}px;"
        f"border:2px solid {_css(border)};background:{_css(fill)};color:#888;padding:6px'>Panel {x},{y}</div>"
        for (x, y, w, h), border, fill in BOXES)
    gradient = ("<div style='position:absolute;left:0;top:1000px;width:1200px;height:200px;"
                "background:linear-gradient(30deg,#123,#9c4,#f0f)'></div>")
    return _page(tmp_path_factory.mktemp("boxes"), divs + gradient)


@pytest.fixture(scope="module")
def boxes_png(browser: Browser, boxes_url: str) -> Image:
    """The decoded screenshot of the page of boxes."""
    report = browser.open(boxes_url, width=WIDTH)
    assert report.problems == ()
    return decode_png(report.png)


def test_screenshot_covers_the_whole_page_at_the_width(boxes_png: Image) -> None:
    assert (boxes_png.width, boxes_png.height) == (WIDTH, 2700)


def test_screenshot_pixels_are_the_colours_at_the_rects(boxes_png: Image) -> None:
    for (x, y, w, h), border, fill in BOXES:
        assert boxes_png.pixel(x, y)[:3] == border
        assert boxes_png.pixel(x + w - 1, y + h - 1)[:3] == border
        assert boxes_png.pixel(x + w // 2, y + h // 2) == (*fill, 255)
        assert boxes_png.pixel(x - 1, y + h // 2)[:3] == WHITE
    assert boxes_png.pixel(1199, 2699)[:3] == WHITE


def test_border_check_agrees_with_the_rects_and_not_with_shifted_ones(boxes_png: Image) -> None:
    for (x, y, w, h), border, _ in BOXES:
        assert has_border(boxes_png, (x, y, w, h), border), border_coverage(boxes_png, (x, y, w, h), border)
        assert has_border(boxes_png, (x + 1, y - 1, w - 1, h + 2), border)  # within the pixel or two of slack
        assert not has_border(boxes_png, (x + 6, y, w, h), border)
        assert not has_border(boxes_png, (x, y + 12, w, h), border)
        assert not has_border(boxes_png, (x, y, w - 20, h), border)
        assert not has_border(boxes_png, (x, y, w, h), (255, 0, 255))
    shifted = border_coverage(boxes_png, (8 + 6, 8, 400, 240), BOXES[0][1])
    assert shifted["top"] > 0.9 and shifted["left"] == 0.0 and shifted["right"] == 0.0


def test_a_compact_png_has_the_same_pixels(browser: Browser, boxes_url: str, boxes_png: Image) -> None:
    compact = browser.open(boxes_url, width=WIDTH, compact_png=True).png
    assert decode_png(compact).rows == boxes_png.rows


def test_console_errors_exceptions_and_failed_loads_are_reported(browser: Browser, tmp_path: Path) -> None:
    url = _page(tmp_path, "<script>console.error('panel failed:', 42); console.warn('slow\\nquery');"
                          "console.log('fine'); console.info('fine too');</script>"
                          "<img src='missing.png'><script>throw new Error('boom')</script>")
    problems = browser.open(url, screenshot=False).problems
    assert all("\n" not in problem for problem in problems)
    assert sorted(problems) == sorted([
        f"console.error: panel failed: 42 ({url}:1)",
        f"console.warn: slow query ({url}:1)",
        f"uncaught exception: Error: boom ({url}:1)",
        f"failed to load {tmp_path.as_uri()}/missing.png: net::ERR_FILE_NOT_FOUND",
    ])


def test_a_request_off_the_machine_is_reported_and_blocked(browser: Browser, tmp_path: Path) -> None:
    url = _page(tmp_path, "<img id=remote src='http://example.invalid/x.png'>")
    report = browser.open(url, screenshot=False, evaluate="document.getElementById('remote').naturalWidth")
    assert report.problems == ("blocked request to http://example.invalid/x.png (a preview must not leave this "
                               "machine)",)
    assert report.value == 0


def test_an_expression_returns_its_json_value(browser: Browser, tmp_path: Path) -> None:
    url = _page(tmp_path, "<div class=panel>CPU</div><div class=panel>Memory</div>")
    report = browser.open(url, screenshot=False, evaluate=(
        "({titles: [...document.querySelectorAll('.panel')].map(d => d.textContent),"
        " width: innerWidth, ratio: devicePixelRatio, nothing: null})"))
    assert report == type(report)(problems=(), value={"titles": ["CPU", "Memory"], "width": 1600, "ratio": 1,
                                                      "nothing": None}, png=b"")


def test_an_awaited_promise_and_a_throwing_expression(browser: Browser, tmp_path: Path) -> None:
    url = _page(tmp_path, "<p>x</p>")
    awaited = browser.open(url, screenshot=False,
                           evaluate="new Promise(done => setTimeout(() => done([1, 'two', {three: 3}]), 50))")
    assert awaited.value == [1, "two", {"three": 3}]
    thrown = browser.open(url, screenshot=False, evaluate="(() => { throw new Error('no panels') })()")
    assert (thrown.value, thrown.problems) == (None, ("evaluated expression threw: Error: no panels",))


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    """Serves a page whose script never arrives: the request is held until the test releases it."""

    release = threading.Event()

    def do_GET(self) -> None:
        """Answer the page at once and hold any other request."""
        if self.path == "/":
            body = b"<!doctype html><p>waiting</p><script src='/never.js'></script>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.release.wait(30)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


def test_a_page_that_never_loads_times_out_and_the_browser_goes_on(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with Browser(timeout=3) as browser:
            started = time.monotonic()
            expected = f"^timed out after 3 s waiting for the load event of {re.escape(url)}$"
            with pytest.raises(BrowserError, match=expected):
                browser.open(url)
            assert time.monotonic() - started < 6
            assert browser.open(_page(tmp_path, "<p>next</p>"), evaluate="1 + 1").value == 2
    finally:
        _StallingHandler.release.set()
        server.shutdown()
        server.server_close()


def _live_processes_in_group(group: int) -> list[int]:
    """Return the processes of a process group that are still running (not zombies waiting for a parent)."""
    live = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            live.append(int(entry.name))
    return live


def _processes_naming(folder: str) -> list[int]:
    """Return the processes whose command line names `folder`."""
    named = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and folder.encode() in (entry / "cmdline").read_bytes():
                named.append(int(entry.name))
        except OSError:
            continue
    return named


def test_no_chromium_process_or_folder_outlives_the_browser(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="the test's own failure"), Browser(timeout=20) as browser:
        group, home = browser.pid, browser._chromium.home
        assert browser.open(_page(tmp_path, "<p>one</p>"), screenshot=False).problems == ()
        assert _live_processes_in_group(group) and _processes_naming(home)
        raise RuntimeError("the test's own failure")
    assert browser.pid == 0
    assert _live_processes_in_group(group) == []
    assert _processes_naming(home) == []
    assert not Path(home).exists()
    with pytest.raises(BrowserError, match="already been closed"):
        browser.open(_page(tmp_path, "<p>two</p>"))


def test_a_missing_chromium_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHROMIUM", "/nonexistent")
    with pytest.raises(BrowserError) as caught:
        Browser()
    assert str(caught.value) == "CHROMIUM=/nonexistent is not an executable file"
    with pytest.raises(BrowserError, match=r"^CHROMIUM=/nonexistent is not an executable file$"):
        screenshot_file(tmp_path / "page.html", tmp_path / "page.png")


def _fake_chromium(tmp_path: Path, script: str) -> str:
    """Write an executable shell script standing in for Chromium and return its path."""
    path = tmp_path / "fake-chromium"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


def test_a_browser_that_fails_to_start_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHROMIUM", _fake_chromium(tmp_path, "echo 'Missing X server or $DISPLAY' >&2; exit 3"))
    with pytest.raises(BrowserError, match=r"^Chromium ended unexpectedly \(exit code 3\): Missing X server or "
                                           r"\$DISPLAY$"):
        Browser(timeout=10)


def test_a_browser_that_never_answers_times_out_and_is_killed(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setenv("CHROMIUM", _fake_chromium(tmp_path, f"echo $$ > {tmp_path}/pid; exec sleep 60"))
    started = time.monotonic()
    with pytest.raises(BrowserError, match=r"^timed out after 1 s waiting for Chromium to start$"):
        Browser(timeout=1)
    assert time.monotonic() - started < 4
    assert _live_processes_in_group(int((tmp_path / "pid").read_text())) == []


def test_screenshot_file_writes_the_png(tmp_path: Path) -> None:
    page = tmp_path / "dashboard.html"
    page.write_text("<!doctype html><body style='margin:0;background:rgb(1, 2, 3)'><p>panel</p></body>")
    assert screenshot_file(page, tmp_path / "dashboard.png", width=640) == []
    image = decode_png((tmp_path / "dashboard.png").read_bytes())
    assert (image.width, image.height, image.pixel(639, 899)) == (640, 900, (1, 2, 3, 255))
