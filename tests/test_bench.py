"""The benchmarks compare like with like: checked here so that a change cannot silently skew them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bench import bare_sdk, load_cost, synthetic
from dashbuild.files import dump_json
from dashbuild.pipeline import module_spec
from dashbuild.render import render_dashboard


def test_bare_sdk_dashboard_is_byte_identical_to_ours() -> None:
    (module,) = synthetic.load(synthetic.compiled_sources(1))
    ours = dump_json(render_dashboard(module_spec(module)))
    assert ours == bare_sdk.module_dashboard(synthetic.module_name(0), synthetic.module_title(0))


def test_synthetic_series_are_valid_openmetrics_for_promtool(tmp_path: Path, promtool: str) -> None:
    (module,) = synthetic.load(synthetic.compiled_sources(1))
    end = int(time.time()) // 60 * 60
    times = list(range(end - 3600, end, load_cost.SCRAPE_SECONDS))
    lines = list(load_cost.module_series(module.contract, 0, times))
    series = {line.split(" ")[0] for line in lines if not line.startswith("#")}
    assert len(series) == 78  # the cardinality BENCHMARKS.md states
    (tmp_path / "in.om").write_text("\n".join(lines) + "\n# EOF\n")
    result = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "in.om", "data"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "data").iterdir())
