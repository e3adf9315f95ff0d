"""`python build.py preview --serve`: the preview folder served on 127.0.0.1, each page reloading itself when a
newer preview has been written (watch mode runs `preview` again on every save of a module file)."""

from __future__ import annotations

import http.server
import os
import threading
from functools import partial
from pathlib import Path

from dashbuild.preview.pages import WRITTEN_LIST

VERSION_PATH = "/__preview_version"
POLL_MS = 1000
# Added to served pages only (the files on disk stay script-free): ask for the preview's version every second,
# reload when it changed.
RELOAD_SCRIPT = (
    "<script>(function(){var seen=null;function poll(){fetch('" + VERSION_PATH + "',{cache:'no-store'})"
    ".then(function(r){return r.text()}).then(function(v){if(seen!==null&&v!==seen){location.reload()}seen=v})"
    ".catch(function(){}).finally(function(){setTimeout(poll," + str(POLL_MS) + ")})}poll()})();</script>"
)


def preview_version(folder: Path) -> str:
    """Return what changes each time a preview is written into `folder` (its list of pages' change time)."""
    try:
        stat = (folder / WRITTEN_LIST).stat()
    except OSError:
        return "none"
    return f"{stat.st_mtime_ns}-{stat.st_size}-{stat.st_ino}"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; HTML pages get the reload script, the version answers at VERSION_PATH."""

    folder: Path

    def do_GET(self) -> None:
        """Answer the version, an HTML page with the reload script, or any other file as it is."""
        path = self.path.split("?", 1)[0]
        if path == VERSION_PATH:
            self._send(preview_version(self.folder).encode(), "text/plain")
            return
        name = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (self.folder / name).resolve()
        if target.suffix == ".html" and target.parent == self.folder.resolve() and target.is_file():
            try:
                page = target.read_bytes()
            except OSError:
                self.send_error(404)
                return
            self._send(page.replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1), "text/html; charset=utf-8")
            return
        super().do_GET()

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Say nothing per request: the terminal shows the rebuilds."""


def start_server(folder: Path, port: int) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `folder` on 127.0.0.1:`port` (0: any free port) in a daemon thread; return the server and its URL."""
    handler = type("PreviewHandler", (_Handler,), {"folder": folder})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=os.fspath(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="preview-server", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"
