"""FastAPI (or any Starlette app): `mount_metrics(app, metrics)` serves /metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from instrumentation.exposition import render
from instrumentation.metrics import ModuleMetrics


def mount_metrics(app: object, metrics: ModuleMetrics, path: str = "/metrics") -> None:
    """Add a GET `path` route to a FastAPI/Starlette app that serves the module's registry."""

    async def serve_metrics(request: Request) -> Response:
        body, content_type = render(metrics.registry, request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    # add_route exists on both FastAPI and Starlette and keeps the route out of the OpenAPI schema.
    app.add_route(path, serve_metrics, methods=["GET"], include_in_schema=False)  # type: ignore[attr-defined]
