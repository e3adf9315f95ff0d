"""The benchmarks compare like with like and count what they say: checked here so that a change cannot silently
skew them. No timing is asserted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import bare_sdk, baselines, build_speed, load_cost, process, run, scaffold_text, synthetic
from bench.process import Contender, Sample, interleave, ratios, stats
from dashbuild.files import dump_json
from dashbuild.overview import build_overview
from dashbuild.pipeline import module_spec
from dashbuild.render import render_dashboard
from dashbuild.verify import PrometheusClient
from panels import settings
from tests.prometheus_server import running_prometheus

GENERATOR = re.compile(r"^\s*(?:from|import)\s+(dashbuild|panels|rules|moddash|dashboards)\b", re.MULTILINE)


def dashboard_panels(data: bytes) -> list[dict[str, object]]:
    """Return every non-row panel of a dashboard's JSON, collapsed rows' children included."""
    panels = []
    for panel in json.loads(data)["panels"]:
        panels += [p for p in (panel, *panel.get("panels", [])) if p["type"] != "row"]
    return panels


@pytest.fixture(scope="module")
def mixed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated repository of 24 modules (the 3 real ones and 21 scaffolded of every shape: the overview is a
    table), built once."""
    root = synthetic.make_repo(tmp_path_factory.mktemp("mixed") / "repo", 24)
    process.python("build.py", cwd=root, timeout=600)
    return root


# -- inputs ---------------------------------------------------------------------------------------------------------

def test_generated_repository_builds_every_shape_and_the_real_modules(mixed_repo: Path) -> None:
    built = baselines.ours(mixed_repo)
    assert len(built) == 25  # 24 module dashboards and the overview
    assert {"llm-provider", "prompt-manager", "prompt-security", "modules-overview"} <= set(built)
    counts = {synthetic.shape_of(i): len(dashboard_panels(built[synthetic.module_name(i).replace("_", "-")]))
              for i in range(len(synthetic.SHAPES))}
    assert counts == {shape: panels + 6 for shape, panels in synthetic.SHAPES.items()}  # + the SLO row's stats
    assert "Modules" in {p["title"] for p in dashboard_panels(built["modules-overview"])}
    assert not list(mixed_repo.rglob("__pycache__"))  # the harness's processes write no bytecode


def test_after_a_build_the_no_change_check_answers_from_the_memo(mixed_repo: Path) -> None:
    build_speed._memo_answers(mixed_repo)
    assert "are fresh" in process.python("build.py", "--check", cwd=mixed_repo).stdout


def test_edit_changes_one_title_each_run(tmp_path: Path) -> None:
    root = synthetic.make_repo(tmp_path / "repo", 4)
    process.python("build.py", cwd=root)
    path = root / "provisioning/dashboards/bench-m0000.json"
    for run_number in (1, 2):
        synthetic.edit_title(root, run_number)
        process.python("build.py", cwd=root)
        titles = {p["title"] for p in dashboard_panels(path.read_bytes())}
        assert f"Operations/s (edit {run_number})" in titles and "Operations/s" not in titles
    assert "Operations/s (edit 1)" not in path.read_text()


def test_make_cold_removes_caches_bytecode_and_outputs(tmp_path: Path) -> None:
    root = synthetic.make_repo(tmp_path / "repo", 3)
    process.python("build.py", cwd=root, bytecode=True)
    assert (root / ".dashbuild-cache").is_dir() and list(root.rglob("__pycache__"))
    synthetic.make_cold(root)
    assert not [name for name in (*synthetic.OUTPUTS, *synthetic.CACHES) if (root / name).exists()]
    assert not list(root.rglob("__pycache__"))


# -- baselines ------------------------------------------------------------------------------------------------------

def test_recorded_bare_sdk_baseline_is_byte_identical_to_the_build(mixed_repo: Path, tmp_path: Path) -> None:
    folder = baselines.write_recorded(tmp_path / "bare", baselines.project_specs(mixed_repo))
    process.python(baselines.SCRIPT, cwd=folder)
    produced, built = baselines.outputs(folder), baselines.ours(mixed_repo)
    assert set(produced) == set(built)
    baselines.assert_identical(produced, built, "recorded bare SDK")
    # Builder chains used by several dashboards are written once, as helpers, and called from the module files.
    assert "def f1():" in (folder / "sdk_shared.py").read_text()
    assert all("sdk_shared.f" in path.read_text() for path in (folder / "modules").glob("*.py"))
    assert all(not GENERATOR.search(path.read_text()) for path in folder.rglob("*.py"))


def test_recorded_baseline_of_an_overview_with_sections_is_byte_identical(tmp_path: Path) -> None:
    modules = synthetic.load(synthetic.compiled_sources(5))
    specs = [*(module_spec(m) for m in modules), build_overview([(m.contract, m.dashboard) for m in modules])]
    folder = baselines.write_recorded(tmp_path / "bare", specs)
    process.python(baselines.SCRIPT, cwd=folder)
    assert baselines.outputs(folder) == {spec.uid: dump_json(render_dashboard(spec)) for spec in specs}


def test_hand_written_bare_sdk_dashboard_is_byte_identical_to_ours() -> None:
    (module,) = synthetic.load(synthetic.compiled_sources(1))
    ours = dump_json(render_dashboard(module_spec(module)))
    assert ours == bare_sdk.module_dashboard(synthetic.module_name(0), synthetic.module_title(0))
    assert (scaffold_text.DEFAULT_MODULE_TITLE, scaffold_text.DEFAULT_OVERVIEW_TITLE) == (
        settings.DEFAULT_MODULE_TITLE, settings.DEFAULT_OVERVIEW_TITLE)


def test_hand_written_baselines_run_as_processes(tmp_path: Path) -> None:
    names = synthetic.sources(2)
    root = synthetic.make_repo(tmp_path / "repo", 2, names)
    process.python("build.py", cwd=root)
    built = baselines.ours(root)
    kit = baselines.write_kit(tmp_path / "kit", "bare-sdk-kit", list(names))
    grafanalib = baselines.write_kit(tmp_path / "grafanalib", "grafanalib", list(names))
    for folder in (kit, grafanalib):
        process.python(baselines.SCRIPT, cwd=folder)
        assert set(baselines.outputs(folder)) == set(built) - {"modules-overview"}
        assert all(not GENERATOR.search(path.read_text()) for path in folder.rglob("*.py"))
    baselines.assert_identical(baselines.outputs(kit), built, "hand-written bare SDK")
    produced = baselines.outputs(grafanalib)
    baselines.assert_equivalent(produced, built, "grafanalib")
    with pytest.raises(AssertionError):
        baselines.assert_identical(produced, built, "grafanalib")  # its own JSON model, not our bytes
    changed = {uid: data.replace(b"sum by (operation)", b"sum by (status)", 1) for uid, data in produced.items()}
    with pytest.raises(AssertionError, match="not equivalent"):
        baselines.assert_equivalent(changed, built, "grafanalib")


# -- the harness's statistics and processes -------------------------------------------------------------------------

def test_statistics_on_known_values() -> None:
    assert stats([3.0, 1.0, 2.0]) == process.Stats(median=2.0, min=1.0, max=3.0, runs=3)
    assert stats([4.0, 1.0, 2.0, 3.0]).median == 2.5
    assert stats([1.5]).text(1, " s") == "1.5 s (1.5–1.5)"
    # Pairwise: each run of A divided by the run of B in the same round, not median over median.
    assert ratios([2.0, 9.0, 4.0], [1.0, 3.0, 4.0]) == process.Stats(median=2.0, min=1.0, max=3.0, runs=3)
    with pytest.raises(ValueError):
        stats([])
    with pytest.raises(ValueError):
        ratios([1.0], [1.0, 2.0])


def test_interleave_runs_contenders_round_by_round() -> None:
    events: list[str] = []

    def contender(name: str) -> Contender:
        def measure() -> Sample:
            events.append(f"run {name}")
            return Sample(1.0, 1.0, 1.0, 0, "", "")

        return Contender(name, measure, prepare=lambda: events.append(f"prepare {name}"),
                         verify=lambda: events.append(f"verify {name}"))

    a, b = contender("A"), contender("B")
    interleave([a, b], 2)
    assert events == ["prepare A", "run A", "verify A", "prepare B", "run B", "verify B"] * 2
    assert len(a.samples) == len(b.samples) == 2


def test_process_figures_are_the_child_s_own(tmp_path: Path) -> None:
    big = process.run([sys.executable, "-c", "x = bytearray(150 * 2**20); x[::4096] = b'1' * len(x[::4096])"],
                      tmp_path)
    small = process.run([sys.executable, "-c", "pass"], tmp_path)
    assert big.peak_rss_mb >= 150
    assert small.peak_rss_mb < 60  # not the memory of the benchmark process the launcher came from
    assert big.cpu_seconds > 0 and big.seconds > 0
    with pytest.raises(RuntimeError, match="exited 3: boom"):
        process.run([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], tmp_path)
    env = process.python("-c", "import os; print(os.environ.get('PYTHONDONTWRITEBYTECODE'))", cwd=tmp_path)
    assert env.stdout.strip() == "1"


def test_report_names_what_it_measured() -> None:
    def measured(name: str, values: list[float]) -> build_speed.Measured:
        return build_speed.Measured(name, tuple(Sample(v, v / 2, 100.0, 0, "", "") for v in values))

    five = [1.0, 2.0, 3.0, 4.0, 5.0]
    plan = run.QUICK
    scaling = build_speed.Scaling({n: measured("build", five) for n in plan.sizes},
                                  {n: measured("check", five) for n in plan.sizes}, plan.compare_at,
                                  measured("bare", [0.5] * 5), {})
    edits = build_speed.EditAndCheck(plan.edit_at, *(measured(name, five) for name in "abcde"))
    comparison = build_speed.Comparison(plan.compare_at, *(measured(name, five) for name in "abcd"))
    loads = [load_cost.LoadResult(n, {"write OpenMetrics": 1.0}, (
        load_cost.DashboardLoad("Trainer Modules Overview", 17, (0.01,) * 5, 0,
                                (("variables", (0.004,) * 5), ("Modules A", (0.006,) * 5)),
                                (("Every module", 5, (0.03, 0.02, 0.04, 0.05, 0.01)),)),
        load_cost.DashboardLoad("Bench M0000 Dashboard", 20, (0.02,) * 5, 0))) for n in plan.load_sizes]
    load_log = run.LoadLog([("start", (1.0, 2.0, 3.0)), ("end", (0.5, 0.5, 0.5))], {"start": [2.5, 0.75, 1.0]})
    text = run.report(plan, {"python": "3"}, load_log, "a CI run", scaling, edits, comparison, loads)
    for heading in ("## What is measured", "## One-module edit and no-change check", "## Full build against the bare "
                    "SDK", "## Scaling", "## Overview load cost on Prometheus", "## Targets (issue 16)"):
        assert heading in text
    assert "a CI run" in text and "| start | 1.00, 2.00, 3.00 | 0.75–2.50 |" in text
    assert "| end | 0.50, 0.50, 0.50 | — |" in text
    assert "3.00 s (1.00–5.00)" in text  # median (min–max) of the five runs
    assert "wall 6.00× (2.00–10.00)" in text  # pairwise ratios against the bare SDK
    assert "not assessed (quick)" in text
    assert "| variables | 4.0 | 4.0 |" in text  # the overview's load by part
    assert "| 30 | Every module | 5 | 30.00 ms (10.00–50.00) |" in text  # a collapsed row, opened after the load


def test_collapsed_rows_are_timed_apart_from_the_load() -> None:
    # Grafana queries a collapsed row's panels when it is opened: the table form's two tables, not on load.
    overview = render_dashboard(build_overview([(m.contract, m.dashboard) for m in synthetic.load(
        synthetic.compiled_sources(settings.OVERVIEW_SECTIONS_MAX + 1))]))
    assert [row["title"] for row in load_cost.collapsed_rows(overview)] == ["Every module", "Every SLO"]
    loaded = {panel["title"] for panel in load_cost.loaded_panels(overview)}
    assert "Modules not UP" in loaded and not {"Modules", "SLOs"} & loaded


# -- load cost inputs -----------------------------------------------------------------------------------------------

def test_synthetic_series_are_valid_openmetrics_for_promtool(tmp_path: Path, promtool: str) -> None:
    (module,) = synthetic.load(synthetic.compiled_sources(1))
    end = int(time.time()) // 60 * 60
    times = list(range(end - 3600, end, load_cost.SCRAPE_SECONDS))
    lines = list(load_cost.module_series(module.contract, 0, times))
    series = {line.split(" ")[0] for line in lines if not line.startswith("#")}
    assert len(series) == 78  # the cardinality BENCHMARKS.md states
    queried = dump_json(render_dashboard(module_spec(module))).decode()
    lines += load_cost.recorded_lines(load_cost.recorded_series([module.contract], queried),
                                      [module.contract.slug], end, 1.0)
    (tmp_path / "in.om").write_text("\n".join(lines) + "\n# EOF\n")
    result = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "in.om", "data"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "data").iterdir())


def test_written_recorded_series_are_what_the_rules_write(tmp_path: Path, promtool: str) -> None:
    dataset = load_cost.prepare(2, 0.5, tmp_path)
    modules = synthetic.load(synthetic.compiled_sources(2))
    queried = "".join(dump_json(dashboard).decode() for dashboard, _scrape in dataset.dashboards)
    series = load_cost.recorded_series([m.contract for m in modules], queried)
    assert {s.record for s in series} >= {"module:operations:rate1m", "all:operations:rate1m", "module:slo_sli:ratio",
                                          "module:slo_errors:rate5m"}  # read directly, and through other rules
    with running_prometheus(dataset.folder, timeout=120) as url:
        client = PrometheusClient(url, timeout=60)
        at = dataset.end - 60
        for each in series:
            # Each rule, evaluated on the data, gives one series labelled at most as its static labels say: the
            # recorded series is the rule's name and static labels, as written.
            answer = client.query(each.expr, at)["data"]["result"]
            produced = [{**{k: v for k, v in r["metric"].items() if k != "__name__"}, **dict(each.labels)}
                        for r in answer]
            assert produced == [dict(each.labels)], each
            selector = ",".join([f'__name__="{each.record}"', *(f'{k}="{v}"' for k, v in each.labels)])
            written = client.query(f"{{{selector}}}", at)["data"]["result"]
            assert [r["metric"] for r in written] == [{"__name__": each.record, **dict(each.labels)}], each
