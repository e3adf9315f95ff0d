"""/metrics in production: the bearer token (both frameworks and the scrape config) and a non-blocking render."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dashboards.prompt_manager import CONTRACT
from dashbuild.files import dump_yaml
from dashbuild.prometheus import scrape_job
from dashbuild.promtool_check import _with_stand_in_secrets
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics
from moddash.instrumentation import instrument
from moddash.instrumentation.exposition import TOKEN_ENV, TOKEN_FILE_ENV
from moddash.instrumentation.fastapi import mount_metrics as mount_fastapi
from moddash.instrumentation.flask import mount_metrics as mount_flask
from tests.conftest import BuildRunner

TOKEN = "s3cret-token"


def fastapi_get(token: str | None, headers: dict[str, str]) -> tuple[int, str]:
    """GET /metrics from a FastAPI app mounted with `token`; return (status, body)."""
    app = FastAPI()
    mount_fastapi(app, instrument(CONTRACT, CollectorRegistry()), token=token)
    response = TestClient(app).get("/metrics", headers=headers)
    return response.status_code, response.text


def flask_get(token: str | None, headers: dict[str, str]) -> tuple[int, str]:
    """GET /metrics from a Flask app mounted with `token`; return (status, body)."""
    app = Flask(__name__)
    mount_flask(app, instrument(CONTRACT, CollectorRegistry()), token=token)
    response = app.test_client().get("/metrics", headers=headers)
    return response.status_code, response.get_data(as_text=True)


FRAMEWORKS = pytest.mark.parametrize("get", [fastapi_get, flask_get], ids=["fastapi", "flask"])


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(TOKEN_FILE_ENV, raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@FRAMEWORKS
@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": f"Bearer {TOKEN}"}, 200),
    ({"Authorization": f"bearer {TOKEN}"}, 200),
    ({"Authorization": "Bearer wrong-token"}, 401),
    ({"Authorization": f"Bearer {TOKEN}x"}, 401),
    ({"Authorization": f"Basic {TOKEN}"}, 401),
    ({"Authorization": f"Bearer {TOKEN[:-1]}"}, 401),
    ({"Authorization": "Bearer"}, 401),
])
def test_token_from_the_argument(get: Any, headers: dict[str, str], status: int) -> None:
    code, body = get(TOKEN, headers)
    assert code == status
    assert ("prompt_manager_operations_total" in body) == (status == 200)


@FRAMEWORKS
def test_without_a_token_metrics_is_open(get: Any) -> None:
    assert get(None, {})[0] == 200


@FRAMEWORKS
def test_token_from_the_environment(get: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert get(None, {})[0] == 401
    assert get(None, {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    # The argument wins over the environment.
    assert get("other", {"Authorization": f"Bearer {TOKEN}"})[0] == 401


@FRAMEWORKS
def test_token_from_a_file(get: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "token"))
    assert get(None, {})[0] == 401
    assert get(None, {"Authorization": "Bearer wrong"})[0] == 401
    assert get(None, {"Authorization": f"Bearer {TOKEN}"})[0] == 200


@FRAMEWORKS
@pytest.mark.parametrize("token", ["", " ", "two words", "line\nbreak"])
def test_blank_or_malformed_tokens_are_refused(get: Any, token: str) -> None:
    with pytest.raises(ValueError, match="bearer token from token argument"):
        get(token, {})


def test_a_blank_token_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "token"))
    with pytest.raises(ValueError, match=TOKEN_FILE_ENV):
        flask_get(None, {})


# --- the scrape config ---------------------------------------------------------------------------------------------

def billing(target: ScrapeTarget) -> ModuleContract:
    """Return a small module contract scraped at `target`."""
    return ModuleContract(name="billing", title="Billing", target=target, metrics=standard_metrics("billing"))


def test_the_scrape_job_sends_the_token_file_and_promtool_accepts_it(tmp_path: Path, promtool: str) -> None:
    token_file = tmp_path / "metrics_token"
    # promtool checks that the file exists, so the test points at a real one; Prometheus reads it per scrape.
    token_file.write_text(TOKEN)
    job = scrape_job(billing(ScrapeTarget(port=8010, bearer_token_file=str(token_file))))
    assert job["authorization"] == {"type": "Bearer", "credentials_file": str(token_file)}
    (tmp_path / "prometheus.yml").write_bytes(dump_yaml({"scrape_configs": [job]}))
    result = subprocess.run([promtool, "check", "config", "--lint-fatal", "prometheus.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_a_token_file_the_job_has_no_authorization() -> None:
    assert "authorization" not in scrape_job(billing(ScrapeTarget(port=8010)))


@pytest.mark.parametrize(("path", "message"), [
    ("run/secrets/token", "must be an absolute path"),
    ("", "must be an absolute path"),
    ("/run/secrets/my token", "whitespace or control"),
    ("/run/secrets/token\n", "whitespace or control"),
    ("/run/secrets/\x00", "whitespace or control"),
])
def test_bad_token_files_are_refused(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScrapeTarget(port=8010, bearer_token_file=path)


def test_a_token_file_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="bearer_token_file must be a string"):
        ScrapeTarget(port=8010, bearer_token_file=Path("/run/secrets/token"))  # type: ignore[arg-type]


# --- the render does not block the event loop ----------------------------------------------------------------------

SERIES = 20_000


class SlowCollector(Collector):
    """Many series, and a collect() that holds on until `release` is set (or a timeout passes)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield one gauge family with SERIES series, after waiting for `release`."""
        self.started.set()
        self.release.wait(timeout=10)
        family = GaugeMetricFamily("synthetic_series", "Many series.", labels=["n"])
        for n in range(SERIES):
            family.add_metric([str(n)], float(n))
        yield family


def test_a_metrics_render_does_not_block_other_requests() -> None:
    registry = CollectorRegistry()
    metrics = instrument(CONTRACT, registry)
    slow = SlowCollector()
    registry.register(slow)
    app = FastAPI()
    mount_fastapi(app, metrics)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    async def scenario() -> tuple[float, float, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            scrape = asyncio.create_task(client.get("/metrics"))
            # The scrape is inside collect() (in a worker thread) before the cheap request starts.
            assert await asyncio.to_thread(slow.started.wait, 5)
            ping_response = await asyncio.wait_for(client.get("/ping"), timeout=5)
            pinged = time.monotonic()
            assert ping_response.json() == {"ok": True}
            assert not scrape.done()
            slow.release.set()
            metrics_response = await asyncio.wait_for(scrape, timeout=30)
            return pinged, time.monotonic(), metrics_response.text.count("synthetic_series{")

    try:
        pinged, scraped, series = asyncio.run(scenario())
    finally:
        slow.release.set()
    assert pinged < scraped
    assert series == SERIES


def test_a_protected_module_builds_with_a_container_only_token_path(repo_copy: Path, build_cli: BuildRunner) -> None:
    # The token file exists only inside the Prometheus container; promtool checks the config with a stand-in.
    module = repo_copy / "dashboards" / "prompt_manager.py"
    secret = "/run/secrets/prompt_manager_metrics_token"
    module.write_text(module.read_text().replace("ScrapeTarget(port=8000)",
                                                 f"ScrapeTarget(port=8000, bearer_token_file={secret!r})"))
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    config = (repo_copy / "prometheus" / "prometheus.yml").read_text()
    assert f"credentials_file: {secret}" in config and "stand-in" not in config


@pytest.mark.parametrize(("config", "has_secret"), [
    (b"rule_files:\n- rules/*.yml\n", False),
    (b"scrape_configs:\n- job_name: a\n  authorization:\n    credentials_file: /run/secrets/t\n", True),
    (b"- basic_auth:\n    password_file: /run/x\n", True),
    (b"  tls_config: {}\n  # ca_file: commented\n", False),
])
def test_only_a_secret_file_setting_gets_a_stand_in(config: bytes, has_secret: bool, tmp_path: Path) -> None:
    replaced = _with_stand_in_secrets(config, tmp_path)
    assert (replaced != config) == has_secret
