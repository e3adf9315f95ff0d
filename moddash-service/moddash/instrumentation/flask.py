"""Flask: `mount_metrics(app, metrics)` serves /metrics."""

from __future__ import annotations

from flask import Flask, Response, request

from moddash.instrumentation.exposition import UNAUTHORIZED_HEADERS, authorized, render_scrape, resolve_token
from moddash.instrumentation.metrics import ModuleMetrics


def mount_metrics(app: Flask, metrics: ModuleMetrics, path: str = "/metrics", token: str | None = None) -> None:
    """Add a GET `path` view to a Flask app that serves the module's registry.

    With PROMETHEUS_MULTIPROC_DIR set it serves the aggregate of all worker processes. With a bearer token
    (`token`, else env METRICS_TOKEN, else the file named by METRICS_TOKEN_FILE) other requests get 401.
    """
    expected = resolve_token(token)

    def serve_metrics() -> Response:
        if not authorized(expected, request.headers.get("Authorization")):
            return Response("unauthorized\n", status=401, headers=UNAUTHORIZED_HEADERS)
        body, content_type = render_scrape(metrics.registry, request.headers.get("Accept"))
        return Response(body, headers={"Content-Type": content_type})

    app.add_url_rule(path, endpoint=f"metrics:{path}", view_func=serve_metrics, methods=["GET"])
