"""The light install: a service installs moddash-service/ alone into a fresh venv and runs a FastAPI app with it.

The venv gets the light distribution with its `fastapi` extra and an ASGI server (Hypercorn, which, unlike
uvicorn, does not pull in click), from PyPI as a service's image build would. The app imports its contract
from the repository's module file, so the test also shows that a module file needs nothing of the builder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, free_port

LIGHT = REPO / "moddash-service"
BUILDER_ONLY = ("grafana_foundation_sdk", "jsonschema", "promql_parser", "click", "yaml", "dashbuild")
INSTALL_SECONDS = 600
START_SECONDS = 30.0
REQUESTS = 25

APP = """
from fastapi import FastAPI

from dashboards.prompt_manager import CONTRACT
from moddash.instrumentation import instrument
from moddash.instrumentation.fastapi import mount_metrics

app = FastAPI()
metrics = instrument(CONTRACT)
mount_metrics(app, metrics)


@app.post("/prompts/{name}/render")
@metrics.operation("render")
async def render(name: str) -> dict[str, str]:
    metrics.tokens(prompt=120, completion=30)
    metrics.cost(0.0009)
    metrics.cache_hit()
    return {"prompt": name}
"""

# Run inside the light venv: what is importable there, and what importing the app loaded.
PROBE = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
import app
print(json.dumps({
    "importable": sorted(m for m in sys.argv[2:] if importlib.util.find_spec(m) is not None),
    "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:])),
    "moddash": app.instrument.__module__,
}))
"""


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a fresh venv holding only the light distribution, its fastapi extra and Hypercorn."""
    base = tmp_path_factory.mktemp("light")
    source = base / "moddash-service"  # a copy: building in place would leave build/ and egg-info in the repo
    shutil.copytree(LIGHT, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    home = base / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    python = home / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_USER")}
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              f"{source}[fastapi]", "hypercorn"],
                             env=env, capture_output=True, text=True, timeout=INSTALL_SECONDS)
    assert install.returncode == 0, install.stderr[-3000:]
    return home


def _site_packages(home: Path) -> Path:
    [site] = home.glob("lib/python3*/site-packages")
    return site


def test_the_light_distribution_installs_one_top_level_package_and_two_dependencies(light_venv: Path) -> None:
    [info] = _site_packages(light_venv).glob("moddash-*.dist-info")
    top_level = {Path(line.split(",")[0]).parts[0] for line in (info / "RECORD").read_text().splitlines()}
    assert top_level - {info.name} == {"moddash"}, top_level
    requires = [line.split(":", 1)[1].strip() for line in (info / "METADATA").read_text().splitlines()
                if line.startswith("Requires-Dist:")]
    always = sorted(r.split(">")[0].split("<")[0].strip() for r in requires if "extra ==" not in r)
    assert always == ["attrs", "prometheus-client"], requires


def test_the_builders_wheel_has_no_generic_top_level_package(tmp_path: Path) -> None:
    # `pip install -e .` maps the same packages; panels/, dashboards/ and rules/ stay repository folders.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for folder in ("dashbuild", "moddash-service"):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                            "--wheel-dir", str(tmp_path / "wheel"), str(source)],
                           env=_clean_env(), capture_output=True, text=True, timeout=INSTALL_SECONDS)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "wheel").glob("module_dashboards-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"dashbuild", "moddash"}


def test_nothing_of_the_builder_is_installed_or_loaded(light_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {**_clean_env(), "PYTHONPATH": str(REPO)}
    probe = subprocess.run([str(light_venv / "bin" / "python"), "-c", PROBE, str(tmp_path), *BUILDER_ONLY],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    # The repository root on PYTHONPATH makes its dashbuild/ folder importable, but nothing the light venv has.
    assert found["importable"] == ["dashbuild"]
    assert found["loaded"] == []
    assert found["moddash"] == "moddash.instrumentation.metrics"


@pytest.fixture
def service(light_venv: Path, tmp_path: Path) -> Iterator[str]:
    """Serve the FastAPI app from the light venv with Hypercorn on a loopback port; yield its base URL."""
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    log = tmp_path / "hypercorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(light_venv / "bin" / "python"), "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=tmp_path, env={**_clean_env(), "PYTHONPATH": str(REPO)}, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/metrics", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"hypercorn did not serve within {START_SECONDS:g} s: {log.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_a_fastapi_service_runs_on_the_light_install(service: str) -> None:
    for index in range(REQUESTS):
        response = httpx.post(f"{service}/prompts/p{index}/render", timeout=10)
        assert response.status_code == 200 and response.json() == {"prompt": f"p{index}"}
    scraped = httpx.get(f"{service}/metrics", timeout=10)
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped.text) for s in family.samples}
    assert samples[("prompt_manager_operations_total", (("operation", "render"), ("status", "success")))] == REQUESTS
    assert samples[("prompt_manager_operation_duration_seconds_count", (("operation", "render"),))] == REQUESTS
    assert samples[("prompt_manager_tokens_total", (("type", "prompt"),))] == 120 * REQUESTS
    assert samples[("prompt_manager_cache_hits_total", ())] == REQUESTS
    assert samples[("prompt_manager_cost_total", ())] == pytest.approx(0.0009 * REQUESTS)


def _clean_env() -> dict[str, str]:
    """The environment without this test run's Python settings, so the light venv sees only itself."""
    skipped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST", "METRICS_TOKEN", "METRICS_TOKEN_FILE",
               "PROMETHEUS_MULTIPROC_DIR")
    return {k: v for k, v in os.environ.items() if k not in skipped} | {"PATH": os.defpath}

