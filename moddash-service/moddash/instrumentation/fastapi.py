"""FastAPI (or any Starlette app): `mount_metrics(app, metrics)` serves /metrics."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from moddash.instrumentation.exposition import UNAUTHORIZED_HEADERS, authorized, render_scrape, resolve_token
from moddash.instrumentation.metrics import ModuleMetrics


def mount_metrics(app: object, metrics: ModuleMetrics, path: str = "/metrics", token: str | None = None) -> None:
    """Add a GET `path` route to a FastAPI/Starlette app that serves the module's registry.

    With PROMETHEUS_MULTIPROC_DIR set it serves the aggregate of all worker processes. With a bearer token
    (`token`, else env METRICS_TOKEN, else the file named by METRICS_TOKEN_FILE) other requests get 401.
    """
    expected = resolve_token(token)

    async def serve_metrics(request: Request) -> Response:
        if not authorized(expected, request.headers.get("authorization")):
            return Response("unauthorized\n", status_code=401, headers=UNAUTHORIZED_HEADERS)
        # Collecting and encoding a large registry is CPU work; in a thread it does not stall other requests.
        body, content_type = await run_in_threadpool(render_scrape, metrics.registry, request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    # add_route exists on both FastAPI and Starlette and keeps the route out of the OpenAPI schema.
    app.add_route(path, serve_metrics, methods=["GET"], include_in_schema=False)  # type: ignore[attr-defined]
