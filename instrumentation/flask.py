"""Flask: `mount_metrics(app, metrics)` serves /metrics."""

from __future__ import annotations

from flask import Flask, Response, request

from instrumentation.exposition import render
from instrumentation.metrics import ModuleMetrics


def mount_metrics(app: Flask, metrics: ModuleMetrics, path: str = "/metrics") -> None:
    """Add a GET `path` view to a Flask app that serves the module's registry."""

    def serve_metrics() -> Response:
        body, content_type = render(metrics.registry, request.headers.get("Accept"))
        return Response(body, headers={"Content-Type": content_type})

    app.add_url_rule(path, endpoint=f"metrics:{path}", view_func=serve_metrics, methods=["GET"])
