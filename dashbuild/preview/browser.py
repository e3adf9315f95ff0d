"""Open pages in headless Chromium and report what went wrong on them: console errors and warnings, uncaught
exceptions, failed loads and requests that would leave the machine (blocked); optionally evaluate an expression and
take a full-page PNG screenshot."""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import attrs

from dashbuild.preview.cdp import BrowserError, Chromium, Json, chromium_executable

__all__ = ["Browser", "BrowserError", "PageReport", "chromium_executable", "is_local", "screenshot_file"]

LOCAL_SCHEMES = frozenset({"file", "data", "about", "blob"})
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
# The console's method names, by the type the protocol reports.
REPORTED_CONSOLE = {"error": "error", "warning": "warn", "assert": "assert"}
VIEWPORT_HEIGHT = 900
CLOSE_TARGET_LIMIT = 5.0
LONGEST_TEXT = 300
TWO_FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


@attrs.frozen
class PageReport:
    """What one page showed: its problems (one line each), the evaluated value, and the screenshot."""

    problems: tuple[str, ...]
    value: Any
    png: bytes


def is_local(url: str) -> bool:
    """Tell whether a self-contained preview may request `url`: file, data, about or blob, or HTTP on this host."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS


def _one_line(text: str) -> str:
    """Collapse whitespace so that one problem is one line, and cut very long texts."""
    flat = " ".join(text.split())
    return flat if len(flat) <= LONGEST_TEXT else flat[:LONGEST_TEXT - 1] + "…"


def _where(url: str, line: int | None) -> str:
    """Return ' (url:line)' for a 0-based line, or ' (url)', or nothing when the place is unknown."""
    if not url:
        return ""
    return f" ({url}:{line + 1})" if line is not None else f" ({url})"


def _remote_text(value: Json) -> str:
    """Render a console argument as the console would: primitives by value, objects by description."""
    if "value" in value:
        return str(value["value"])
    return str(value.get("description") or value.get("unserializableValue") or value.get("type", "?"))


def _exception_text(details: Json) -> str:
    """Return the first line of a thrown value's description, e.g. `Error: boom`."""
    exception = details.get("exception") or {}
    described = exception.get("description") or exception.get("value") or details.get("text", "")
    return str(described).splitlines()[0] if str(described) else "exception"


class _PageWatch:
    """The event handler of one page's session: it collects problems, answers paused requests and notes loads."""

    def __init__(self, chromium: Chromium, session: str) -> None:
        self.chromium = chromium
        self.session = session
        self.problems: list[str] = []
        self.loads: set[tuple[str, str]] = set()
        self.crashed = False
        self._urls: dict[str, str] = {}
        self._blocked: set[str] = set()

    def __call__(self, method: str, params: Json) -> None:
        """Handle one event of the page's session."""
        if method == "Runtime.consoleAPICalled":
            self._console(params)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self._add(f"uncaught exception: {_exception_text(details)}",
                      _where(details.get("url", ""), details.get("lineNumber")))
        elif method == "Log.entryAdded":
            self._log(params.get("entry", {}))
        elif method == "Network.requestWillBeSent":
            self._urls[params["requestId"]] = params.get("request", {}).get("url", "")
        elif method == "Network.loadingFailed":
            self._failed(params)
        elif method == "Fetch.requestPaused":
            self._paused(params)
        elif method == "Network.webSocketCreated":
            self._websocket(params.get("url", ""))
        elif method == "Page.lifecycleEvent" and params.get("name") == "load":
            self.loads.add((params.get("frameId", ""), params.get("loaderId", "")))
        elif method == "Inspector.targetCrashed":
            self.crashed = True

    def _add(self, text: str, where: str = "") -> None:
        self.problems.append(_one_line(text) + where)

    def _console(self, params: Json) -> None:
        kind = params.get("type", "")
        if kind not in REPORTED_CONSOLE:
            return
        text = " ".join(_remote_text(arg) for arg in params.get("args", []))
        frame = ((params.get("stackTrace") or {}).get("callFrames") or [{}])[0]
        self._add(f"console.{REPORTED_CONSOLE[kind]}: {text}", _where(frame.get("url", ""), frame.get("lineNumber")))

    def _log(self, entry: Json) -> None:
        # A failed load is also reported by the network domain, with its URL and reason; once is enough.
        if entry.get("level") != "error" or entry.get("source") == "network":
            return
        self._add(f"{entry.get('source', 'browser')} error: {entry.get('text', '')}",
                  _where(entry.get("url", ""), entry.get("lineNumber")))

    def _failed(self, params: Json) -> None:
        request = params.get("requestId", "")
        if request in self._blocked:
            return
        url = self._urls.get(request, "(unknown URL)")
        cancelled = " (cancelled)" if params.get("canceled") else ""
        self._add(f"failed to load {url}: {params.get('errorText', 'unknown error')}{cancelled}")

    def _paused(self, params: Json) -> None:
        url = params.get("request", {}).get("url", "")
        if is_local(url):
            self.chromium.send("Fetch.continueRequest", {"requestId": params["requestId"]}, self.session)
            return
        self._blocked.add(params.get("networkId", ""))
        self.chromium.send("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
                           self.session)
        self._add(f"blocked request to {url} (a preview must not leave this machine)")


    def _websocket(self, url: str) -> None:
        # Interception does not see WebSockets; the browser's host rules leave them nothing to reach but this host.
        host = urlsplit(url).hostname
        fate = "opened to a local host" if host in LOCAL_HOSTS else "refused: it would leave this machine"
        self._add(f"websocket to {url} ({fate}; a preview must not need one)")


class Browser:
    """One headless Chromium for many pages; use as a context manager so that it always ends."""

    def __init__(self, timeout: float = 30.0) -> None:
        """Start Chromium; every later step (start-up, one page) must finish within `timeout` seconds."""
        self.timeout = timeout
        self._chromium = Chromium(timeout)

    @property
    def pid(self) -> int:
        """Return the browser's process id, which is its process group id too; 0 once closed."""
        return self._chromium.pid

    def __enter__(self) -> Browser:
        """Return the started browser."""
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        """Close the browser, also when the block raised."""
        self.close()

    def close(self) -> None:
        """End Chromium and every process it started, and remove its temporary folder."""
        self._chromium.close()

    def open(self, url: str, *, width: int = 1600, evaluate: str | None = None,
             screenshot: bool = True, compact_png: bool = False) -> PageReport:
        """Load `url` in a new tab `width` CSS pixels wide and wait for its load event and two frames; then evaluate
        the expression (awaiting a promise) and take a full-page screenshot, and report the problems seen.

        The PNG is encoded for speed (Chromium's fast encoder: about 3× quicker to take and 5× quicker to decode, but
        bigger), or with `compact_png` for size, as for a picture posted in a pull request."""
        chromium = self._chromium
        deadline = time.monotonic() + self.timeout
        target = chromium.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
        session = ""
        try:
            session = chromium.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                    deadline=deadline)["sessionId"]
            watch = _PageWatch(chromium, session)
            chromium.handlers[session] = watch
            return _show(chromium, watch, _Visit(url, width, evaluate, screenshot, compact_png, deadline))
        finally:
            chromium.handlers.pop(session, None)
            self._close_target(target)

    def _close_target(self, target: str) -> None:
        """Close a page's tab; a browser that cannot even do that is ended, so no later page waits on it."""
        try:
            self._chromium.call("Target.closeTarget", {"targetId": target},
                                deadline=time.monotonic() + min(CLOSE_TARGET_LIMIT, self.timeout))
        except BrowserError:
            self._chromium.close()


@attrs.frozen
class _Visit:
    """What `Browser.open` was asked to do with one page, and by when."""

    url: str
    width: int
    evaluate: str | None
    screenshot: bool
    compact_png: bool
    deadline: float


def _show(chromium: Chromium, watch: _PageWatch, visit: _Visit) -> PageReport:
    """Drive one attached page through loading, evaluation and the screenshot."""
    session, url, deadline = watch.session, visit.url, visit.deadline

    def call(method: str, params: Json | None = None, what: str = "") -> Json:
        return chromium.call(method, params, session, deadline=deadline, what=what)

    for domain in ("Inspector", "Page", "Runtime", "Log", "Network"):
        call(f"{domain}.enable")
    call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
    call("Page.setLifecycleEventsEnabled", {"enabled": True})
    call("Emulation.setDeviceMetricsOverride",
         {"width": visit.width, "height": VIEWPORT_HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    navigation = call("Page.navigate", {"url": url}, what=f"the navigation to {url}")
    if navigation.get("errorText"):
        raise BrowserError(f"cannot open {url}: {navigation['errorText']}")
    loaded = (navigation.get("frameId", ""), navigation.get("loaderId", ""))

    def is_loaded() -> bool:
        if watch.crashed:
            raise BrowserError(f"the page's renderer crashed while loading {url}")
        return loaded in watch.loads

    chromium.wait(is_loaded, deadline, f"the load event of {url}")
    _evaluate(call, TWO_FRAMES, url)
    value = None
    if visit.evaluate is not None:
        value, error = _evaluate(call, visit.evaluate, url)
        if error:
            watch.problems.append(_one_line(f"evaluated expression threw: {error}"))
    png = _screenshot(call, visit) if visit.screenshot else b""
    return PageReport(problems=tuple(watch.problems), value=value, png=png)


def _evaluate(call: Callable[..., Json], expression: str, url: str) -> tuple[Any, str]:
    """Evaluate an expression in the page, awaiting a promise; return its JSON value and the error it threw."""
    result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                  what=f"an expression evaluated in {url}")
    if "exceptionDetails" in result:
        return None, _exception_text(result["exceptionDetails"])
    return result.get("result", {}).get("value"), ""


def _screenshot(call: Callable[..., Json], visit: _Visit) -> bytes:
    """Capture the whole page, beyond the viewport, at one device pixel per CSS pixel."""
    size = call("Page.getLayoutMetrics")["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": max(visit.width, math.ceil(size["width"])), "height": math.ceil(size["height"]),
            "scale": 1}
    shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip,
                                           "optimizeForSpeed": not visit.compact_png},
                what=f"the screenshot of {visit.url}")
    return base64.b64decode(shot["data"])


def screenshot_file(page: Path, out: Path, width: int = 1600) -> list[str]:
    """Write a full-page PNG of the HTML file `page` to `out` and return the problems seen on the page."""
    with Browser() as browser:
        report = browser.open(page.resolve().as_uri(), width=width, compact_png=True)
    out.write_bytes(report.png)
    return list(report.problems)
