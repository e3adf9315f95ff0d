"""The /metrics response body and content type."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.exposition import choose_encoder


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """Return (body, content type): the text format as CONTENT_TYPE_LATEST, or OpenMetrics when asked for."""
    if accept and "application/openmetrics-text" in accept:
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type
    return generate_latest(registry), CONTENT_TYPE_LATEST
