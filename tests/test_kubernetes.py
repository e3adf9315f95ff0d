"""Kubernetes objects from the module files: what the API server takes (CRD schemas), what promtool takes
(the rules inside PrometheusRules), and the same semantics as the local stack's files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from dashbuild.compiled import CompiledDashboard
from dashbuild.discover import ModuleFile
from dashbuild.errors import BuildFailed
from dashbuild.k8s_schema import object_problems
from dashbuild.kubernetes import dashboard_json_of, dashboard_object, kubernetes_files, label_collisions, monitor
from dashbuild.pipeline import compile_checked
from moddash.contract import ScrapeTarget
from panels.environment import KubernetesSettings, Workload
from tests.conftest import REPO

FOLDER = "kubernetes/production"


@pytest.fixture(scope="module")
def project() -> tuple[list[ModuleFile], list[CompiledDashboard]]:
    """Return the repository's modules and compiled dashboards."""
    return compile_checked(REPO)


def objects(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """Return each generated file's object by file name."""
    return {path.rsplit("/", 1)[1]: yaml.safe_load(content) for path, content in files.items()}


def build(project: tuple[list[ModuleFile], list[CompiledDashboard]], **settings: Any) -> dict[str, bytes]:
    """Return the Kubernetes files of the repository's modules under these settings."""
    modules, dashboards = project
    return kubernetes_files([m.contract for m in modules], dashboards, KubernetesSettings(**settings), FOLDER)


def test_one_file_per_object_every_one_valid_and_listed(project: Any) -> None:
    files = objects(build(project))
    kustomization = files.pop("kustomization.yaml")
    assert kustomization["resources"] == sorted(files)
    kinds = sorted({obj["kind"] for obj in files.values()})
    assert kinds == ["ConfigMap", "PrometheusRule", "ServiceMonitor"]
    for name, obj in files.items():
        assert object_problems(obj) == [], name
        assert obj["metadata"]["namespace"] == "monitoring"
    assert build(project) == build(project)


def test_monitors_give_the_labels_dashboards_and_rules_select_by(project: Any) -> None:
    modules, _dashboards = project
    contract = modules[0].contract
    service_monitor = monitor(contract, KubernetesSettings(extra_labels={"cluster": "eu-1"}))
    assert service_monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert service_monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": contract.slug}}
    (endpoint,) = service_monitor["spec"]["endpoints"]
    set_labels = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
    # After the operator's own relabelings, which set `job` and `service` from the Kubernetes Service's name.
    assert set_labels == {"job": contract.job, "module": contract.slug, "service": contract.service,
                          "cluster": "eu-1"}
    pod_monitor = monitor(contract, KubernetesSettings(monitor="pod"))
    assert pod_monitor["kind"] == "PodMonitor" and object_problems(pod_monitor) == []


def test_a_protected_module_needs_the_token_secret(project: Any) -> None:
    modules, _dashboards = project
    protected = attrs.evolve(modules[0].contract, target=ScrapeTarget(port=8000, bearer_token_file="/etc/t"))
    with pytest.raises(ValueError, match="set the environment's token_secret"):
        monitor(protected, KubernetesSettings())
    (endpoint,) = monitor(protected, KubernetesSettings(token_secret=("metrics-token", "token")))["spec"]["endpoints"]
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": "metrics-token", "key": "token"}}


def test_prometheus_rules_hold_the_local_stacks_groups_and_promtool_takes_them(project: Any, promtool: str,
                                                                             tmp_path: Path) -> None:
    rules = [obj for obj in objects(build(project)).values() if obj["kind"] == "PrometheusRule"]
    groups = [group for obj in rules for group in obj["spec"]["groups"]]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    local = [{"interval": "5s", **group} for path in sorted((REPO / "prometheus" / "rules").glob("*.yml"))
             for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]]
    # Every group keeps the local evaluation interval; Prometheus' own job is kube-prometheus-stack's Service name.
    for rule in next(group for group in local if group["name"] == "monitoring-alerts")["rules"]:
        rule["expr"] = rule["expr"].replace('job="prometheus"', 'job="kube-prometheus-stack-prometheus"')
    no_target = [group["rules"].pop() for group in groups
                 if group["name"].endswith("-alerts") and group["name"] != "monitoring-alerts"]
    assert [rule["alert"] for rule in no_target] == ["LlmProviderNoTarget", "PromptManagerNoTarget",
                                                     "PromptSecurityNoTarget"]
    assert sorted(groups, key=lambda g: g["name"]) == sorted(local, key=lambda g: g["name"])
    result = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_for_the_sidecar_and_for_the_operator(project: Any) -> None:
    _modules, dashboards = project
    overview = next(d for d in dashboards if d.json["uid"] == "modules-overview")
    sidecar = dashboard_object(overview, KubernetesSettings())
    assert sidecar["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert sidecar["metadata"]["annotations"] == {"grafana_folder": "Modules"}
    assert dashboard_json_of(sidecar) == overview.json
    operator = dashboard_object(overview, KubernetesSettings(grafana="operator"))
    assert operator["spec"]["instanceSelector"] == {"matchLabels": {"dashboards": "grafana"}}
    assert object_problems(operator) == [] and dashboard_json_of(operator) == overview.json


def test_a_dashboard_too_large_for_a_configmap(project: Any) -> None:
    _modules, dashboards = project
    big = attrs.evolve(dashboards[0], json={**dashboards[0].json, "description": "x" * (1024 * 1024)})
    with pytest.raises(ValueError, match="over the 1048576 bytes a ConfigMap may hold; use the Grafana Operator"):
        dashboard_object(big, KubernetesSettings())
    operator = dashboard_object(big, KubernetesSettings(grafana="operator"))
    assert "gzipJson" in operator["spec"] and "json" not in operator["spec"]
    assert dashboard_json_of(operator) == big.json and object_problems(operator) == []
    assert dashboard_object(big, KubernetesSettings(grafana="operator")) == operator  # gzip without a timestamp


def test_what_the_api_server_would_refuse_is_not_written(project: Any) -> None:
    # The settings refuse such a namespace themselves (test_settings_kubernetes_would_refuse...); the objects are
    # checked again whatever made them.
    with attrs.validators.disabled(), pytest.raises(BuildFailed) as failure:
        build(project, namespace="Monitoring_NS")
    assert "the API server would refuse it: metadata.namespace: 'Monitoring_NS' is not a DNS-1123 label" in \
        str(failure.value.errors[0])


def test_the_dashboards_data_source_for_the_sidecar_and_the_operator(project: Any) -> None:
    assert not any("datasource" in name for name in objects(build(project)))  # Grafana has its own
    url = "http://mimir-nginx.mimir.svc/prometheus"
    files = objects(build(project, datasource_url=url, datasource_tenant="team-a"))
    sidecar = files["configmap-datasource-prometheus.yaml"]
    assert sidecar["metadata"]["labels"]["grafana_datasource"] == "1" and object_problems(sidecar) == []
    (source,) = yaml.safe_load(sidecar["data"]["prometheus-datasource.yaml"])["datasources"]
    assert (source["uid"], source["url"], source["jsonData"]["httpHeaderName1"],
            source["secureJsonData"]["httpHeaderValue1"]) == ("prometheus", url, "X-Scope-OrgID", "team-a")
    operator = objects(build(project, datasource_url=url, grafana="operator"))["grafanadatasource-prometheus.yaml"]
    assert operator["spec"]["datasource"]["url"] == url and object_problems(operator) == []
    with pytest.raises(ValueError, match="datasource_url"):
        KubernetesSettings(datasource_url="mimir:8080")


def test_the_monitoring_alerts_select_the_charts_prometheus_job_or_are_left_to_the_chart(project: Any) -> None:
    def monitoring(**settings: Any) -> list[str]:
        return [rule["expr"] for obj in objects(build(project, **settings)).values()
                if obj["kind"] == "PrometheusRule" and obj["metadata"]["name"] == "monitoring-alerts"
                for rule in obj["spec"]["groups"][0]["rules"]]
    assert 'job="prom-kube-prometheus-stack-prometheus"' in monitoring(release="prom")[0]
    assert 'job="prometheus-kube-prometheus-prometheus"' in monitoring(release="prometheus")[0]
    assert monitoring(prometheus_job=None) == []


def test_dashboards_read_the_environments_data_source(project: Any) -> None:
    files = objects(build(project, datasource_uid="mimir", datasource_url="http://mimir.svc/prometheus"))
    source = yaml.safe_load(files["configmap-datasource-mimir.yaml"]["data"]["prometheus-datasource.yaml"])
    assert source["datasources"][0]["uid"] == "mimir"
    dashboard = dashboard_json_of(files["configmap-dashboard-prompt-manager.yaml"])
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["current"]["value"] == "mimir"
    local = dashboard_json_of(objects(build(project))["configmap-dashboard-prompt-manager.yaml"])
    assert dashboard.pop("templating") != local.pop("templating") and dashboard == local


def test_a_module_running_under_another_name_namespace_or_port(project: Any) -> None:
    modules, _dashboards = project
    contract = modules[0].contract
    settings = KubernetesSettings(workloads={contract.slug: Workload(name="llm-gateway", namespace="llm",
                                                                      port_name="http-metrics")})
    spec = monitor(contract, settings)["spec"]
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "llm-gateway"}}
    assert spec["namespaceSelector"] == {"matchNames": ["llm"]}
    assert spec["endpoints"][0]["port"] == "http-metrics"
    other = monitor(modules[1].contract, settings)["spec"]
    assert other["namespaceSelector"] == {"any": True} and other["endpoints"][0]["port"] == "metrics"


@pytest.mark.parametrize(("labels", "message"), [
    ({"clu-ster": "eu"}, "'clu-ster' is not a label name Prometheus keeps"),
    ({"__tmp": "x"}, "'__tmp' is not a label name"),
    ({"module": "x"}, "'module' is set from each module's file"),
])
def test_extra_labels_prometheus_would_refuse_or_that_break_dashboards(labels: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KubernetesSettings(extra_labels=labels)


def test_no_target_fires_when_a_modules_targets_vanish_and_only_then(project: Any, promtool: str,
                                                                    tmp_path: Path) -> None:
    # The pods of the prompt manager go away at 10m (Prometheus marks its `up` series stale as the target goes); the
    # LLM provider keeps running.
    rules = [obj for obj in objects(build(project)).values() if obj["kind"] == "PrometheusRule"]
    groups = [group for obj in rules for group in obj["spec"]["groups"] if group["name"] == "prompt-manager-alerts"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    series = {'up{job="prompt-manager", instance="10.0.0.5:8000"}': "1x40 stale",
              'up{job="llm-provider", instance="10.0.0.6:8002"}': "1x80"}

    def firing(at: str, *alerts: dict[str, str]) -> dict[str, Any]:
        return {"expr": 'ALERTS{alertname="PromptManagerNoTarget"}', "eval_time": at, "exp_samples": [
            {"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in {
                "__name__": "ALERTS", "alertname": "PromptManagerNoTarget", **labels}.items()) + "}", "value": 1}
            for labels in alerts]}

    fired = {"alertstate": "firing", "module": "prompt-manager", "severity": "critical"}
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "15s", "tests": [{
        "interval": "15s",
        "input_series": [{"series": name, "values": values} for name, values in series.items()],
        "promql_expr_test": [firing("9m"), firing("14m", {**fired, "alertstate": "pending"}),
                             firing("16m", fired)]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metric_labels_the_targets_carry_too_are_refused(project: Any) -> None:
    modules, dashboards = project
    contract = modules[0].contract
    first = contract.metrics[0]
    clashing = attrs.evolve(contract, metrics=(attrs.evolve(first, labels=(*first.labels, "namespace", "cluster")),
                                               *contract.metrics[1:]))
    assert label_collisions(contract, KubernetesSettings(extra_labels={"cluster": "eu-1"})) == []
    with pytest.raises(BuildFailed) as failure:
        kubernetes_files([clashing], dashboards, KubernetesSettings(extra_labels={"cluster": "eu-1"}), FOLDER)
    assert str(failure.value.errors[0]) == (
        f"module {contract.name}: {first.name}: namespace, {first.name}: cluster: every target carries this label "
        "in Kubernetes too, so Prometheus would rename the metric's to exported_<label>; rename it in the contract")


@pytest.mark.parametrize(("settings", "message"), [
    ({"namespace": "Monitoring_NS"}, "namespace: 'Monitoring_NS' is not a DNS-1123 label"),
    ({"namespace": "x" * 64}, "namespace: 'xxxx"),
    ({"release": "rel ease"}, "release: 'rel ease' is not a Kubernetes label value"),
    ({"monitor": "deployment"}, "monitor: 'deployment' is not one of 'service', 'pod'"),
    ({"grafana": "both"}, "grafana: 'both' is not one of 'sidecar', 'operator'"),
    ({"port_name": "Metrics_Port"}, "port_name: 'Metrics_Port' is not a DNS-1123 label"),
    ({"monitor": "pod", "port_name": "metrics-port-too-long"}, "port_name: 'metrics-port-too-long' is not a "
                                                               "container port name"),
    ({"app_label": "bad label"}, "app_label: 'bad label' is not a Kubernetes label key"),
    ({"dashboard_label": {"grafana_dashboard": "x y"}}, "dashboard_label: 'x y' is not a Kubernetes label value"),
    ({"instance_selector": {"bad key!": "x"}}, "instance_selector: 'bad key!' is not a Kubernetes label key"),
    ({"folder": "a\nb"}, "folder: 'a\\nb' must be 1 to 200 characters without control characters"),
    ({"token_secret": ("Bad_Secret", "token")}, "token_secret: 'Bad_Secret' is not a DNS-1123 subdomain"),
    ({"token_secret": ("metrics", "a/b")}, "token_secret: 'a/b' is not a Secret key"),
    ({"datasource_tenant": "a\nb"}, "datasource_tenant: 'a\\nb' is not a tenant id"),
    ({"prometheus_job": ""}, "prometheus_job: '' must be 1 to 200 characters"),
])
def test_settings_kubernetes_would_refuse_are_refused_when_loaded(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        KubernetesSettings(**settings)


def test_workload_settings_kubernetes_would_refuse() -> None:
    with pytest.raises(ValueError, match=re.escape("namespace: 'Prompts' is not a DNS-1123 label")):
        Workload(namespace="Prompts")
    with pytest.raises(ValueError, match=re.escape("workloads['prompt-manager'].port_name: 'http-metrics-port' is "
                                                   "not a container port name")):
        KubernetesSettings(monitor="pod", workloads={"prompt-manager": Workload(port_name="http-metrics-port")})
    with pytest.raises(TypeError, match=re.escape("workloads['prompt-manager'] must be a Workload(...)")):
        KubernetesSettings(workloads={"prompt-manager": "prompts"})  # type: ignore[dict-item]
