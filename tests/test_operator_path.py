"""Issue 15: the Kubernetes output means what the local stack means, on a real Prometheus.

The PrometheusRules of `build.py --env production` are extracted into rule files, the ServiceMonitors (or
PodMonitors) become the scrape jobs the Prometheus Operator would generate (tests/operator_scrape.py), and their
targets are the demo modules labelled as Kubernetes service discovery would label them, among decoys the
monitors must not select. That Prometheus must give every module target the local stack's `job`, `module` and
`service`, and `verify` the same status for every panel target of every dashboard as on the local stack.

Both stacks scrape and evaluate every second (rule groups of 1m included) so that the test waits seconds, not
minutes; the intervals are changed the same way on both sides and nothing else is.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from dashbuild.discover import discover
from dashbuild.kubernetes import dashboard_json_of
from dashbuild.provisioning import DASHBOARDS_DIR
from dashbuild.verify import PrometheusClient, load_dashboards, verify
from moddash.contract import ModuleContract
from moddash.instrumentation.demo import Demo, start_demo
from tests.conftest import REPO, BuildRunner
from tests.operator_scrape import endpoints_target, pod_target, rule_files, scrape_config
from tests.prometheus_server import running_prometheus
from tests.test_end_to_end import api, scrape_config_for

Json = dict[str, Any]
INTERVAL = "1s"
NAMESPACE = "modules"  # where the modules run; the monitors live in `monitoring` and select any namespace
APP_LABEL = "app.kubernetes.io/name"
COMPARED = ("job", "module", "service")

ENVIRONMENT = '''"""Production on kube-prometheus-stack."""

from panels.environment import Environment, KubernetesSettings

ENVIRONMENT = Environment(
    name="production",
    kubernetes=KubernetesSettings(namespace="monitoring", extra_labels={{"cluster": "eu-1"}}, monitor="{monitor}"),
)
'''


def build_production(root: Path, build_cli: BuildRunner, monitor: str = "service") -> list[Json]:
    """Add environments/production.py to the repository copy at `root`, build it, return its Kubernetes objects."""
    (root / "environments").mkdir()
    (root / "environments" / "production.py").write_text(ENVIRONMENT.format(monitor=monitor), encoding="utf-8")
    result = build_cli(root, "--env", "production")
    assert result.returncode == 0, result.stderr
    folder = root / "deploy" / "production" / "kubernetes"
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))
            if path.name != "kustomization.yaml"]


def of_kind(objects: Sequence[Json], *kinds: str) -> list[Json]:
    """Return the objects of the given kinds, in order."""
    return [obj for obj in objects if obj["kind"] in kinds]


def faster(config: Json) -> Json:
    """Return a prometheus.yml scraping and evaluating every INTERVAL (both stacks get the same change)."""
    config["global"] = {**config.get("global", {}), "scrape_interval": INTERVAL, "scrape_timeout": INTERVAL,
                        "evaluation_interval": INTERVAL}
    for job in config["scrape_configs"]:
        job["scrape_interval"] = INTERVAL
        job.pop("scrape_timeout", None)
    return config


def faster_rules(rule_file: Json) -> Json:
    """Return a rule file whose groups with an interval of their own (the SLO groups: 1m) run every INTERVAL."""
    for group in rule_file["groups"]:
        if "interval" in group:
            group["interval"] = INTERVAL
    return rule_file


@pytest.fixture(scope="module")
def contracts() -> list[ModuleContract]:
    """Return the repository's module contracts."""
    return [m.contract for m in discover(REPO)]


@pytest.fixture(scope="module")
def demo(contracts: list[ModuleContract]) -> Iterator[Demo]:
    """Return the three demo modules serving on random loopback ports (both stacks scrape the same ones)."""
    running = start_demo(contracts, {c.name: 0 for c in contracts})
    yield running
    running.stop()


def address_of(demo: Demo, contract: ModuleContract) -> str:
    """Return the `host:port` a module's demo exporter listens on."""
    return demo.urls[contract.name].split("/")[2]


@pytest.fixture(scope="module")
def local_stack(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the URL of a Prometheus running the local stack (prometheus/prometheus.yml and prometheus/rules)
    on the demo, as tests/test_end_to_end.py does."""
    folder = tmp_path_factory.mktemp("local")
    (folder / "prometheus.yml").write_text(yaml.safe_dump(faster(scrape_config_for(demo))))
    (folder / "rules").mkdir()
    for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")):
        rules = faster_rules(yaml.safe_load(path.read_text(encoding="utf-8")))
        (folder / "rules" / path.name).write_text(yaml.safe_dump(rules))
    with running_prometheus(folder) as url:
        yield url


# --- a cluster as service discovery sees it -------------------------------------------------------------------


@attrs.frozen
class Pod:
    """One pod of the simulated cluster serving a metrics port, and whether a correct monitor keeps it."""

    name: str
    app: str  # the value of APP_LABEL on the pod and its Service
    service: str
    address: str
    port_name: str = "metrics"
    phase: str = "Running"
    module: str | None = None  # the module whose monitor must keep it; None for a decoy nothing may keep

    def endpoints_group(self) -> Json:
        """Return the pod's target as role `endpoints` discovers it behind its Service."""
        labels = {APP_LABEL: self.app, "app.kubernetes.io/instance": "prod"}
        return endpoints_target(self.address, namespace=NAMESPACE, service=self.service, service_labels=labels,
                                pod=self.name, pod_labels=labels, container="app", port_name=self.port_name,
                                phase=self.phase)

    def pod_group(self) -> Json:
        """Return the pod's target as role `pod` discovers it."""
        labels = {APP_LABEL: self.app, "app.kubernetes.io/instance": "prod"}
        return pod_target(self.address, namespace=NAMESPACE, pod=self.name, pod_labels=labels, container="app",
                          port_name=self.port_name, phase=self.phase)


def cluster(demo: Demo, contracts: Sequence[ModuleContract]) -> list[Pod]:
    """Return a pod per module behind a Service named as a Helm release would name it (neither the module's
    slug nor its `service` label, so a label falling back to the Service name shows), plus decoys at the same
    addresses: a canary Service whose app label only starts like a module's, a second port of a module's pod,
    a finished pod of a module, and another application's pod."""
    pods = [Pod(f"prod-{c.slug}-6d9f7-x2k4q", c.slug, f"prod-{c.slug}", address_of(demo, c), module=c.slug)
            for c in contracts]
    first, second = contracts[0], contracts[1]
    return [*pods,
            Pod(f"prod-{first.slug}-canary-5c8b9-q7r2m", f"{first.slug}-canary", f"prod-{first.slug}-canary",
                address_of(demo, first)),
            Pod(f"prod-{first.slug}-6d9f7-x2k4q", first.slug, f"prod-{first.slug}", address_of(demo, first),
                port_name="http"),
            Pod(f"prod-{second.slug}-migrate-8k2jd", second.slug, f"prod-{second.slug}", address_of(demo, second),
                phase="Succeeded"),
            Pod("billing-7f6d5-m2n8p", "billing", "billing", address_of(demo, second))]


def operator_config(folder: Path, monitors: Sequence[Json], prometheus_rules: Sequence[Json],
                    pods: Sequence[Pod]) -> None:
    """Write into `folder` the Prometheus the operator would run for `monitors` and `prometheus_rules`, each job
    discovering every pod of the cluster (as Kubernetes service discovery hands every job every endpoint), from a
    file of its own, `targets-<monitor>.yml`, so that the targets it drops can be told apart."""
    by_service = {monitor["kind"] for monitor in monitors} == {"ServiceMonitor"}
    groups = yaml.safe_dump([pod.endpoints_group() if by_service else pod.pod_group() for pod in pods])
    jobs = []
    for monitor in monitors:
        targets = folder / f"targets-{monitor['metadata']['name']}.yml"
        targets.write_text(groups)
        jobs.append(scrape_config(monitor, str(targets)))
    (folder / "rules").mkdir()
    for name, rule_file in rule_files(prometheus_rules).items():
        (folder / "rules" / name).write_text(yaml.safe_dump(faster_rules(rule_file)))
    config = {"global": {}, "rule_files": ["rules/*.yaml"], "scrape_configs": jobs}
    (folder / "prometheus.yml").write_text(yaml.safe_dump(faster(config)))


# --- what is compared -----------------------------------------------------------------------------------------


def wait_for_targets(url: str, count: int, deadline: float) -> dict[str, dict[str, str]]:
    """Return the active targets' labels once `count` targets were scraped successfully (or at the deadline)."""
    while True:
        active = api(f"{url}/api/v1/targets")["data"]["activeTargets"]
        if sum(t["health"] == "up" for t in active) >= count or time.monotonic() > deadline:
            return {t["labels"]["instance"]: t["labels"] for t in active}
        time.sleep(0.5)


def label_differences(local: Mapping[str, Mapping[str, str]], other: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Return how the targets' COMPARED labels differ, per scraped address: empty when they are the same."""
    differences = []
    for address in sorted(set(local) | set(other)):
        mine, theirs = local.get(address), other.get(address)
        if mine is None or theirs is None:
            differences.append(f"{address}: scraped only by the {'local' if theirs is None else 'other'} stack")
            continue
        differences += [f"{address}: {name}={theirs.get(name)!r}, the local stack has {mine.get(name)!r}"
                        for name in COMPARED if mine.get(name) != theirs.get(name)]
    return differences


def dropped(url: str, monitors: Sequence[Json]) -> dict[str, set[str]]:
    """Return the `pod:port name` each monitor's scrape job dropped, by monitor name."""
    found: dict[str, set[str]] = {monitor["metadata"]["name"]: set() for monitor in monitors}
    for target in api(f"{url}/api/v1/targets")["data"]["droppedTargets"]:
        labels = target["discoveredLabels"]
        # Told apart by the file each job reads: Prometheus 2.42 reports a dropped target's labels as relabeling
        # left them, which may be without `job`.
        monitor = Path(labels["__meta_filepath"]).stem.removeprefix("targets-")
        found[monitor].add(f"{labels['__meta_kubernetes_pod_name']}:{labels['__meta_kubernetes_pod_container_port_name']}")
    return found


def expected_drops(monitors: Sequence[Json], pods: Sequence[Pod]) -> dict[str, set[str]]:
    """Return the `pod:port name` each monitor must drop: every one but its module's, decoys included."""
    return {m["metadata"]["name"]: {f"{p.name}:{p.port_name}" for p in pods if p.module != m["metadata"]["name"]}
            for m in monitors}


Outcome = dict[str, str]


def outcome(url: str, dashboards: Sequence[Json], end: float) -> Outcome:
    """Return what `verify` finds at `end`: each module's target health, each panel target's status."""
    report = verify(PrometheusClient(url), dashboards, end)
    health = report.health
    found = {f"target {t.module or t.job}": f"{t.health} (job {t.job}, service {t.service})"
             for t in health.module_targets()}
    found |= {f"target {module}": "missing" for module in health.missing_modules}
    found |= {f"{r.dashboard} / {r.panel} / {r.ref_id}": r.status for r in report.results}
    return found


def outcome_differences(local: Outcome, other: Outcome) -> list[str]:
    """Return where two `verify` outcomes differ: empty when they are the same."""
    return [f"{key}: {other.get(key, 'absent')} (local stack: {local.get(key, 'absent')})"
            for key in sorted(set(local) | set(other)) if local.get(key) != other.get(key)]


def all_ok(found: Outcome) -> bool:
    """Return whether every module target is up and every panel target ok."""
    return all(value == "ok" or value.startswith("up ") for value in found.values())


def settled_differences(local_url: str, other_url: str, local_dashboards: Sequence[Json],
                        other_dashboards: Sequence[Json], deadline: float,
                        expected: Collection[str] = ()) -> tuple[list[str], Outcome]:
    """Return how the other stack's `verify` outcome differs from the local stack's, both judged at the same
    moment, and the local one: once the local stack's is all ok and the differences are `expected`, else the last
    ones at the deadline (data arrives a scrape and a rule evaluation after a stack starts)."""
    while True:
        end = time.time()
        local = outcome(local_url, local_dashboards, end)
        differences = outcome_differences(local, outcome(other_url, other_dashboards, end))
        if (all_ok(local) and set(differences) == set(expected)) or time.monotonic() > deadline:
            return differences, local
        time.sleep(1)


def kubernetes_dashboards(objects: Sequence[Json]) -> list[Json]:
    """Return the dashboards the ConfigMaps carry, in order."""
    return [dashboard_json_of(obj) for obj in of_kind(objects, "ConfigMap")
            if obj["metadata"]["name"].startswith("dashboard-")]


@attrs.frozen
class Started:
    """A real Prometheus running the operator-equivalent config, once its targets and the local stack's are up."""

    url: str
    labels: dict[str, dict[str, str]]
    local: dict[str, dict[str, str]]
    deadline: float


@contextmanager
def operator_prometheus(folder: Path, monitors: Sequence[Json], prometheus_rules: Sequence[Json],
                        pods: Sequence[Pod], local_stack: str, count: int, seconds: float) -> Iterator[Started]:
    """Run Prometheus on the operator-equivalent scrape jobs and rules in `folder`; wait (at most `seconds`) for
    `count` targets there and in the local stack; stop it afterwards."""
    folder.mkdir()
    operator_config(folder, monitors, prometheus_rules, pods)
    deadline = time.monotonic() + seconds
    with running_prometheus(folder) as url:
        yield Started(url, wait_for_targets(url, count, deadline), wait_for_targets(local_stack, count, deadline),
                      deadline)


def assert_labelled_as_local(started: Started, pods: Sequence[Pod]) -> None:
    """Assert the targets carry the local stack's labels, the environment's cluster, and the running pods."""
    assert label_differences(started.local, started.labels) == []
    assert {t["cluster"] for t in started.labels.values()} == {"eu-1"}
    assert {t["pod"] for t in started.labels.values()} == {p.name for p in pods if p.module is not None}


# --- the tests ------------------------------------------------------------------------------------------------


def test_extracted_rules_pass_promtool(repo_copy: Path, build_cli: BuildRunner, promtool: str) -> None:
    objects = build_production(repo_copy, build_cli)
    folder = repo_copy / "extracted"
    folder.mkdir()
    files = rule_files(of_kind(objects, "PrometheusRule"))
    for name, rule_file in files.items():
        (folder / name).write_text(yaml.safe_dump(rule_file))
    result = subprocess.run([promtool, "check", "rules", *sorted(str(p) for p in folder.iterdir())],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    local = {g["name"]: {"interval": "5s", **g} for path in (REPO / "prometheus" / "rules").glob("*.yml")
             for g in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]}
    # The local stack's groups, rule for rule, each at the local evaluation interval (the chart's is 30 s), and
    # the monitoring alerts selecting kube-prometheus-stack's job for Prometheus itself.
    for rule in local["monitoring-alerts"]["rules"]:
        rule["expr"] = rule["expr"].replace('job="prometheus"', 'job="kube-prometheus-stack-prometheus"')
    extracted = {g["name"]: g for rule_file in files.values() for g in rule_file["groups"]}
    # Per module one alert more, NoTarget (tests/test_kubernetes.py proves it), as the last of its alerts.
    for name, group in extracted.items():
        if name.endswith("-alerts") and name != "monitoring-alerts":
            assert group["rules"].pop()["alert"].endswith("NoTarget")
    assert extracted == local


def test_operator_path_gives_the_local_verify_result(repo_copy: Path, build_cli: BuildRunner, demo: Demo,
                                                     contracts: list[ModuleContract], local_stack: str) -> None:
    objects = build_production(repo_copy, build_cli)
    monitors = of_kind(objects, "ServiceMonitor")
    pods = cluster(demo, contracts)
    with operator_prometheus(repo_copy / "operator-prometheus", monitors, of_kind(objects, "PrometheusRule"), pods,
                             local_stack, len(contracts), 45) as started:
        url, deadline = started.url, started.deadline
        assert_labelled_as_local(started, pods)
        assert dropped(url, monitors) == expected_drops(monitors, pods)

        loaded = api(f"{url}/api/v1/rules")["data"]["groups"]
        rules = {g["name"]: [r["name"] for r in g["rules"]] for g in loaded}
        local_rules = {g["name"]: [r["name"] for r in g["rules"]]
                       for g in api(f"{local_stack}/api/v1/rules")["data"]["groups"]}
        # The local rules, and per module NoTarget: discovered targets can vanish, the local static ones cannot.
        for contract in contracts:
            local_rules[f"{contract.slug}-alerts"].append(f"{contract.camel_name}NoTarget")
        assert rules == local_rules
        # Loaded and not firing (pending is possible for a moment: targets are discovered one by one at start).
        assert {r["name"]: r["state"] != "firing" for g in loaded for r in g["rules"]
                if r["name"].endswith("NoTarget")} == {f"{c.camel_name}NoTarget": True for c in contracts}

        local_dashboards = load_dashboards(REPO, DASHBOARDS_DIR)
        dashboards = kubernetes_dashboards(objects)
        assert sorted(d["uid"] for d in dashboards) == sorted(d["uid"] for d in local_dashboards)
        differences, local_outcome = settled_differences(local_stack, url, local_dashboards, dashboards, deadline)
        assert differences == []
        assert all_ok(local_outcome), local_outcome
        assert sum(key.startswith("target ") for key in local_outcome) == len(contracts)
        groups = api(f"{url}/api/v1/rules")["data"]["groups"]
        assert [r["name"] for g in groups for r in g["rules"] if r["health"] != "ok"] == []


def test_pod_monitors_label_targets_as_the_local_stack(repo_copy: Path, build_cli: BuildRunner, demo: Demo,
                                                       contracts: list[ModuleContract], local_stack: str) -> None:
    objects = build_production(repo_copy, build_cli, monitor="pod")
    monitors = of_kind(objects, "PodMonitor")
    assert len(monitors) == len(contracts) and not of_kind(objects, "ServiceMonitor")
    pods = cluster(demo, contracts)
    with operator_prometheus(repo_copy / "operator-prometheus", monitors, [], pods, local_stack, len(contracts),
                             30) as started:
        assert_labelled_as_local(started, pods)
        assert all(t["job"] == t["module"] for t in started.labels.values())
        assert dropped(started.url, monitors) == expected_drops(monitors, pods)


def test_a_relabeling_mistake_is_caught(repo_copy: Path, build_cli: BuildRunner, demo: Demo,
                                        contracts: list[ModuleContract], local_stack: str) -> None:
    objects = build_production(repo_copy, build_cli)
    monitors = of_kind(objects, "ServiceMonitor")
    for monitor in monitors:
        # The mistakes: the module relabelings left out, and no jobLabel (the job becomes the Service's name).
        del monitor["spec"]["endpoints"][0]["relabelings"]
        del monitor["spec"]["jobLabel"]
    with operator_prometheus(repo_copy / "broken-prometheus", monitors, of_kind(objects, "PrometheusRule"),
                             cluster(demo, contracts), local_stack, len(contracts), 45) as started:
        url, labels, deadline = started.url, started.labels, started.deadline
        differences = label_differences(started.local, labels)
        for contract in contracts:
            address = address_of(demo, contract)
            assert f"{address}: module=None, the local stack has {contract.slug!r}" in differences
            assert f"{address}: job='prod-{contract.slug}', the local stack has {contract.slug!r}" in differences
            assert (f"{address}: service='prod-{contract.slug}', the local stack has {contract.service!r}"
                    in differences)
        assert not any("cluster" in t for t in labels.values())

        dashboards = load_dashboards(REPO, DASHBOARDS_DIR)
        expected = [f"target {c.slug}: missing (local stack: up (job {c.slug}, service {c.service}))"
                    for c in contracts]
        overview = next(d["title"] for d in dashboards if d["uid"] == "modules-overview")
        expected.append(f"{overview} / Module health / A: no series (local stack: ok)")
        differences, _ = settled_differences(local_stack, url, dashboards, dashboards, deadline, expected)
        assert sorted(differences) == sorted(expected)
