"""Where a preview's data comes from: a Prometheus given by URL, or the demo's traffic generated in memory for the
build's modules, with their recording rules evaluated over it (dashbuild/preview/in_memory.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dashbuild.preview.pages import DataSource
from dashbuild.prometheus import CONFIG_FILE
from dashbuild.verify_client import PrometheusClient
from dashbuild.verify_plan import format_duration
from moddash.contract import ModuleContract
from moddash.instrumentation.bounded_http import show

# The demo's data is made on every preview, in simulated time at the scrape interval: about 6 s per simulated quarter
# of an hour for the three real modules (measured; dashbuild/preview/in_memory.py), so a quarter of an hour by default.
DEMO_RANGE_SECONDS = 900


def prometheus_source(url: str, timeout: float) -> DataSource:
    """Return the data of the Prometheus at `url` (each request bounded by `timeout` seconds)."""
    return DataSource(PrometheusClient(url, timeout), f"data: Prometheus at {show(url)}")


def demo_source(contracts: Sequence[ModuleContract], files: Mapping[str, bytes], end: float,
                history_seconds: float, seed: int) -> DataSource:
    """Return the demo's traffic for `contracts` over the `history_seconds` ending at `end`, generated in memory,
    with the build's recording rules (`files`: the build's output) evaluated over it."""
    from dashbuild.preview.in_memory import demo_prometheus

    rules = {path: content for path, content in files.items()
             if path.startswith("prometheus/") and path.endswith((".yml", ".yaml")) and path != CONFIG_FILE}
    client = demo_prometheus(contracts, rules, files.get(CONFIG_FILE, b""), end, history_seconds, seed)
    return DataSource(client, f"data: demo traffic generated in memory (seed {seed}, "
                              f"{format_duration(history_seconds)} of it)",
                      "Numbers are the demo's, not a real service's.")
