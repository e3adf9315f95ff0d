"""Demo traffic: serve every module's metrics with realistic, varied, moving values.

Driven only by the contracts (and the instrumentation helpers), so a new module file gets demo traffic
too. Label values come from a small vocabulary per label name; everything else follows the naming
convention: operations with statuses and per-operation latencies, errors with types, tokens, cost, cache
hits and misses, each extra counter and histogram at its own rate, and each extra gauge at a level that
follows the load.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from wsgiref.simple_server import WSGIServer

import attrs
from prometheus_client import CollectorRegistry, start_http_server

from moddash.contract.model import COUNTER, GAUGE, HISTOGRAM, Metric, ModuleContract
from moddash.instrumentation.metrics import FAILURE, SUCCESS, ModuleMetrics

Weighted = tuple[tuple[str, float], ...]
VOCABULARY: dict[str, Weighted] = {
    "provider": (("openai", 0.5), ("anthropic", 0.3), ("mistral", 0.2)),
    "model": (("gpt-4o", 0.45), ("claude-sonnet", 0.35), ("mistral-large", 0.2)),
    "result": (("passed", 0.93), ("failed", 0.07)),
    "status": ((SUCCESS, 0.97), (FAILURE, 0.03)),
    "technique": (("jailbreak", 0.5), ("prompt_leak", 0.3), ("role_play", 0.2)),
    "event_type": (("injection_blocked", 0.3), ("pii_redacted", 0.3), ("policy_violation", 0.25),
                   ("rate_limited", 0.15)),
    "severity": (("low", 0.6), ("medium", 0.3), ("high", 0.1)),
    "client": (("web", 0.6), ("batch", 0.3), ("partner", 0.1)),
    "error_type": (("TimeoutError", 0.4), ("ValidationError", 0.3), ("UpstreamError", 0.2), ("RateLimited", 0.1)),
    "type": (("prompt", 0.5), ("completion", 0.5)),
}
OPERATIONS = ("render", "search", "create", "validate", "scan", "complete", "embed", "update", "list")
STANDARD = frozenset({"operations_total", "operation_duration_seconds", "tokens_total", "cost_total", "errors_total",
                      "cache_hits_total", "cache_misses_total"})
USD_PER_TOKEN = 0.000004
TICK_SECONDS = 0.25
# A gauge's label combinations the demo sets, at most: enough to draw, few enough to stay cheap.
MAX_GAUGE_SERIES = 12


def _weighted(rng: random.Random, choices: Weighted) -> str:
    values, cumulative = _cumulative(choices)
    return rng.choices(values, cum_weights=cumulative)[0]


@functools.cache
def _cumulative(choices: Weighted) -> tuple[list[str], list[float]]:
    """Return the values and cumulative weights of `choices`: `rng.choices` draws the same value from them as from
    the weights (one random number against the running total), without summing them on every draw."""
    return [value for value, _ in choices], list(itertools.accumulate(weight for _, weight in choices))


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method; the means here are small (a few events per tick).
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class ModuleTraffic:
    """One module's simulated traffic, recorded through its ModuleMetrics."""

    def __init__(self, contract: ModuleContract, metrics: ModuleMetrics, seed: int) -> None:
        self.contract = contract
        self.metrics = metrics
        self.rng = random.Random(seed ^ zlib.crc32(contract.name.encode()))
        start = zlib.crc32(contract.name.encode()) % len(OPERATIONS)
        self.operations = contract.known_values("operation") or tuple(
            OPERATIONS[(start + i) % len(OPERATIONS)] for i in range(3))
        self.vocabulary = {**VOCABULARY, "operation": tuple((op, 1.0 / (i + 1)) for i, op in
                                                            enumerate(self.operations))}
        for label, values in contract.label_values:
            if label != "operation":  # declared values win; their weights follow the vocabulary or fall off
                weights = dict(VOCABULARY.get(label, ()))
                self.vocabulary[label] = tuple((v, weights.get(v, 1.0 / (i + 1))) for i, v in enumerate(values))
        # The naming convention's metrics this contract declares, by short name: looked up once, used per event.
        self.standard = {short: contract.metric(short) for short in sorted(STANDARD) if contract.has_metric(short)}
        self.base_rate = 4.0 + self.rng.random() * 6  # operations per second
        self.phase = self.rng.random() * 2 * math.pi

    def values(self, label: str) -> list[str]:
        """Return every value the demo uses for a label."""
        return [value for value, _ in self.vocabulary.get(label, (("a", 1.0), ("b", 1.0)))]

    def pick(self, label: str) -> str:
        """Return a label value drawn by weight."""
        return _weighted(self.rng, self.vocabulary.get(label, (("a", 1.0), ("b", 1.0))))

    def prime(self) -> None:
        """Create every series the demo will use at zero, so panels have data from the first scrape."""
        for metric in self.contract.metrics:
            if metric.type not in (COUNTER, HISTOGRAM):
                continue
            for combination in itertools.product(*(self.values(label) for label in metric.labels)):
                self.metrics.prime(metric.name, **dict(zip(metric.labels, combination, strict=True)))

    def _extra_labels(self, metric: Metric, chosen: Mapping[str, str]) -> dict[str, str]:
        return {label: chosen.get(label) or self.pick(label) for label in metric.labels}

    def _operation(self, load: float, spike: bool) -> None:
        metrics, standard = self.metrics, self.standard
        operation = self.pick("operation")
        context = {"operation": operation, **{label: self.pick(label) for label in ("provider", "model", "client")}}
        rank = self.operations.index(operation)
        latency = self.rng.lognormvariate(math.log(0.05 * (rank + 1) * (1 + 0.3 * load)), 0.6)
        failed = self.rng.random() < (0.15 if spike else 0.02)
        if "operation_duration_seconds" in standard:
            metric = standard["operation_duration_seconds"]
            metrics.observe(metric.name, latency, **self._extra_labels(metric, context))
        if "operations_total" in standard:
            metric = standard["operations_total"]
            status = {"status": FAILURE if failed else SUCCESS}
            metrics.count(metric.name, **self._extra_labels(metric, {**context, **status}))
        if failed and "errors_total" in standard:
            metric = standard["errors_total"]
            metrics.count(metric.name, **self._extra_labels(metric, context))
        if "tokens_total" in standard:
            prompt, completion = int(self.rng.gauss(400, 120)), int(self.rng.gauss(150, 60))
            extra = {k: v for k, v in self._extra_labels(standard["tokens_total"], context).items() if k != "type"}
            metrics.tokens(prompt=max(prompt, 1), completion=max(completion, 1), **extra)
            if "cost_total" in standard:
                metrics.cost((max(prompt, 1) + max(completion, 1)) * USD_PER_TOKEN,
                             **self._extra_labels(standard["cost_total"], context))
        if "cache_hits_total" in standard and "cache_misses_total" in standard:
            hit = self.rng.random() < 0.8 - 0.2 * load / 2
            metrics.count("cache_hits_total" if hit else "cache_misses_total")

    def _extras(self, seconds: float, load: float) -> None:
        for metric in self.contract.metrics:
            short = metric.name.removeprefix(self.contract.name + "_")
            if short in STANDARD:
                continue
            if metric.type == COUNTER:
                for _ in range(_poisson(self.rng, self.base_rate * 0.3 * load * seconds)):
                    self.metrics.count(metric.name, **self._extra_labels(metric, {}))
            elif metric.type == GAUGE:
                self._level(metric, load)
            elif metric.type == HISTOGRAM:
                for _ in range(_poisson(self.rng, self.base_rate * 0.5 * load * seconds)):
                    labels = self._extra_labels(metric, {})
                    slowness = 1 + sum(self.values(k).index(v) for k, v in labels.items() if k in self.vocabulary)
                    self.metrics.observe(metric.name, self.rng.lognormvariate(math.log(0.4 * slowness), 0.5),
                                         **labels)

    def _level(self, metric: Metric, load: float) -> None:
        """Set a gauge (a queue depth, requests in flight...) to a level that follows the load, per label value."""
        combinations = itertools.islice(itertools.product(*(self.values(label) for label in metric.labels)),
                                        MAX_GAUGE_SERIES)
        for index, combination in enumerate(combinations):
            level = self.base_rate * load / (index + 1) + self.rng.gauss(0, 0.5)
            self.metrics.set(metric.name, max(round(level), 0), **dict(zip(metric.labels, combination, strict=True)))

    def tick(self, now: float, seconds: float) -> None:
        """Record `seconds` worth of traffic at time `now` (load follows a 5-minute cycle, with error spikes)."""
        load = 1 + 0.6 * math.sin(2 * math.pi * now / 300 + self.phase)
        spike = (now + self.phase * 30) % 180 < 20
        for _ in range(_poisson(self.rng, self.base_rate * load * seconds)):
            self._operation(load, spike)
        self._extras(seconds, load)


@attrs.define
class Demo:
    """Running demo exporters; `stop()` shuts them down."""

    urls: dict[str, str]
    servers: list[WSGIServer]
    stop_event: threading.Event
    thread: threading.Thread

    def stop(self) -> None:
        """Stop the traffic and the HTTP servers."""
        self.stop_event.set()
        self.thread.join(timeout=5)
        for server in self.servers:
            server.shutdown()
            server.server_close()


def start_demo(contracts: Sequence[ModuleContract], ports: Mapping[str, int], bind: str = "127.0.0.1",
               seed: int = 0) -> Demo:
    """Start one exporter per module on `ports[name]` (0 = any free port) and the traffic thread."""
    traffic: list[ModuleTraffic] = []
    servers: list[WSGIServer] = []
    urls: dict[str, str] = {}
    try:
        for contract in contracts:
            registry = CollectorRegistry()
            module = ModuleTraffic(contract, ModuleMetrics(contract, registry), seed)
            module.prime()
            server, _thread = start_http_server(ports[contract.name], addr=bind, registry=registry)
            servers.append(server)
            traffic.append(module)
            urls[contract.name] = f"http://{bind}:{server.server_port}{contract.target.path}"
    except BaseException:
        for server in servers:
            server.shutdown()
            server.server_close()
        raise
    stop_event = threading.Event()

    def run() -> None:
        last = time.monotonic()
        while not stop_event.wait(TICK_SECONDS):
            now = time.monotonic()
            for module in traffic:
                module.tick(time.time(), now - last)
            last = now

    thread = threading.Thread(target=run, name="demo-traffic", daemon=True)
    thread.start()
    return Demo(urls, servers, stop_event, thread)
