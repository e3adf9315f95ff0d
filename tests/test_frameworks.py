"""FastAPI and Flask: /metrics served with the right content type, and the README examples run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

from dashboards.llm_provider import CONTRACT as LLM_PROVIDER
from dashboards.prompt_manager import CONTRACT
from moddash.instrumentation import ModuleMetrics, instrument
from moddash.instrumentation.check import check_exposition
from moddash.instrumentation.fastapi import mount_metrics as mount_fastapi
from moddash.instrumentation.flask import mount_metrics as mount_flask
from tests.conftest import REPO


def readme_example(marker: str) -> str:
    """Return the README's python block that starts with `# <marker>`."""
    readme = (REPO / "README.md").read_text()
    (block,) = re.findall(rf"```python\n# {re.escape(marker)}\n(.*?)```", readme, flags=re.DOTALL)
    return str(block)


def test_fastapi_serves_metrics() -> None:
    registry = CollectorRegistry()
    metrics = instrument(CONTRACT, registry)
    app = FastAPI()
    mount_fastapi(app, metrics)

    @app.get("/work")
    @metrics.operation("search")
    async def work() -> dict[str, bool]:
        metrics.cache_miss()
        return {"ok": True}

    client = TestClient(app)
    assert client.get("/work").json() == {"ok": True}
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    assert 'prompt_manager_operations_total{operation="search",status="success"} 1.0' in response.text
    assert "prompt_manager_cache_misses_total 1.0" in response.text
    openmetrics = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith(OPENMETRICS.split(";")[0])
    assert openmetrics.text.endswith("# EOF\n")
    assert "/metrics" not in app.openapi()["paths"]


def test_a_metrics_mistake_fails_no_request_in_production() -> None:
    # The case: tokens() without the contract's provider=, after the upstream call was made and paid for.
    def app_with(metrics: ModuleMetrics) -> TestClient:
        app = FastAPI()
        mount_fastapi(app, metrics)

        @app.post("/complete")
        @metrics.operation("complete", provider="openai")
        async def complete() -> dict[str, str]:
            metrics.tokens(prompt=200, completion=50)
            metrics.cost(float("nan"), provider="openai")
            return {"text": "done"}

        return TestClient(app, raise_server_exceptions=False)

    assert app_with(instrument(LLM_PROVIDER, CollectorRegistry())).post("/complete").status_code == 500  # strict
    client = app_with(instrument(LLM_PROVIDER, CollectorRegistry(), strict=False))
    response = client.post("/complete")
    assert response.status_code == 200 and response.json() == {"text": "done"}
    scraped = client.get("/metrics").text
    assert 'llm_provider_instrumentation_errors_total{kind="missing_label"} 2.0' in scraped  # prompt, completion
    assert 'llm_provider_instrumentation_errors_total{kind="invalid_value"} 1.0' in scraped
    assert 'llm_provider_operations_total{operation="complete",status="success"} 1.0' in scraped


def test_flask_serves_metrics() -> None:
    registry = CollectorRegistry()
    metrics = instrument(CONTRACT, registry)
    app = Flask(__name__)
    mount_flask(app, metrics)

    @app.get("/fail")
    def fail() -> str:
        with metrics.operation("render"):
            raise LookupError("no such prompt")

    client = app.test_client()
    assert client.get("/fail").status_code == 500
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    body = response.get_data(as_text=True)
    assert 'prompt_manager_errors_total{error_type="LookupError",operation="render"} 1.0' in body
    assert [f for f in check_exposition(CONTRACT, body) if f.severity == "problem"] == []


RUNNER = """
import json, sys
sys.path[:0] = [{example_dir!r}, {repo!r}]
import {module} as example
{drive}
"""

FASTAPI_DRIVE = """
from fastapi.testclient import TestClient
client = TestClient(example.app)
reply = client.post("/prompts/welcome/render").json()
metrics = client.get("/metrics")
print(json.dumps({"reply": reply, "type": metrics.headers["content-type"], "body": metrics.text}))
"""

FLASK_DRIVE = """
client = example.app.test_client()
reply = client.post("/complete").get_json()
metrics = client.get("/metrics")
print(json.dumps({"reply": reply, "type": metrics.headers["Content-Type"], "body": metrics.get_data(as_text=True)}))
"""


@pytest.mark.parametrize(("marker", "drive", "reply", "samples"), [
    ("example_fastapi.py", FASTAPI_DRIVE, {"prompt": "welcome"}, [
        'prompt_manager_operations_total{operation="render",status="success"} 1.0',
        'prompt_manager_tokens_total{type="prompt"} 120.0',
        "prompt_manager_cost_total 0.0009",
        "prompt_manager_cache_hits_total 1.0",
    ]),
    ("example_flask.py", FLASK_DRIVE, {"text": "…"}, [
        'llm_provider_operations_total{operation="complete",status="success"} 1.0',
        'llm_provider_requests_total{model="gpt-4o",provider="openai",status="success"} 1.0',
        'llm_provider_tokens_total{provider="openai",type="completion"} 50.0',
        'llm_provider_cost_total{provider="openai"} 0.004',
    ]),
])
def test_readme_examples_run(tmp_path: Path, marker: str, drive: str, reply: dict[str, str],
                             samples: list[str]) -> None:
    (tmp_path / marker).write_text(readme_example(marker))
    runner = RUNNER.format(example_dir=str(tmp_path), repo=str(REPO), module=marker.removesuffix(".py"), drive=drive)
    result = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["reply"] == reply
    assert output["type"] == CONTENT_TYPE_LATEST
    for sample in samples:
        assert sample in output["body"]
