"""The demo's traffic generator run in simulated time, scraped into a SeriesStore as Prometheus would ingest it.

Per module contract: a fresh CollectorRegistry, ModuleMetrics and ModuleTraffic(contract, metrics, seed), `prime()`,
then at every scrape time from `start` to `end` (the job's scrape_interval in prometheus.yml, aligned to multiples of
it): `tick(t, interval)` and a scrape: what `generate_latest` (text format 0.0.4) exposes, every sample
labelled with the target's labels as the generated prometheus.yml sets them (job, instance, the static labels; a
scraped label that clashes becomes `exported_<name>`, as without honor_labels), plus `up` = 1.

What differs from a real scrape, and why: scrapes happen exactly on multiples of the interval (a real Prometheus
offsets each target by a hash); `_created` series carry the simulated time their series was created (the start of the
tick that created it), not the generating process' wall clock, which would lie in the simulated future or past;
`scrape_*` series are not written (no panel or rule reads them); Prometheus' own job has no data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import yaml
from prometheus_client import CollectorRegistry

from dashbuild.preview.series_store import NAME, Labels, SeriesStore, make_labels
from moddash.contract.model import ModuleContract
from moddash.instrumentation.demo import ModuleTraffic
from moddash.instrumentation.metrics import ModuleMetrics

_SUPPORTED_JOB_KEYS = frozenset({"job_name", "scrape_interval", "metrics_path", "static_configs", "params", "scheme",
                                 "authorization", "honor_labels", "scrape_timeout"})
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@attrs.frozen
class ScrapeTarget:
    """One module's target as prometheus.yml configures it: its labels (job, instance, static ones), the interval."""

    labels: tuple[tuple[str, str], ...]
    interval_ms: int
    honor_labels: bool


def duration_ms(text: str) -> int:
    """Return the milliseconds of a simple Prometheus duration (`5s`, `1m`, `1h30m`)."""
    total, number = 0, ""
    rest = text.strip()
    while rest:
        if rest[0].isdigit():
            number += rest[0]
            rest = rest[1:]
            continue
        unit = "ms" if rest.startswith("ms") else rest[0]
        if unit not in _DURATION_MS or not number:
            raise ValueError(f"{text!r} is not a Prometheus duration")
        total += int(number) * _DURATION_MS[unit]
        number, rest = "", rest[len(unit):]
    if number or not total:
        raise ValueError(f"{text!r} is not a Prometheus duration")
    return total


def read_config(prometheus_yml: bytes) -> dict[str, Any]:
    """Return prometheus.yml as a mapping (raise ValueError if it is not one)."""
    config = yaml.safe_load(prometheus_yml)
    if not isinstance(config, dict):
        raise ValueError("prometheus.yml is not a mapping")
    return config


def scrape_targets(prometheus_yml: bytes) -> dict[str, ScrapeTarget]:
    """Return each scrape job's (first) target by job name; refuse relabelling, which the simulation does not do."""
    config = read_config(prometheus_yml)
    default_interval = str((config.get("global") or {}).get("scrape_interval", "1m"))
    targets = {}
    for job in config.get("scrape_configs") or []:
        unknown = set(job) - _SUPPORTED_JOB_KEYS
        if unknown:
            raise ValueError(f"scrape job {job.get('job_name')!r}: {', '.join(sorted(unknown))} not simulated")
        statics = job.get("static_configs") or []
        if not statics or not statics[0].get("targets"):
            continue
        labels = {**(statics[0].get("labels") or {}), "job": str(job["job_name"]),
                  "instance": str(statics[0]["targets"][0])}
        targets[str(job["job_name"])] = ScrapeTarget(
            tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            duration_ms(str(job.get("scrape_interval", default_interval))), bool(job.get("honor_labels", False)))
    return targets


def scrape_times(start_ms: int, end_ms: int, interval_ms: int) -> range:
    """Return the scrape (or evaluation) timestamps: multiples of the interval from start to end, both included."""
    first = -(-start_ms // interval_ms) * interval_ms
    return range(first, end_ms + 1, interval_ms)


class Scraper:
    """Turns one module's registry into the target-labelled samples a scrape of its /metrics ingests.

    It reads `registry.collect()`, exactly what `generate_latest` (text format 0.0.4) writes line by line: every
    sample under its own name (`_total`, `_bucket`, `_sum`, `_count`, `_created`), its labels, and a value whose text
    (floatToGoString) parses back to the same float. Formatting and re-parsing every scrape would triple the cost;
    tests/test_preview_eval.py checks that this equals the parsed text.
    """

    def __init__(self, target: ScrapeTarget) -> None:
        self.target = target
        self.labels: dict[tuple[str, tuple[tuple[str, str], ...]], Labels] = {}
        self.created: dict[float, float] = {}

    def samples(self, registry: CollectorRegistry, tick_start: float) -> list[tuple[Labels, float]]:
        """Return the samples of one scrape (with `up` = 1); `tick_start` dates the series created in this tick."""
        out = []
        for family in registry.collect():
            created_name = family.name + "_created"
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                labels = self.labels.get(key)
                if labels is None:
                    labels = self.labels[key] = self.labelled(sample.name, dict(key[1]))
                value = float(sample.value)
                if sample.name == created_name:
                    # A creation time: the simulated start of the tick that created the series, not the wall clock.
                    value = self.created.setdefault(value, tick_start)
                out.append((labels, value))
        out.append((self.labelled("up", {}), 1.0))
        return out

    def labelled(self, name: str, scraped: dict[str, str]) -> Labels:
        """Return a scraped sample's labels as Prometheus stores them: the target's labels added (the scraped
        one kept as `exported_<name>` on a clash, unless the job honours labels), and its name."""
        result = dict(scraped)
        for key, value in self.target.labels:
            if key in scraped and self.target.honor_labels:
                continue
            if key in scraped:
                result[f"exported_{key}"] = scraped[key]
            result[key] = value
        result[NAME] = name
        return make_labels(result)


def generate(store: SeriesStore, contracts: Sequence[ModuleContract], prometheus_yml: bytes, start: float,
             end: float, seed: int = 0) -> int:
    """Simulate every module's traffic from `start` to `end` (seconds) and scrape it into `store`; return the number
    of samples written. A module without a scrape job of its name in prometheus.yml is an error."""
    targets = scrape_targets(prometheus_yml)
    written = 0
    for contract in sorted(contracts, key=lambda c: c.name):
        target = targets.get(contract.job)
        if target is None:
            raise ValueError(f"prometheus.yml has no scrape job {contract.job!r} for module {contract.name}")
        registry = CollectorRegistry()
        traffic = ModuleTraffic(contract, ModuleMetrics(contract, registry), seed)
        traffic.prime()
        scraper = Scraper(target)
        interval = target.interval_ms / 1000
        for t in scrape_times(math.ceil(start * 1000), math.floor(end * 1000), target.interval_ms):
            now = t / 1000
            traffic.tick(now, interval)
            for labels, value in scraper.samples(registry, now - interval):
                store.append(labels, t, value)
                written += 1
    return written
