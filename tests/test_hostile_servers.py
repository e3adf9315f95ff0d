"""`verify` and `check-metrics` against hostile servers and bad inputs: one `error:` line, never a traceback.

Every server is a real `ThreadingHTTPServer` on 127.0.0.1 (port 0) in a thread; every CLI case runs
`python build.py` as a subprocess, as a user would.
"""

from __future__ import annotations

import gzip
import shutil
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import pytest

from moddash.instrumentation.bounded_http import FetchError, excerpt, one_line, parse_url, request
from tests.conftest import REPO, BuildRunner, free_port

Behaviour = Callable[["Handler"], None]
PROMETHEUS_EMPTY = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
HTML_PAGE = ("<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
             + "<p>The upstream server is not answering.</p>\n" * 300 + "</body>\n</html>\n").encode()


class Handler(BaseHTTPRequestHandler):
    """Hands every request to its server's behaviour."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Answer a GET with the server's behaviour."""
        self.close_connection = True
        cast(HostileServer, self.server).behaviour(self)

    def do_POST(self) -> None:
        """Answer a POST (Prometheus' query API) with the server's behaviour."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def answer(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        """Send a complete answer with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def stopping(self) -> bool:
        """Return True once the test is over."""
        return cast(HostileServer, self.server).stopped.is_set()


class HostileServer(ThreadingHTTPServer):
    """A loopback HTTP server whose every answer is `behaviour`."""

    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.behaviour = behaviour
        self.stopped = threading.Event()


@contextmanager
def serving(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `behaviour` on a random loopback port; yield the base URL; stop the server afterwards."""
    server = HostileServer(behaviour)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)  # quick to shut down
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def html_page(status: int) -> Behaviour:
    """Return a proxy's HTML error page with this status."""
    return lambda handler: handler.answer(status, HTML_PAGE, "text/html; charset=utf-8")


def fixed(body: bytes, content_type: str = "application/json", status: int = 200, **headers: str) -> Behaviour:
    """Return an answer with this body."""
    return lambda handler: handler.answer(status, body, content_type, **headers)


def drip(head: bytes, body_byte: bytes, every: float = 0.5) -> Behaviour:
    """Return a server that sends `head` byte by byte, then `body_byte` forever, one byte every `every` seconds."""
    def behaviour(handler: Handler) -> None:
        started = time.monotonic()
        data = iter(head)
        while not handler.stopping() and time.monotonic() - started < 30:
            try:
                handler.wfile.write(bytes([next(data, body_byte[0])]))
                handler.wfile.flush()
            except OSError:
                return  # the client hung up, as it should
            time.sleep(every)
    return behaviour


def stream_forever(prefix: bytes, content_type: str) -> Behaviour:
    """Return a server that streams up to 1 GiB (read until close), lazily, until the client hangs up."""
    def behaviour(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.end_headers()
        chunk = b" " * (1024 * 1024)
        try:
            handler.wfile.write(prefix)
            for _ in range(1024):
                if handler.stopping():
                    return
                handler.wfile.write(chunk)
        except OSError:
            return
    return behaviour


def cut_mid_body(handler: Handler) -> None:
    """Promise 10,000 bytes, send 100, and close the connection."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "10000")
    handler.end_headers()
    handler.wfile.write(b"{" + b" " * 99)
    handler.wfile.flush()


def redirect_loop(handler: Handler) -> None:
    """Redirect every request to itself."""
    handler.answer(302, b"", "text/plain", Location=handler.path)


def assert_one_error(result: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    """Assert the exit code and exactly one short `error:` line on stderr containing every `expected` text."""
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr) < 500, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def verify_cli(build_cli: BuildRunner, url: str, *args: str, root: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run `python build.py verify --prometheus URL ARGS`."""
    return build_cli(root, "verify", "--prometheus", url, "--range", "5m", *args)


def check_cli(build_cli: BuildRunner, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python build.py check-metrics prompt_manager SOURCE ARGS`."""
    return build_cli(REPO, "check-metrics", "prompt_manager", source, *args)


# verify ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 200])
def test_verify_html_page_is_one_line_with_its_title(status: int, build_cli: BuildRunner) -> None:
    with serving(html_page(status)) as url:
        line = assert_one_error(verify_cli(build_cli, url), 2, f"cannot query Prometheus at {url}", "502 Bad Gateway")
    assert "upstream server" not in line
    if status == 502:
        assert "HTTP 502" in line
    else:
        assert "not JSON (text/html" in line


@pytest.mark.parametrize(("body", "reason"), [
    (b"[1, 2, 3]", "not a Prometheus API answer: a JSON list"),
    (b'{"data": {}}', 'not a Prometheus API answer: no "status"'),
    (b'{"status": "success", "data": {"resultType": "vector", "result": [1]}}', "not a series"),
    (b'\xff\xfe{"status": "success"}', "not UTF-8"),
    (b'{"status": "succ', "not JSON (application/json)"),
])
def test_verify_answer_that_is_not_prometheus(body: bytes, reason: str, build_cli: BuildRunner) -> None:
    with serving(fixed(body)) as url:
        assert_one_error(verify_cli(build_cli, url), 2, url, reason)


def test_verify_prometheus_error_body_stays_a_panel_error(build_cli: BuildRunner) -> None:
    body = b'{"status":"error","errorType":"execution","error":"query\\nprocessing would load too many samples"}'
    with serving(fixed(body, status=422)) as url:
        result = verify_cli(build_cli, url)
    assert result.returncode == 1 and result.stderr == "", result.stderr
    assert "  query error  " in result.stdout and "A: execution: query processing would load" in result.stdout


def test_verify_empty_answers_are_no_data(build_cli: BuildRunner) -> None:
    with serving(fixed(PROMETHEUS_EMPTY)) as url:
        strict = verify_cli(build_cli, url, "--strict")
    assert strict.returncode == 1 and not strict.stderr
    assert "  no series  " in strict.stdout and " 0 ok, " in strict.stdout


@pytest.mark.parametrize(("url", "reason"), [
    ("http://[::1:9090", "invalid IPv6 address"),
    ("ftp://x", "unsupported scheme 'ftp'"),
    ("localhost:9090", "no scheme: write http://localhost:9090"),
    ("", "empty URL"),
])
def test_verify_malformed_url(url: str, reason: str, build_cli: BuildRunner) -> None:
    assert_one_error(verify_cli(build_cli, url), 2, f"cannot query Prometheus at {url or repr(url)}: {reason}")


def test_verify_connection_refused(build_cli: BuildRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert_one_error(verify_cli(build_cli, url), 2, url, "connection refused")


def test_verify_dns_failure(build_cli: BuildRunner) -> None:
    url = "http://no-such-host.invalid:9090"  # RFC 6761: .invalid never resolves
    assert_one_error(verify_cli(build_cli, url, "--timeout", "3"), 2, url, "cannot resolve host 'no-such-host.invalid'")


def test_verify_tls_to_a_plain_http_server(build_cli: BuildRunner) -> None:
    with serving(fixed(PROMETHEUS_EMPTY)) as url:
        https = url.replace("http://", "https://")
        assert_one_error(verify_cli(build_cli, https), 2, https, "TLS error")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a self-signed certificate")
def test_verify_tls_self_signed_certificate(build_cli: BuildRunner, tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with serving(fixed(PROMETHEUS_EMPTY), tls=context) as url:
        assert_one_error(verify_cli(build_cli, url), 2, url, "TLS error", "certificate")


def test_verify_redirect_loop(build_cli: BuildRunner) -> None:
    with serving(redirect_loop) as url:
        assert_one_error(verify_cli(build_cli, url), 2, url, "too many redirects")


def test_verify_connection_closed_mid_body(build_cli: BuildRunner) -> None:
    with serving(cut_mid_body) as url:
        assert_one_error(verify_cli(build_cli, url), 2, url, "closed the connection mid-body")


def test_verify_gzip_not_requested(build_cli: BuildRunner) -> None:
    with serving(fixed(gzip.compress(PROMETHEUS_EMPTY), Content_Encoding="gzip")) as url:
        assert_one_error(verify_cli(build_cli, url), 2, url, "Content-Encoding 'gzip', which was not requested")


def test_verify_slow_drip_is_bounded_by_timeout(build_cli: BuildRunner) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    with serving(drip(head, b" ")) as url:
        started = time.monotonic()
        result = verify_cli(build_cli, url, "--timeout", "2")
        elapsed = time.monotonic() - started
    assert_one_error(result, 2, url, "no complete answer within 2s")
    assert elapsed < 6, elapsed


def test_verify_huge_body_is_capped_in_small_memory(tmp_path: Path) -> None:
    prefix = b'{"status":"success","data":{"resultType":"vector","result":['
    with serving(stream_forever(prefix, "application/json")) as url:
        started = time.monotonic()
        result, peak_mib = run_measured(["verify", "--prometheus", url], tmp_path)
        elapsed = time.monotonic() - started
    assert_one_error(result, 2, url, "larger than the 64 MiB limit")
    assert elapsed < 15, elapsed
    assert peak_mib < 250, f"peak RSS {peak_mib} MiB"


def test_verify_huge_declared_body_is_refused_before_reading(build_cli: BuildRunner) -> None:
    def declared(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(2**31))
        handler.end_headers()
    with serving(declared) as url:
        assert_one_error(verify_cli(build_cli, url), 2, url, "over the 64 MiB limit")


def run_measured(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the CLI under a wrapper that reports its peak RSS; return the outcome and the peak in MiB."""
    wrapper = tmp_path / "measure.py"
    wrapper.write_text(textwrap.dedent("""
        import resource, subprocess, sys
        done = subprocess.run(sys.argv[1:])
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
        sys.exit(done.returncode)
    """))
    process = subprocess.run([sys.executable, str(wrapper), sys.executable, str(REPO / "build.py"), *args], cwd=REPO,
                             capture_output=True, text=True, timeout=60, check=False)
    *lines, peak_kib = process.stderr.splitlines()
    stripped = subprocess.CompletedProcess(process.args, process.returncode, process.stdout, "".join(
        line + "\n" for line in lines))
    return stripped, int(peak_kib) / 1024


@pytest.mark.parametrize(("content", "reason"), [
    ("{\n<<<<<<< HEAD\n  \"title\": \"a\"\n=======\n  \"title\": \"b\"\n>>>>>>> other\n}\n",
     "not valid JSON (merge conflict markers at line 2): resolve the conflict and run python build.py"),
    ('{"title": "x", "panels": [', "not valid JSON (Expecting value at line 1 column 27)"),
    ('["not", "a", "dashboard"]', "not a Grafana dashboard"),
    ('{"panels": [{"title": "p", "targets": [{"refId": "A"}]}]}', "not a Grafana dashboard"),
])
def test_verify_bad_dashboard_file(content: str, reason: str, repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "provisioning" / "dashboards" / "x.json").write_text(content)
    result = verify_cli(build_cli, f"http://127.0.0.1:{free_port()}", root=repo_copy)
    assert_one_error(result, 2, f"error: provisioning/dashboards/x.json: {reason}")


def test_verify_unreadable_dashboard_file(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / "provisioning" / "dashboards" / "x.json").mkdir()  # unreadable even for root, unlike chmod 000
    result = verify_cli(build_cli, f"http://127.0.0.1:{free_port()}", root=repo_copy)
    assert_one_error(result, 2, "error: provisioning/dashboards/x.json: cannot read it: Is a directory")


# check-metrics --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 200])
def test_check_metrics_html_page_is_one_line(status: int, build_cli: BuildRunner) -> None:
    with serving(html_page(status)) as url:
        line = assert_one_error(check_cli(build_cli, f"{url}/metrics"), 2,
                                f"cannot read metrics from {url}/metrics", "502 Bad Gateway")
    assert "upstream server" not in line


@pytest.mark.parametrize(("behaviour", "reason"), [
    (fixed(b"# TYPE x counter\nx_total \xff 1\n", "text/plain"), "not UTF-8 text (byte 0xff at offset 25)"),
    (fixed(b"<<<not an exposition>>>\n" * 1000, "text/plain"), "not a Prometheus exposition: invalid metric name"),
    (cut_mid_body, "closed the connection mid-body"),
    (redirect_loop, "too many redirects"),
    (fixed(gzip.compress(b"x_total 1\n"), "text/plain", Content_Encoding="gzip"), "which was not requested"),
])
def test_check_metrics_bad_answers(behaviour: Behaviour, reason: str, build_cli: BuildRunner) -> None:
    with serving(behaviour) as url:
        assert_one_error(check_cli(build_cli, f"{url}/metrics"), 2, f"{url}/metrics", reason)


@pytest.mark.parametrize(("source", "reason"), [
    ("http://[::1:9090/metrics", "invalid IPv6 address"),
    ("ftp://x/metrics", "unsupported scheme 'ftp'"),
    ("localhost:9090/metrics", "(for a URL, write http://localhost:9090/metrics)"),
    ("http://no-such-host.invalid/metrics", "cannot resolve host"),
])
def test_check_metrics_bad_sources(source: str, reason: str, build_cli: BuildRunner) -> None:
    assert_one_error(check_cli(build_cli, source), 2, f"cannot read metrics from {source}: ", reason)


def test_check_metrics_connection_refused_and_unreadable_file(build_cli: BuildRunner, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    assert_one_error(check_cli(build_cli, url), 2, url, "connection refused")
    assert_one_error(check_cli(build_cli, str(tmp_path)), 2, str(tmp_path), "Is a directory")


def test_check_metrics_slow_drip_is_bounded_by_timeout(build_cli: BuildRunner) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    def body_drip(handler: Handler) -> None:  # headers at once, then a body that never ends
        handler.wfile.write(head)
        drip(b"", b"#")(handler)
    with serving(body_drip) as url:
        started = time.monotonic()
        result = check_cli(build_cli, f"{url}/metrics", "--timeout", "2")
        elapsed = time.monotonic() - started
    assert_one_error(result, 2, url, "no complete answer within 2s")
    assert elapsed < 6, elapsed


def test_check_metrics_huge_body_is_capped_in_small_memory(tmp_path: Path) -> None:
    with serving(stream_forever(b"# HELP x y\n", "text/plain")) as url:
        started = time.monotonic()
        result, peak_mib = run_measured(["check-metrics", "prompt_manager", f"{url}/metrics"], tmp_path)
        elapsed = time.monotonic() - started
    assert_one_error(result, 2, url, "larger than the 32 MiB limit")
    assert elapsed < 15, elapsed
    assert peak_mib < 200, f"peak RSS {peak_mib} MiB"


# bounded_http itself --------------------------------------------------------------------------------------------


def test_excerpt_prefers_the_html_title_and_is_one_line() -> None:
    assert excerpt(HTML_PAGE, "text/html") == "502 Bad Gateway"
    assert excerpt(b"line one\n\n  line   two", "text/plain") == "line one line two"
    assert len(excerpt(b"x" * 10_000)) == 200
    assert one_line("a\r\n\tb", 10) == "a b" and one_line("abcdefghijkl", 5) == "abcd…"


@pytest.mark.parametrize(("url", "host", "port", "path"), [
    ("http://[::1]:9090", "::1", 9090, "/"),
    ("https://prom.example/sub/path?x=1 ".strip(), "prom.example", 443, "/sub/path?x=1"),
    ("HTTP://Localhost", "localhost", 80, "/"),
])
def test_parse_url_accepts(url: str, host: str, port: int, path: str) -> None:
    target = parse_url(url)
    assert (target.host, target.port, target.path) == (host, port, path)


@pytest.mark.parametrize("url", ["http://x:0", "http://x:99999", "http://u:p@x", "http://a b", "http://", "mailto:x@y", "http://x:-1"])
def test_parse_url_refuses(url: str) -> None:
    with pytest.raises(FetchError):
        parse_url(url)


def test_request_follows_a_redirect_and_keeps_the_post() -> None:
    def behaviour(handler: Handler) -> None:
        if handler.path == "/old":
            handler.answer(307, b"", "text/plain", Location="/new")
        else:
            handler.answer(200, f"{handler.command} {handler.path}".encode(), "text/plain")
    with serving(behaviour) as url:
        response = request(f"{url}/old", data=b"q=1", timeout=5, max_bytes=100)
    assert (response.status, response.body) == (200, b"POST /new")


def test_request_body_cap_is_exact() -> None:
    with serving(fixed(b"x" * 100, "text/plain")) as url:
        assert request(url, timeout=5, max_bytes=100).body == b"x" * 100
        with pytest.raises(FetchError, match="100 bytes, over the 99 bytes limit"):
            request(url, timeout=5, max_bytes=99)


def test_request_reads_chunked_bodies_under_the_cap() -> None:
    def chunked(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for _ in range(3):
            handler.wfile.write(b"5\r\nhello\r\n")
        handler.wfile.write(b"0\r\n\r\n")
    with serving(chunked) as url:
        assert request(url, timeout=5, max_bytes=15).body == b"hello" * 3
        with pytest.raises(FetchError, match="larger than the 14 bytes limit"):
            request(url, timeout=5, max_bytes=14)


def test_request_deadline_covers_dripped_headers() -> None:
    with serving(drip(b"HTTP/1.1 200 OK\r\n", b"X", every=0.1)) as url:
        started = time.monotonic()
        with pytest.raises(FetchError, match="within 1s"):
            request(url, timeout=1, max_bytes=1000)
    assert time.monotonic() - started < 2
