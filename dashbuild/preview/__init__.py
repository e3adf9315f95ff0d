"""Previews of the generated dashboards without a Grafana server: static HTML pages on Grafana's grid, with data
from a Prometheus or from the demo's traffic generated in memory, checked in headless Chromium."""
