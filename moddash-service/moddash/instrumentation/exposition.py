"""The /metrics response: body and content type, the registry to render, and the optional bearer token."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "METRICS_TOKEN"
TOKEN_FILE_ENV = "METRICS_TOKEN_FILE"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """Return (body, content type): the text format as CONTENT_TYPE_LATEST, or OpenMetrics when asked for."""
    if accept and "application/openmetrics-text" in accept:
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type
    return generate_latest(registry), CONTENT_TYPE_LATEST


def scrape_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """Return the registry one scrape renders: all workers' files under PROMETHEUS_MULTIPROC_DIR, else `registry`.

    In multiprocess mode each worker writes its values to files there, so a worker's own registry holds only
    its share; a fresh registry per scrape reads every worker's files (the prometheus_client recipe).
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return registry
    aggregate = CollectorRegistry()
    MultiProcessCollector(aggregate, path=directory)  # type: ignore[no-untyped-call]
    return aggregate


def render_scrape(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """Render the registry one scrape should see (see `scrape_registry`)."""
    return render(scrape_registry(registry), accept)


def resolve_token(token: str | None = None) -> str | None:
    """Return the /metrics bearer token: `token`, else env METRICS_TOKEN, else the file named by METRICS_TOKEN_FILE.

    None means /metrics is open. A blank token or token file is refused rather than read as "no token",
    so a misplaced secret does not silently expose the endpoint.
    """
    if token is not None:
        source = "token argument"
    elif os.environ.get(TOKEN_ENV):
        token, source = os.environ[TOKEN_ENV], TOKEN_ENV
    elif os.environ.get(TOKEN_FILE_ENV):
        path = Path(os.environ[TOKEN_FILE_ENV])
        token, source = path.read_text(encoding="utf-8").strip(), f"{TOKEN_FILE_ENV} ({path})"
    else:
        return None
    if not token or not token.isprintable() or any(c.isspace() for c in token):
        raise ValueError(f"the /metrics bearer token from {source} must be non-blank printable text without spaces")
    return token


def authorized(expected: str | None, authorization: str | None) -> bool:
    """Return True when no token is required or `authorization` is `Bearer <expected>` (constant-time compare)."""
    if expected is None:
        return True
    scheme, _, credentials = (authorization or "").partition(" ")
    # compare_digest on bytes: str arguments must be ASCII, and a client may send anything.
    matches = hmac.compare_digest(credentials.strip().encode(), expected.encode())
    return scheme.lower() == "bearer" and matches
