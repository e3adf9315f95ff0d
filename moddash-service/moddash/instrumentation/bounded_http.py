"""One HTTP request with a whole-request deadline and a body cap; every failure is one `FetchError` line.

Standard library only: production services import `instrumentation`, so nothing here may pull in
dashbuild, Grafana libraries, jsonschema or promql_parser.

- Only `http://` and `https://` URLs with a host are accepted (bracketed IPv6 literals included); user
  credentials in the URL are refused rather than silently dropped.
- `timeout` bounds the whole request (name resolution, connect, TLS handshake, request, status line,
  headers and body, redirects included): socket reads are given the time left, and a watchdog shuts the
  socket down at the deadline, so a server dripping one byte at a time cannot extend it.
- The body is read incrementally and never beyond `max_bytes + 1` bytes; a larger body is an error.
- Redirects: at most `MAX_REDIRECTS` (301, 302, 307, 308 keep the method and body, as an API client
  needs; 303 becomes a GET), each target validated like the first URL.
- Bodies are requested and accepted as identity only: a compressed answer that was not asked for is an error.
- Proxy environment variables are not used: connections go straight to the URL's host.
"""

from __future__ import annotations

import contextlib
import html
import http.client
import ipaddress
import math
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
EXCERPT_CHARS = 200
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
Address = tuple[int, tuple[Any, ...]]  # (address family, socket address) as getaddrinfo gives them


class FetchError(OSError):
    """The request failed; str() is a one-line reason without the URL (callers name it)."""

    def __str__(self) -> str:
        return one_line(str(self.args[0]) if self.args else "request failed", 300)


@dataclass(frozen=True)
class Response:
    """A complete HTTP answer: status, lower-cased headers (last value wins) and the whole body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """Return the Content-Type header, or "" when there is none."""
        return self.headers.get("content-type", "")

    def describe(self) -> str:
        """Return a one-line summary such as `HTTP 502 Bad Gateway: <title of the page>`."""
        summary = f"HTTP {self.status} {one_line(self.reason, 60)}".rstrip()
        text = excerpt(self.body, self.content_type)
        return f"{summary}: {text}" if text and text not in summary else summary


@dataclass(frozen=True)
class Target:
    """A validated URL split into what a connection needs."""

    url: str
    https: bool
    host: str
    port: int
    path: str


def one_line(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return `text` with all whitespace runs collapsed to one space, cut to `limit` characters with `…`."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def excerpt(body: bytes, content_type: str = "", limit: int = EXCERPT_CHARS) -> str:
    """Return a one-line excerpt of a response body for an error message (an HTML page's <title>)."""
    head = body[: 64 * 1024]
    looks_html = "html" in content_type.lower() or head.lstrip()[:1] == b"<"
    title = _TITLE.search(head) if looks_html else None
    text = head.decode("utf-8", "replace")
    if title:
        text = title.group(1).decode("utf-8", "replace")
    elif looks_html:
        text = _TAG.sub(" ", text)
    return one_line(html.unescape(text) if looks_html else text, limit)


def show(url: str) -> str:
    """Return a URL as it can appear in a one-line message: as given, or quoted if empty or unprintable."""
    return url if url and url.isprintable() and not any(c.isspace() for c in url) else repr(url)


def parse_url(url: str) -> Target:
    """Return the validated target of an http(s) URL; raise FetchError naming what is wrong with it."""
    if not url.strip():
        raise FetchError("empty URL: expected one like http://127.0.0.1:9090")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise FetchError("the URL contains spaces or control characters")
    if "://" not in url:
        raise FetchError(f"no scheme: write http://{url} (or https://)")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError(_url_problem(str(error))) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"unsupported scheme {parts.scheme!r}: only http:// and https:// are supported")
    if parts.username is not None or parts.password is not None:
        raise FetchError("user:password in the URL is not supported")
    host = urllib.parse.unquote(parts.hostname or "")  # an IPv6 zone is written %25 in a URL
    if not host:
        raise FetchError("no host in the URL")
    if port == 0:
        raise FetchError("invalid port 0")
    https = parts.scheme.lower() == "https"
    path = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    port = port if port is not None else (443 if https else 80)
    return Target(url, https, _ascii_host(host), port, path + (f"?{query}" if query else ""))


def _url_problem(message: str) -> str:
    if "IPv6" in message:
        return "invalid IPv6 address: expected one like http://[::1]:9090"
    if "port" in message.lower():
        return f"invalid port ({message.rstrip('.')})"
    return f"malformed URL ({message})"


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchError(f"invalid host name {host!r}") from None


def request(url: str, *, data: bytes | None = None, headers: Mapping[str, str] | None = None, timeout: float,
            max_bytes: int, max_redirects: int = MAX_REDIRECTS) -> Response:
    """Return the answer to a GET (or a POST when `data` is given), any status, within `timeout` seconds.

    Raise FetchError for a bad URL, a network or TLS failure, the deadline, a body over `max_bytes`, a
    body cut short, a compressed body, or more than `max_redirects` redirects.
    """
    if not math.isfinite(timeout) or timeout <= 0:
        raise FetchError(f"the timeout must be a positive number of seconds, not {timeout}")
    deadline = time.monotonic() + timeout
    target = parse_url(url)
    method = "POST" if data is not None else "GET"
    for _hop in range(max_redirects + 1):
        response = _exchange(target, method, data, headers or {}, deadline, timeout, max_bytes)
        location = response.headers.get("location")
        if response.status not in _REDIRECTS or not location:
            return response
        target = _redirect_target(target, location)
        if response.status == 303:
            method, data = "GET", None
    raise FetchError(f"too many redirects (more than {max_redirects}), last to {show(target.url)}")


def _redirect_target(current: Target, location: str) -> Target:
    try:
        url = urllib.parse.urljoin(current.url, location.strip())
    except ValueError:
        raise FetchError(f"redirected to a malformed URL {show(one_line(location, 100))}") from None
    try:
        return parse_url(url)
    except FetchError as error:
        raise FetchError(f"redirected to {show(url)}: {error}") from None


def _remaining(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"no complete answer within {timeout:g}s")
    return left


def _exchange(target: Target, method: str, data: bytes | None, headers: Mapping[str, str], deadline: float,
              timeout: float, max_bytes: int) -> Response:
    addresses = _resolve(target.host, target.port, deadline, timeout)
    raw = _connect(addresses, target, deadline, timeout)
    spare = raw.dup()  # a second handle on the connection stays valid after TLS wrapping detaches `raw`
    expired = threading.Event()
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0), _cut, (spare, expired))
    watchdog.daemon = True
    watchdog.start()
    connection = http.client.HTTPConnection(target.host, target.port)
    try:
        sock = _tls(raw, target.host) if target.https else raw
        connection.sock = sock
        sent = {"Accept-Encoding": "identity", "Connection": "close", **headers}
        connection.request(method, target.path, body=data, headers=sent)
        answer = connection.getresponse()
        body = _read_body(answer, sock, deadline, timeout, max_bytes)
        if expired.is_set():  # the watchdog may have ended a read-until-close body early
            _remaining(deadline, timeout)
        return Response(answer.status, answer.reason, {k.lower(): v for k, v in answer.getheaders()}, body)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        if expired.is_set() or time.monotonic() >= deadline:
            _remaining(deadline, timeout)
        raise FetchError(_reason(error)) from None
    finally:
        watchdog.cancel()
        connection.close()
        raw.close()
        spare.close()


def _cut(sock: socket.socket, expired: threading.Event) -> None:
    expired.set()
    with contextlib.suppress(OSError):  # shutting the connection down ends a read blocked in the other thread
        sock.shutdown(socket.SHUT_RDWR)


def _resolve(host: str, port: int, deadline: float, timeout: float) -> list[Address]:
    try:
        literal = ipaddress.ip_address(host) if "%" not in host else None  # scoped IPv6 needs getaddrinfo
    except ValueError:
        literal = None
    if literal is not None:
        return [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, (host, port))]
    found: list[Address] = []
    failure: list[OSError] = []

    def lookup() -> None:  # getaddrinfo cannot be interrupted, so it runs in a thread we can stop waiting for
        try:
            found.extend((info[0], info[4]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as error:
            failure.append(error)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(_remaining(deadline, timeout))
    if worker.is_alive():
        raise FetchError(f"cannot resolve host {host!r} within {timeout:g}s")
    if failure or not found:
        reason = failure[0].strerror if failure and failure[0].strerror else "no address"
        raise FetchError(f"cannot resolve host {host!r}: {reason}")
    return found


def _connect(addresses: list[Address], target: Target, deadline: float,
             timeout: float) -> socket.socket:
    last: OSError | None = None
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline, timeout))
            sock.connect(address)
            return sock
        except FetchError:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            last = error
    if isinstance(last, TimeoutError):
        _remaining(deadline, timeout)
    where = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    raise FetchError(f"cannot connect to {where}: {_reason(last) if last else 'no address'}")


def _tls(raw: socket.socket, host: str) -> ssl.SSLSocket:
    return ssl.create_default_context().wrap_socket(raw, server_hostname=host)


def _read_body(answer: http.client.HTTPResponse, sock: socket.socket, deadline: float, timeout: float,
               max_bytes: int) -> bytes:
    encoding = answer.getheader("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(f"the answer is Content-Encoding {one_line(encoding, 40)!r}, which was not requested")
    declared = _declared_length(answer)
    if declared is not None and declared > max_bytes:
        raise FetchError(f"the answer is {declared} bytes, over the {_size(max_bytes)} limit")
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        sock.settimeout(_remaining(deadline, timeout))
        chunk = answer.read1(min(CHUNK_BYTES, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > max_bytes:
        raise FetchError(f"the answer is larger than the {_size(max_bytes)} limit")
    if declared is not None and size < declared:
        raise FetchError(f"the server closed the connection mid-body ({size} of {declared} bytes)")
    return b"".join(chunks)


def _declared_length(answer: http.client.HTTPResponse) -> int | None:
    value = answer.getheader("Content-Length")
    if value is None or answer.getheader("Transfer-Encoding"):
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS error: {error.verify_message or error.reason}"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    if isinstance(error, http.client.IncompleteRead):
        return f"the server closed the connection mid-body ({len(error.partial)} bytes read)"
    if isinstance(error, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.HTTPException):
        return f"not a valid HTTP answer ({type(error).__name__}: {one_line(str(error), 80)})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return one_line(str(error) or type(error).__name__, 120)
