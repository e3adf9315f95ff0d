"""The demo's traffic generator run in simulated time, scraped into a SeriesStore as Prometheus would ingest it.

Per module contract: a fresh CollectorRegistry, ModuleMetrics and ModuleTraffic(contract, metrics, seed), `prime()`,
then at every scrape time from `start` to `end` (the job's scrape_interval in prometheus.yml, aligned to multiples of
it): `tick(t, interval)` and a scrape: `generate_latest` (text format 0.0.4) parsed line by line, every sample
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
from moddash.contract.model import ModuleContract
from moddash.instrumentation.demo import ModuleTraffic
from moddash.instrumentation.metrics import ModuleMetrics
from prometheus_client import CollectorRegistry, generate_latest

from dashbuild.preview.series_store import NAME, Labels, SeriesStore, make_labels

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


class _Scraper:
    """Parses one module's /metrics text (0.0.4) into target-labelled samples, remembering each line's labels."""

    def __init__(self, target: ScrapeTarget) -> None:
        self.target = target
        self.labels: dict[str, Labels] = {}
        self.created: dict[float, float] = {}
        self.created_families: set[str] = set()

    def samples(self, text: str, tick_start: float) -> list[tuple[Labels, float]]:
        out = []
        families: dict[str, str] = {}
        for line in text.splitlines():
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) == 4 and parts[1] == "TYPE":
                    families[parts[2]] = parts[3]
                continue
            series, _, rest = line.partition(" ") if "}" not in line else _split_series(line)
            value = float(rest.split(" ", 1)[0])
            labels = self.labels.get(series)
            if labels is None:
                labels = self.labels[series] = self._labelled(series)
            if series.split("{", 1)[0].endswith("_created") and families.get(series.split("{", 1)[0]) == "gauge":
                # A creation time: the simulated start of the tick that created the series, not the wall clock.
                value = self.created.setdefault(value, tick_start)
            out.append((labels, value))
        out.append((self._labelled("up"), 1.0))
        return out

    def _labelled(self, series: str) -> Labels:
        name, _, inner = series.partition("{")
        scraped = dict(_parse_labels(inner[:-1])) if inner else {}
        target = dict(self.target.labels)
        result = dict(scraped)
        for key, value in target.items():
            if key in scraped and self.target.honor_labels:
                continue
            if key in scraped:
                result[f"exported_{key}"] = scraped[key]
            result[key] = value
        result[NAME] = name
        return make_labels(result)


def _split_series(line: str) -> tuple[str, str, str]:
    # The label block may hold spaces inside quoted values: split after the closing brace.
    close = _closing_brace(line)
    return line[:close + 1], " ", line[close + 1:].strip()


def _closing_brace(line: str) -> int:
    quoted = escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "}" and not quoted:
            return index
    raise ValueError(f"no closing brace in {line!r}")


def _parse_labels(inner: str) -> list[tuple[str, str]]:
    pairs, index = [], 0
    while index < len(inner):
        equals = inner.index("=", index)
        name = inner[index:equals].strip().lstrip(",").strip()
        index = equals + 2  # past `="`
        value = []
        while inner[index] != '"':
            if inner[index] == "\\":
                index += 1
                value.append({"n": "\n", "\\": "\\", '"': '"'}.get(inner[index], "\\" + inner[index]))
            else:
                value.append(inner[index])
            index += 1
        pairs.append((name, "".join(value)))
        index += 1
        while index < len(inner) and inner[index] in ", ":
            index += 1
    return pairs


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
        scraper = _Scraper(target)
        interval = target.interval_ms / 1000
        for t in scrape_times(math.ceil(start * 1000), math.floor(end * 1000), target.interval_ms):
            now = t / 1000
            traffic.tick(now, interval)
            for labels, value in scraper.samples(generate_latest(registry).decode("utf-8"), now - interval):
                store.append(labels, t, value)
                written += 1
    return written
